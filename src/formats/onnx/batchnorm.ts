// BatchNormalization folded into the convolution before it, when that convolution feeds only it and both have
// constant parameters: W'[m] = W[m]·s[m], b'[m] = (b[m] − mean[m])·s[m] + beta[m], s = gamma / √(var + ε),
// computed in float64 and stored as float32. Other BatchNormalizations stay (inference-mode per-channel ops).
import { type OnnxTensor, tensorNumbers } from '../onnx.js';
import { makeTensor } from './fold.js';
import type { StaticNode } from './ops.js';

export interface FoldState {
  nodes: StaticNode[];
  constants: Map<string, OnnxTensor>;
  shapes: Map<string, number[]>;
  /** Tensors read by something outside the node list (graph outputs). */
  graphOutputs: Set<string>;
}

/** Folds what it can in place; returns how many BatchNormalizations were folded and how many were kept. */
export function foldBatchNorms(g: FoldState): { folded: number; kept: number } {
  const consumers = new Map<string, number>();
  for (const n of g.nodes) for (const i of n.inputs) consumers.set(i, (consumers.get(i) ?? 0) + 1);
  const producer = new Map<string, StaticNode>();
  for (const n of g.nodes) for (const o of n.outputs) producer.set(o, n);
  const used = new Set<string>([...g.nodes.flatMap((n) => n.inputs), ...g.graphOutputs]);
  const fresh = (base: string): string => {
    let name = base;
    for (let k = 2; g.constants.has(name) || used.has(name) || g.shapes.has(name); k++) name = `${base}_${k}`;
    return name;
  };
  const removed = new Set<StaticNode>();
  let folded = 0;
  let kept = 0;
  for (const bn of g.nodes) {
    if (bn.opType !== 'BatchNormalization') continue;
    const x = bn.inputs[0]!;
    const conv = producer.get(x);
    const params = bn.inputs.slice(1, 5).map((n) => g.constants.get(n));
    const w = conv && g.constants.get(conv.inputs[1]!);
    const b = conv && conv.inputs[2] ? g.constants.get(conv.inputs[2]) : undefined;
    if (!conv || conv.opType !== 'Conv' || consumers.get(x) !== 1 || g.graphOutputs.has(x) || !w || (conv.inputs[2] && !b) || params.some((p) => !p)) {
      kept++;
      continue;
    }
    const [gamma, beta, mean, variance] = params.map((p) => tensorNumbers(p!));
    const eps = bn.attrs['epsilon'] as number;
    const m = w.dims[0]!;
    const per = w.data.length / m;
    const wv = tensorNumbers(w);
    const bv = b ? tensorNumbers(b) : new Array<number>(m).fill(0);
    const w2 = new Float64Array(wv.length);
    const b2 = new Float64Array(m);
    for (let o = 0; o < m; o++) {
      const s = gamma![o]! / Math.sqrt(variance![o]! + eps);
      for (let k = 0; k < per; k++) w2[o * per + k] = wv[o * per + k]! * s;
      b2[o] = (bv[o]! - mean![o]!) * s + beta![o]!;
    }
    const wName = fresh(`${conv.name}/weight_bn_folded`);
    const bName = fresh(`${conv.name}/bias_bn_folded`);
    g.constants.set(wName, makeTensor(wName, 'float32', [...w.dims], w2));
    g.constants.set(bName, makeTensor(bName, 'float32', [m], b2));
    g.shapes.set(wName, [...w.dims]);
    g.shapes.set(bName, [m]);
    used.add(wName).add(bName);
    conv.inputs = [conv.inputs[0]!, wName, bName];
    conv.outputs = [bn.outputs[0]!];
    g.shapes.delete(x);
    removed.add(bn);
    folded++;
  }
  g.nodes = g.nodes.filter((n) => !removed.has(n));
  return { folded, kept };
}
