// The op table: every differentiable op, one entry each (src/nn/ops/op.ts says what an entry holds). test/ops.test.ts
// checks every entry listed here against its float64 reference and finite differences.
import { BROADCAST_ADD, BROADCAST_DIV, BROADCAST_MUL, BROADCAST_SUB } from './broadcast.js';
import { CONV2D } from './conv2d.js';
import { CONV2D_GENERAL } from './conv2d-general.js';
import { DENSE, MATMUL } from './dense.js';
import { DEPTHWISE_CONV2D } from './depthwise.js';
import { DROPOUT } from './dropout.js';
import { ADD, CLIP, HARD_SIGMOID, HARD_SWISH, LEAKY_RELU, RELU, RELU6, SIGMOID } from './elementwise.js';
import { BCE_WITH_LOGITS, SOFTMAX_CROSS_ENTROPY } from './loss.js';
import type { OpDef } from './op.js';
import { PAD_2D } from './pad.js';
import { PERMUTE } from './permute.js';
import { AVG_POOL_2D, GLOBAL_AVG_POOL, MAX_POOL_2D } from './pool.js';
import { REDUCE_MEAN } from './reduce.js';
import { CONCAT_CHANNELS, SLICE_CHANNELS, ZERO_PAD_2D } from './shape.js';
import { LOG_SOFTMAX, SOFTMAX } from './softmax.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- entries differ in their attributes
export const OPS: readonly OpDef<any>[] = [
  RELU,
  SIGMOID,
  RELU6,
  HARD_SWISH,
  LEAKY_RELU,
  ADD,
  CONV2D,
  CONV2D_GENERAL,
  DEPTHWISE_CONV2D,
  DENSE,
  MATMUL,
  MAX_POOL_2D,
  GLOBAL_AVG_POOL,
  AVG_POOL_2D,
  CONCAT_CHANNELS,
  SLICE_CHANNELS,
  REDUCE_MEAN,
  ZERO_PAD_2D,
  PAD_2D,
  DROPOUT,
  BCE_WITH_LOGITS,
  SOFTMAX_CROSS_ENTROPY,
  BROADCAST_ADD,
  BROADCAST_SUB,
  BROADCAST_MUL,
  BROADCAST_DIV,
  HARD_SIGMOID,
  CLIP,
  PERMUTE,
  SOFTMAX,
  LOG_SOFTMAX,
];

export { apply, type OpDef, type OpCase, type CaseInput, type RefTensor, type SavedRef, type BackwardContext } from './op.js';
export { relu, sigmoid, relu6, hardSwish, leakyRelu, add, hardSigmoid, clip } from './elementwise.js';
export { conv2d, type Conv2dOptions } from './conv2d.js';
export { conv2dGeneral, type Conv2dGeneralOptions } from './conv2d-general.js';
export { depthwiseConv2d, type DepthwiseActivation } from './depthwise.js';
export { dense, matmul } from './dense.js';
export { maxPool2d, avgPool2d, globalAvgPool, type MaxPool2dOptions, type AvgPool2dOptions } from './pool.js';
export { concatChannels, sliceLastAxis, zeroPad2d } from './shape.js';
export { reduceMean } from './reduce.js';
export { dropout, type DropoutDraw } from './dropout.js';
export { bceWithLogits, softmaxCrossEntropy, classificationLoss } from './loss.js';
export { broadcastAdd, broadcastSub, broadcastMul, broadcastDiv } from './broadcast.js';
export { permute, type PermuteAttrs } from './permute.js';
export { pad2d, F32_LOWEST, type PadMode } from './pad.js';
export { softmax, logSoftmax } from './softmax.js';
