export { maxPool2d, globalAvgPool } from './pool.js';
export { relu, relu6, sigmoid, add } from './activations.js';
export { concatChannels } from './concat.js';
export { dropout } from './dropout.js';
export { bceWithLogits, softmaxCrossEntropy, classificationLoss } from './loss.js';
export { depthwiseConv2d, type DepthwiseActivation } from './depthwise.js';
export { conv2d, type Conv2dOptions } from './conv2d.js';
export { dense, matmul } from './dense.js';
export { zeroPad2d } from './pad.js';
