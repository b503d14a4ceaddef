// Which ONNX ops an imported graph may hold, which are only accepted when the import can compute them away, and the
// types of the graph the import passes produce (what the reference executor and the GPU importer consume).
import type { OnnxTensor } from '../onnx.js';

/** The ops that remain in an imported graph (issue 24, item 4), each in the canonical form described below. */
export const SUPPORTED_OPS = [
  'Conv', 'BatchNormalization', 'Relu', 'LeakyRelu', 'Clip', 'Sigmoid', 'HardSigmoid', 'HardSwish',
  'Add', 'Sub', 'Mul', 'Div', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'ReduceMean', 'Concat', 'Flatten',
  'Reshape', 'Transpose', 'Squeeze', 'Unsqueeze', 'Slice', 'Split', 'Pad', 'Gemm', 'MatMul', 'Softmax', 'LogSoftmax',
] as const;
export type SupportedOp = (typeof SUPPORTED_OPS)[number];
export const SUPPORTED_OP_SET: ReadonlySet<string> = new Set(SUPPORTED_OPS);

/** Removed by the import: Identity and Dropout (inference) pass their input on; Constant becomes a constant tensor. */
export const REMOVED_OPS: ReadonlySet<string> = new Set(['Identity', 'Dropout', 'Constant']);

/**
 * Computed at import time when every input is constant (shape arithmetic: Shape → Gather → Unsqueeze → Concat →
 * Reshape and the like, on the static input size). A node of these ops that depends on the network's input data is
 * an unsupported op; so is one of SUPPORTED_OPS only where the list says so (e.g. Add on int64 constants folds).
 */
export const FOLDABLE_OPS: ReadonlySet<string> = new Set([
  'Shape', 'Size', 'Gather', 'Unsqueeze', 'Squeeze', 'Concat', 'Cast', 'Slice', 'Reshape', 'Flatten', 'Transpose',
  'Add', 'Sub', 'Mul', 'Div', 'Neg', 'Min', 'Max', 'Floor', 'Ceil', 'Sqrt', 'Equal', 'Where', 'ConstantOfShape',
  'Range', 'Expand', 'Identity',
]);

/** The lowest and highest default-domain opset read. 22–25 changed only the element types of the supported ops. */
export const MIN_OPSET = 7;
export const MAX_OPSET = 25;

/** Canonical attribute values: numbers, number lists or strings (see docs/onnx.md for each op's set). */
export type CanonicalAttrs = Record<string, number | number[] | string>;

/**
 * A node of an imported graph. `inputs` are runtime tensors or constants (weights): every parameter ONNX may pass as
 * an input (Reshape's shape, Slice's starts, Clip's bounds, Pad's pads, axes…) has been folded into `attrs`, resolved
 * against the static shapes (no 0/-1 in a Reshape, axes non-negative, auto_pad turned into explicit pads).
 */
export interface StaticNode {
  name: string;
  opType: SupportedOp;
  inputs: string[];
  outputs: string[];
  attrs: CanonicalAttrs;
  /**
   * Set on a Flatten/Reshape that changes the shape and whose input or output is an [N, C, H, W] map with C > 1 and
   * H·W > 1: ONNX numbers its elements in NCHW order, so an NHWC executor must transpose a 4-D input NHWC→NCHW
   * before it and a 4-D output NCHW→NHWC after it.
   */
  nchwOrder?: true;
}

export interface StaticValue {
  name: string;
  shape: number[];
}

export interface StaticGraph {
  /** The default-domain opset of the model the graph came from. */
  opset: number;
  /** Runtime inputs (graph inputs not bound to constants), with the static shapes the import used. */
  inputs: (StaticValue & { elemType: string })[];
  /** In the model's order. `tensor` carries the output (differs from `name` where an Identity/Dropout was removed). */
  outputs: (StaticValue & { tensor: string })[];
  /** Topologically ordered; only SUPPORTED_OPS. */
  nodes: StaticNode[];
  /** The constants the nodes and outputs use: weights (initializers), folded shape arithmetic, folded BatchNorms. */
  constants: Map<string, OnnxTensor>;
  /** The static shape of every tensor: inputs, constants, node outputs. */
  shapes: Map<string, number[]>;
  /** A removed tensor (output of an Identity or Dropout, or a folded constant's alias) → the tensor that carries it. */
  aliases: Map<string, string>;
  /** What the passes did, for reports. */
  stats: { foldedNodes: number; removedNodes: number; foldedBatchNorms: number; keptBatchNorms: number };
}

/** Raised when a model cannot be imported as a static graph of the supported ops; names the node and op. */
export class OnnxImportError extends Error {
  constructor(
    message: string,
    /** The nodes (name, op type) that cannot be imported, where that is the reason. */
    readonly unsupported: { name: string; opType: string }[] = [],
  ) {
    super(message);
    this.name = 'OnnxImportError';
  }
}
