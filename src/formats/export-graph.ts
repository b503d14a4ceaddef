// A trained image classifier as a small, format-neutral graph: what the ONNX and TF.js layers writers
// (onnx-writer.ts, tfjs-layers-writer.ts) turn into files. NHWC semantics throughout (shapes without the batch
// dimension, Keras' layout), weights as host arrays in the engine's layouts (conv HWIO, depthwise [kh, kw, C, 1],
// dense [in, out]). Pure data: built by src/train/export.ts from a model, browser-safe.

/** y[c] = x[source[c]] · scale[c] + offset[c] on RGB pixels in 0–255: the run's preprocessing as one channel map. */
export interface PreprocessNode {
  op: 'preprocess';
  /** Input channel each output channel reads (caffe: [2, 1, 0], RGB → BGR). */
  source: [number, number, number];
  scale: [number, number, number];
  offset: [number, number, number];
}

/** Explicit zero padding [top, bottom, left, right]. */
export type Pads = [number, number, number, number];

export interface ConvNode {
  op: 'conv2d';
  /** HWIO [kh, kw, in, out]. */
  kernel: Float32Array;
  kernelShape: [number, number, number, number];
  bias: Float32Array | null;
  strides: number;
  pads: Pads;
  activation: 'linear' | 'relu' | 'relu6';
}

export interface DepthwiseNode {
  op: 'depthwise2d';
  /** [kh, kw, C, 1]. */
  kernel: Float32Array;
  kernelShape: [number, number, number, 1];
  bias: Float32Array | null;
  strides: number;
  pads: Pads;
  activation: 'linear' | 'relu' | 'relu6';
}

export interface MaxPoolNode {
  op: 'maxpool';
  size: number;
  strides: number;
  /** Extra bottom / right rows and columns a ceil-mode pool covers (its windows never start in them). */
  pads: Pads;
  /** The input is never negative (it comes out of a ReLU), so zero padding equals −∞ padding for the maximum. */
  nonNegativeInput: boolean;
}

export interface DenseNode {
  op: 'dense';
  /** [in, out]. */
  kernel: Float32Array;
  kernelShape: [number, number];
  bias: Float32Array | null;
  activation: 'linear' | 'relu' | 'sigmoid' | 'softmax';
}

/**
 * An imported ONNX base, re-emitted from its source file: the source's nodes that its `output` tensor needs (with
 * their initializers, tensor names prefixed `base/`), the source's image input fed by this node's NCHW input. ONNX
 * only (TF.js layers cannot express arbitrary ONNX graphs). `shape` is the engine's (NHWC) shape of `output`.
 */
export interface OnnxSubgraphNode {
  op: 'onnx';
  /** The source ONNX file. */
  source: Uint8Array;
  /** The source tensor the base ends at. */
  output: string;
  /** The source's op types the part uses (for messages). */
  ops: string[];
}

export type ExportOp =
  | PreprocessNode
  | OnnxSubgraphNode
  | ConvNode
  | DepthwiseNode
  | MaxPoolNode
  | DenseNode
  | { op: 'zeropad'; pads: Pads }
  | { op: 'gap' }
  /** Global max pooling → [C]. */
  | { op: 'gmp' }
  | { op: 'concat' }
  | { op: 'add' }
  | { op: 'flatten' };

export type ExportNode = ExportOp & {
  /** Unique, [A-Za-z0-9_]+ (Keras layer names with '/' become '_'). */
  name: string;
  /** Names of the input nodes (or 'image', the graph input). */
  inputs: string[];
  /** Output shape without the batch: [H, W, C] or [features]. */
  shape: number[];
};

export interface ExportGraph {
  name: string;
  /** [H, W, 3]: RGB pixels in 0–255. */
  inputShape: [number, number, 3];
  /** In topological order; the last one is the output (probabilities). */
  nodes: ExportNode[];
  /** String metadata (labels as a JSON array, input_size, preprocess, backbone, run, checkpoint_sha256, …). */
  metadata: Record<string, string>;
}

export const EXPORT_INPUT = 'image';
export const EXPORT_OUTPUT = 'probabilities';

/** Checks the invariants every writer relies on; throws naming the node. */
export function checkExportGraph(g: ExportGraph): void {
  const seen = new Set<string>([EXPORT_INPUT]);
  if (g.nodes.length === 0) throw new Error('export graph: no nodes');
  for (const n of g.nodes) {
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(n.name)) throw new Error(`export graph: invalid node name '${n.name}'`);
    if (seen.has(n.name)) throw new Error(`export graph: two nodes are named '${n.name}'`);
    for (const i of n.inputs) if (!seen.has(i)) throw new Error(`export graph: node '${n.name}' reads '${i}' before it is made`);
    const arity = n.op === 'concat' || n.op === 'add' ? 2 : 1;
    if (n.inputs.length !== arity) throw new Error(`export graph: node '${n.name}' (${n.op}) has ${n.inputs.length} inputs, not ${arity}`);
    seen.add(n.name);
  }
}
