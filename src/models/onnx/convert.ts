/**
 * One graph node per imported ONNX node: each op of the static graph (src/formats/onnx) becomes calls of the op table
 * on tensors in the engine's layout (layout.ts). Weights of convolutions and Gemm/MatMul become parameters of a layer
 * named after the node; every other constant is a fixed tensor. What this engine cannot run stops the import with the
 * node named, never a wrong number.
 */
import type { Engine } from '../../engine/engine.js';
import type { Tensor } from '../../engine/tensor.js';
import type { OnnxTensor } from '../../formats/onnx.js';
import { tensorNumbers } from '../../formats/onnx.js';
import { OnnxImportError, type StaticGraph, type StaticNode } from '../../formats/onnx/ops.js';
import * as F from '../../nn/functional/index.js';
import { ParamLayer, type GraphNode } from '../../nn/graph.js';
import type { ForwardContext } from '../../nn/layer.js';
import { constantData, inverse, isTrivialPermutation, permuteHost, permuteShape, physicalAxis, physicalShape, storageOrder } from './layout.js';

type Attrs = StaticNode['attrs'];
const ints = (a: Attrs, k: string): number[] => a[k] as number[];
const num = (a: Attrs, k: string): number => a[k] as number;

export class ConvertContext {
  /** Constant tensors by key (name and layout), uploaded once. */
  readonly constants = new Map<string, Tensor>();
  private readonly layerNames = new Set<string>();

  constructor(
    readonly engine: Engine,
    readonly graph: StaticGraph,
    /** Conv/Gemm nodes whose only reader is a Relu: the ReLU is fused into them (and the Relu node skipped). */
    readonly fusedRelu: ReadonlySet<string>,
  ) {}

  shape(name: string): number[] {
    const s = this.graph.shapes.get(name);
    if (!s) throw new OnnxImportError(`tensor '${name}' has no static shape`);
    return s;
  }

  constant(name: string): OnnxTensor | undefined {
    return this.graph.constants.get(name);
  }

  /** A constant uploaded in the engine's layout, at `rank` (raised with leading 1s, for broadcasting). */
  constantTensor(name: string, rank?: number): { key: string; tensor: Tensor } {
    const t = this.constant(name)!;
    const key = `${name}@${rank ?? t.dims.length}`;
    let tensor = this.constants.get(key);
    if (!tensor) {
      const { data, shape } = constantData(t, rank);
      tensor = this.engine.keep(this.engine.upload(data, shape.length ? shape : [1]));
      tensor.name = key;
      this.constants.set(key, tensor);
    }
    return { key, tensor };
  }

  /** A parameter layer for a node, named after it (a valid, unique layer name). */
  paramLayer(node: StaticNode, kind: string): ParamLayer {
    let base = (node.name || node.outputs[0]!).replace(/^[^A-Za-z]+/, '').replace(/[^A-Za-z0-9_./-]/g, '_') || 'node';
    if (!/^[A-Za-z]/.test(base)) base = `n${base}`;
    let name = base;
    for (let k = 2; this.layerNames.has(name); k++) name = `${base}_${k}`;
    this.layerNames.add(name);
    return new ParamLayer(name, kind);
  }
}

function unsupported(node: StaticNode, why: string): never {
  throw new OnnxImportError(`node '${node.name}' (${node.opType}): ${why} is not supported by this engine`, [{ name: node.name, opType: node.opType }]);
}

/** Physical shape without the batch dimension. */
const tail = (s: readonly number[]): number[] => s.slice(1);

function physicalOf(c: ConvertContext, name: string): number[] {
  return physicalShape(c.shape(name));
}

/** A node reading runtime tensors only (constants are bound by the caller into `run`). */
function node(n: StaticNode, c: ConvertContext, inputs: string[], run: (xs: Tensor[], ctx: ForwardContext) => Tensor[], layer?: ParamLayer): GraphNode {
  // A parameter layer's shape is its node's output (what Grad-CAM reads of the layer it explains).
  if (layer) layer.outputShape = tail(physicalOf(c, n.outputs[0]!));
  return {
    name: n.name,
    op: n.opType,
    inputs,
    outputs: n.outputs,
    outputShapes: n.outputs.map((o) => tail(physicalOf(c, o))),
    layer,
    run,
  };
}

/** Reshapes `x` (physical, logical shape `from`) to logical shape `to`, going through ONNX's order when data must move. */
export function reshapeLogical(x: Tensor, from: readonly number[], to: readonly number[]): Tensor {
  const batch = x.shape[0]!;
  const withBatch = (s: readonly number[]): number[] => (s[0] === from[0] ? [batch, ...s.slice(1)] : [...s]);
  const toLogical = inverse(storageOrder(from.length));
  const outOrder = storageOrder(to.length);
  const target = withBatch(to);
  const temps: Tensor[] = [];
  let cur = x;
  if (!isTrivialPermutation(x.shape, toLogical)) temps.push((cur = F.permute(x, toLogical)));
  const flat = cur.reshape(target);
  temps.push(flat);
  const y = isTrivialPermutation(target, outOrder) ? flat.reshape(permuteShape(target, outOrder)) : F.permute(flat, outOrder);
  for (const t of temps) t.dispose();
  return y;
}

/** A [N, C] result as the [N, 1, 1, C] map ONNX's [N, C, 1, 1] is stored as. */
function asMap(y: Tensor): Tensor {
  const v = y.reshape([y.shape[0]!, 1, 1, y.shape[1]!]);
  y.dispose();
  return v;
}

function sameAsKerasSame(size: number, k: number, s: number, before: number, after: number): boolean {
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + k - size, 0);
  return before === Math.floor(total / 2) && after === total - Math.floor(total / 2);
}

function convNode(n: StaticNode, c: ConvertContext): GraphNode {
  const a = n.attrs;
  const [kh, kw] = ints(a, 'kernel') as [number, number];
  const [sh, sw] = ints(a, 'strides') as [number, number];
  const [t, l, b, r] = ints(a, 'pads') as [number, number, number, number];
  const group = num(a, 'group');
  const dilations = ints(a, 'dilations') as [number, number];
  const dilated = dilations.some((d) => d !== 1);
  const wT = c.constant(n.inputs[1]!);
  if (!wT) unsupported(n, 'a weight that is not a constant');
  const bT = n.inputs[2] ? c.constant(n.inputs[2]) : undefined;
  if (n.inputs[2] && !bT) unsupported(n, 'a bias that is not a constant');
  const [m, cg] = wT.dims as [number, number];
  const [, cin, h, w] = c.shape(n.inputs[0]!) as [number, number, number, number];
  const relu = c.fusedRelu.has(n.name);
  const wData = Float32Array.from(tensorNumbers(wT));
  const layer = c.paramLayer(n, group === 1 ? 'Conv2D' : 'DepthwiseConv2D');
  const e = c.engine;
  const biasData = bT ? Float32Array.from(tensorNumbers(bT)) : null;
  if (group === cin && m === cin && cg === 1) {
    const bias = biasData ? layer.load(e, 'bias', [m], biasData) : null;
    const kernel = layer.load(e, 'kernel', [kh, kw, cin, 1], permuteHost(wData, [m, 1, kh, kw], [2, 3, 0, 1]));
    const activation = relu ? 'relu' : 'linear';
    return node(n, c, [n.inputs[0]!], ([x]) => [
      F.depthwiseConv2d(x!, kernel, bias, { kernel: [kh, kw], stride: [sh, sw], pads: [t, b, l, r], dilation: dilations, activation }),
    ], layer);
  }
  // The fast kernels (Winograd, the GEMM tiles) take strides 1 or 2 on both axes and no dilation; the rest runs the
  // direct-loop convolution.
  const direct = dilated || sh !== sw || (sh !== 1 && sh !== 2);
  const zero = t + l + b + r === 0;
  const same = !zero && sameAsKerasSame(h, kh, sh, t, b) && sameAsKerasSame(w, kw, sw, l, r);
  const padding = same ? 'same' : 'valid';
  const stride = sh as 1 | 2;
  // A grouped convolution is one convolution per group over its slice of the channels, concatenated.
  const mg = m / group;
  const hwio = permuteHost(wData, [m, cg, kh, kw], [2, 3, 1, 0]);
  const kernels = Array.from({ length: group }, (_, g) => {
    if (group === 1) return layer.load(e, 'kernel', [kh, kw, cg, m], hwio);
    const part = new Float32Array(kh * kw * cg * mg);
    for (let i = 0; i < kh * kw * cg; i++) part.set(hwio.subarray(i * m + g * mg, i * m + (g + 1) * mg), i * mg);
    return layer.load(e, `kernel_g${g}`, [kh, kw, cg, mg], part);
  });
  const biases = !biasData
    ? kernels.map(() => null)
    : group === 1
      ? [layer.load(e, 'bias', [m], biasData)]
      : kernels.map((_, g) => layer.load(e, `bias_g${g}`, [mg], biasData.slice(g * mg, (g + 1) * mg)));
  const conv = (x: Tensor, k: Tensor, bb: Tensor | null): Tensor => {
    if (direct) return F.conv2dGeneral(x, k, bb, { strides: [sh, sw], dilations, pads: [t, b, l, r], relu });
    if (zero || same) return F.conv2d(x, k, bb, { stride, padding, relu });
    const p = F.zeroPad2d(x, [t, b, l, r]);
    const y = F.conv2d(p, k, bb, { stride, padding: 'valid', relu });
    p.dispose();
    return y;
  };
  return node(n, c, [n.inputs[0]!], ([x]) => {
    if (group === 1) return [conv(x!, kernels[0]!, biases[0]!)];
    const outs = kernels.map((k, g) => {
      const part = F.sliceLastAxis(x!, g * cg, cg);
      const y = conv(part, k, biases[g] ?? null);
      part.dispose();
      return y;
    });
    const y = F.concatChannels(outs);
    for (const o of outs) o.dispose();
    return [y];
  }, layer);
}

function gemmNode(n: StaticNode, c: ConvertContext): GraphNode {
  const a = n.attrs;
  const isGemm = n.opType === 'Gemm';
  const bT = c.constant(n.inputs[1]!);
  const aShape = c.shape(n.inputs[0]!);
  const relu = c.fusedRelu.has(n.name);
  if (!bT) {
    if (isGemm && (num(a, 'transA') || num(a, 'transB') || num(a, 'alpha') !== 1 || n.inputs[2])) unsupported(n, 'a Gemm of two runtime tensors with transposes, scaling or a bias');
    if (aShape.length !== 2 || c.shape(n.inputs[1]!).length !== 2) unsupported(n, 'a MatMul of runtime tensors that are not both rank 2');
    return node(n, c, [n.inputs[0]!, n.inputs[1]!], ([x, y]) => [F.matmul(x!, y!)]);
  }
  if (aShape.length !== 2) unsupported(n, `a product with a rank-${aShape.length} runtime input`);
  const transA = isGemm && num(a, 'transA') === 1;
  const transB = isGemm && num(a, 'transB') === 1;
  const alpha = isGemm ? num(a, 'alpha') : 1;
  const beta = isGemm ? num(a, 'beta') : 1;
  const [k, mOut] = transB ? [bT.dims[1]!, bT.dims[0]!] : [bT.dims[0]!, bT.dims[1]!];
  let wData: Float32Array = Float32Array.from(tensorNumbers(bT));
  if (transB) wData = permuteHost(wData, [mOut, k], [1, 0]);
  if (alpha !== 1) wData = wData.map((v) => v * alpha);
  const layer = c.paramLayer(n, 'Dense');
  const kernel = layer.load(c.engine, 'kernel', [k, mOut], wData);
  let bias: Tensor | null = null;
  // A bias per output unit is the layer's; a full [N, M] matrix (or a column) is added after the product.
  let matrix: Tensor | null = null;
  const cT = n.inputs[2] ? c.constant(n.inputs[2]) : undefined;
  if (n.inputs[2] && !cT) unsupported(n, 'a runtime C operand');
  if (cT) {
    const cv = tensorNumbers(cT);
    const perUnit = cv.length === 1 || cT.dims[cT.dims.length - 1] === mOut && cv.length === mOut;
    if (perUnit) {
      const full = cv.length === 1 ? new Array<number>(mOut).fill(cv[0]!) : cv;
      bias = layer.load(c.engine, 'bias', [mOut], Float32Array.from(full, (v) => v * beta));
    } else {
      matrix = c.engine.keep(c.engine.upload(Float32Array.from(cv, (v) => v * beta), cT.dims));
      c.constants.set(`${n.name}/C`, matrix);
    }
  }
  if (matrix && relu) unsupported(n, 'a fused ReLU after a matrix bias');
  return node(n, c, [n.inputs[0]!], ([x]) => {
    const xa = transA ? F.permute(x!, [1, 0]) : x!;
    const y = F.dense(xa, kernel, bias, { relu });
    if (xa !== x) xa.dispose();
    if (!matrix) return [y];
    const z = F.broadcastAdd(y, matrix);
    y.dispose();
    return [z];
  }, layer);
}

/** Binary elementwise ops: same-shape runtime Add stays the plain kernel; everything else broadcasts. */
function binaryNode(n: StaticNode, c: ConvertContext): GraphNode {
  const outRank = c.shape(n.outputs[0]!).length;
  const fn = { Add: F.broadcastAdd, Sub: F.broadcastSub, Mul: F.broadcastMul, Div: F.broadcastDiv }[n.opType as 'Add'];
  // Runtime operands of lower rank than the output are raised to it first (right-aligned, as ONNX broadcasts).
  const runtime: string[] = [];
  const operands = n.inputs.map((name) => {
    if (c.constant(name)) {
      const { tensor } = c.constantTensor(name, outRank);
      return { constant: tensor };
    }
    runtime.push(name);
    const rank = c.shape(name).length;
    if (rank !== outRank && (rank === 4 || outRank === 4)) {
      const logical = [...new Array<number>(outRank - rank).fill(1), ...c.shape(name)];
      return { raise: (x: Tensor) => reshapeLogical(x, c.shape(name), logical) };
    }
    return {};
  });
  const sameRuntime = runtime.length === 2 && n.opType === 'Add' && c.shape(n.inputs[0]!).join() === c.shape(n.inputs[1]!).join();
  return node(n, c, runtime, (xs) => {
    let k = 0;
    const made: Tensor[] = [];
    const [x, y] = operands.map((o) => {
      if (o.constant) return o.constant;
      const t = xs[k++]!;
      if (!o.raise) return t;
      const r = o.raise(t);
      if (r !== t) made.push(r);
      return r;
    }) as [Tensor, Tensor];
    const out = sameRuntime ? F.add(x, y) : fn(x, y);
    for (const t of made) t.dispose();
    return [out];
  });
}

function poolNode(n: StaticNode, c: ConvertContext): GraphNode {
  const a = n.attrs;
  const kernel = ints(a, 'kernel') as [number, number];
  const strides = ints(a, 'strides') as [number, number];
  const [t, l, b, r] = ints(a, 'pads') as [number, number, number, number];
  const ceilMode = num(a, 'ceil_mode') === 1;
  const dilations = ints(a, 'dilations') as [number, number];
  if (n.opType === 'AveragePool') {
    const countIncludePad = num(a, 'count_include_pad') === 1;
    return node(n, c, [n.inputs[0]!], ([x]) => [F.avgPool2d(x!, { kernel, strides, pads: [t, b, l, r], dilations, ceilMode, countIncludePad })]);
  }
  return node(n, c, [n.inputs[0]!], ([x]) => [F.maxPool2d(x!, { kernel, strides, pads: [t, b, l, r], dilations, ceilMode })]);
}

function unaryNode(n: StaticNode, c: ConvertContext, f: (x: Tensor) => Tensor): GraphNode {
  return node(n, c, [n.inputs[0]!], ([x]) => [f(x!)]);
}

/** Reshape-like ops (Flatten, Reshape, Squeeze, Unsqueeze): the output's static logical shape is the target. */
function reshapeNode(n: StaticNode, c: ConvertContext): GraphNode {
  const from = c.shape(n.inputs[0]!);
  const to = c.shape(n.outputs[0]!);
  return node(n, c, [n.inputs[0]!], ([x]) => [reshapeLogical(x!, from, to)]);
}

function transposeNode(n: StaticNode, c: ConvertContext): GraphNode {
  const perm = ints(n.attrs, 'perm');
  const inShape = c.shape(n.inputs[0]!);
  const rank = perm.length;
  // Physical out axis j is logical out axis L[j] = logical in axis perm[L[j]] = physical in axis L⁻¹[perm[L[j]]].
  const order = storageOrder(rank);
  const inv = inverse(order);
  const q = order.map((la) => inv[perm[la]!]!);
  const physIn = physicalShape(inShape);
  const outShape = (x: Tensor): number[] => permuteShape(x.shape, q);
  if (isTrivialPermutation(physIn, q)) return node(n, c, [n.inputs[0]!], ([x]) => [x!.reshape(outShape(x!))]);
  return node(n, c, [n.inputs[0]!], ([x]) => [F.permute(x!, q)]);
}

/** Every tensor as [outer, rest] around physical axis p: concatenation and slicing on any axis become last-axis ones. */
function aroundAxis(x: Tensor, p: number): Tensor {
  const outer = x.shape.slice(0, p).reduce((a, d) => a * d, 1);
  return x.reshape([outer, x.size / outer]);
}

/** A [outer, rest] result back in the output's physical shape (the runtime batch, unless the batch axis was cut). */
function fromAround(y: Tensor, outPhys: readonly number[], batch: number, p: number): Tensor {
  const r = y.reshape(p === 0 ? [...outPhys] : [batch, ...outPhys.slice(1)]);
  y.dispose();
  return r;
}

function concatNode(n: StaticNode, c: ConvertContext): GraphNode {
  const rank = c.shape(n.outputs[0]!).length;
  const p = physicalAxis(num(n.attrs, 'axis'), rank);
  if (n.inputs.some((i) => c.constant(i))) unsupported(n, 'concatenating constants');
  if (p === rank - 1) return node(n, c, n.inputs, (xs) => [F.concatChannels(xs)]);
  const outPhys = physicalOf(c, n.outputs[0]!);
  return node(n, c, n.inputs, (xs) => {
    const flat = xs.map((x) => aroundAxis(x, p));
    const y = F.concatChannels(flat);
    for (const t of flat) t.dispose();
    return [fromAround(y, outPhys, xs[0]!.shape[0]!, p)];
  });
}

/** Elements [start, start + count) of physical axis p. */
function sliceAxis(x: Tensor, p: number, start: number, count: number, outPhys: readonly number[]): Tensor {
  if (p === x.rank - 1) return F.sliceLastAxis(x, start, count);
  const inner = x.shape.slice(p + 1).reduce((a, d) => a * d, 1);
  const flat = aroundAxis(x, p);
  const y = F.sliceLastAxis(flat, start * inner, count * inner);
  flat.dispose();
  return fromAround(y, outPhys, x.shape[0]!, p);
}

function sliceNode(n: StaticNode, c: ConvertContext): GraphNode {
  const a = n.attrs;
  const rank = c.shape(n.inputs[0]!).length;
  const axes = ints(a, 'axes');
  const steps = ints(a, 'steps');
  const inShape = c.shape(n.inputs[0]!);
  const sliced = axes.filter((ax, i) => !(ints(a, 'starts')[i] === 0 && ints(a, 'ends')[i]! >= inShape[ax]! && steps[i] === 1));
  if (sliced.length === 0) return node(n, c, [n.inputs[0]!], ([x]) => [x!.reshape(x!.shape)]);
  const i = axes.indexOf(sliced[0]!);
  if (sliced.length > 1 || steps[i] !== 1) unsupported(n, 'a slice of more than one axis, or with a step other than 1');
  const p = physicalAxis(axes[i]!, rank);
  const start = ints(a, 'starts')[i]!;
  const count = c.shape(n.outputs[0]!)[axes[i]!]!;
  const outPhys = physicalOf(c, n.outputs[0]!);
  return node(n, c, [n.inputs[0]!], ([x]) => [sliceAxis(x!, p, start, count, outPhys)]);
}

function splitNode(n: StaticNode, c: ConvertContext): GraphNode {
  const rank = c.shape(n.inputs[0]!).length;
  const p = physicalAxis(num(n.attrs, 'axis'), rank);
  const split = ints(n.attrs, 'split');
  const offsets = split.map((_, k) => split.slice(0, k).reduce((s, v) => s + v, 0));
  const outPhys = n.outputs.map((o) => physicalOf(c, o));
  return node(n, c, [n.inputs[0]!], ([x]) => split.map((count, k) => sliceAxis(x!, p, offsets[k]!, count, outPhys[k]!)));
}

function padNode(n: StaticNode, c: ConvertContext): GraphNode {
  const pads = ints(n.attrs, 'pads');
  const mode = n.attrs['mode'] as string;
  const value = num(n.attrs, 'value');
  const rank = c.shape(n.inputs[0]!).length;
  if (rank !== 4) unsupported(n, `padding a rank-${rank} tensor (only NCHW maps)`);
  if (pads[0] || pads[1] || pads[4] || pads[5]) unsupported(n, 'padding the batch or channel axis');
  if (mode !== 'constant' && mode !== 'edge') unsupported(n, `pad mode '${mode}'`);
  const [t, l, b, r] = [pads[2]!, pads[3]!, pads[6]!, pads[7]!];
  return node(n, c, [n.inputs[0]!], ([x]) => [F.pad2d(x!, [t, b, l, r], mode, value)]);
}

function batchNormNode(n: StaticNode, c: ConvertContext): GraphNode {
  const [scale, bias, mean, variance] = n.inputs.slice(1).map((i) => {
    const t = c.constant(i);
    if (!t) unsupported(n, `a runtime '${i}'`);
    return tensorNumbers(t);
  }) as [number[], number[], number[], number[]];
  const eps = num(n.attrs, 'epsilon');
  const a = Float32Array.from(scale, (s, i) => s / Math.sqrt(variance[i]! + eps));
  const shift = Float32Array.from(bias, (v, i) => v - mean[i]! * a[i]!);
  const rank = c.shape(n.inputs[0]!).length;
  const e = c.engine;
  // Per channel: the channel axis is physical-last for maps and rank-2 [N, C] alike.
  if (physicalAxis(1, rank) !== rank - 1) unsupported(n, `batch normalization of a rank-${rank} tensor`);
  const ta = e.keep(e.upload(a, [a.length]));
  const tb = e.keep(e.upload(shift, [shift.length]));
  c.constants.set(`${n.name}/scale`, ta);
  c.constants.set(`${n.name}/shift`, tb);
  return node(n, c, [n.inputs[0]!], ([x]) => {
    const s = F.broadcastMul(x!, ta);
    const y = F.broadcastAdd(s, tb);
    s.dispose();
    return [y];
  });
}

function reduceMeanNode(n: StaticNode, c: ConvertContext): GraphNode {
  const inShape = c.shape(n.inputs[0]!);
  const rank = inShape.length;
  const axes = [...ints(n.attrs, 'axes')].sort();
  const keep = num(n.attrs, 'keepdims') === 1;
  const outShape = c.shape(n.outputs[0]!);
  if (rank === 4 && axes.join() === '2,3') {
    return node(n, c, [n.inputs[0]!], ([x]) => [keep ? asMap(F.globalAvgPool(x!)) : F.globalAvgPool(x!)]);
  }
  const phys = axes.map((a) => physicalAxis(a, rank));
  const kept = inShape.map((d, i) => (axes.includes(i) ? 1 : d));
  return node(n, c, [n.inputs[0]!], ([x]) => {
    const y = F.reduceMean(x!, phys);
    if (keep) return [y];
    const r = reshapeLogical(y, kept, outShape);
    y.dispose();
    return [r];
  });
}

/** Softmax over ONNX axes: a trailing block of axes (opset < 13 coerces to 2-D there) or one axis (opset ≥ 13). */
function softmaxNode(n: StaticNode, c: ConvertContext): GraphNode {
  const shape = c.shape(n.inputs[0]!);
  const rank = shape.length;
  const axes = ints(n.attrs, 'axes');
  const trailing = axes[axes.length - 1] === rank - 1 && axes.every((a, i) => i === 0 || a === axes[i - 1]! + 1);
  if (!trailing && axes.length !== 1) unsupported(n, `a softmax over axes ${JSON.stringify(axes)}`);
  const toLogical = inverse(storageOrder(rank));
  // In the logical order: move a lone inner axis last, flatten the normalised block into rows.
  const move = trailing ? null : [...Array.from({ length: rank }, (_, i) => i).filter((i) => i !== axes[0]), axes[0]!];
  return node(n, c, [n.inputs[0]!], ([x]) => {
    const temps: Tensor[] = [];
    const step = (t: Tensor): Tensor => (temps.push(t), t);
    const logical = [x!.shape[0]!, ...shape.slice(1)];
    let t = step(isTrivialPermutation(x!.shape, toLogical) ? x!.reshape(logical) : F.permute(x!, toLogical));
    if (move) t = step(F.permute(t, move));
    const cols = trailing ? logical.slice(axes[0]).reduce((a, d) => a * d, 1) : logical[axes[0]!]!;
    const rows = t.size / cols;
    const rowsView = step(t.reshape([rows, cols]));
    const y = step(n.opType === 'LogSoftmax' ? F.logSoftmax(rowsView) : F.softmax(rowsView));
    let back = step(y.reshape(move ? permuteShape(logical, move) : logical));
    if (move) back = step(F.permute(back, inverse(move)));
    const out = isTrivialPermutation(back.shape, storageOrder(rank)) ? back.reshape(permuteShape(back.shape, storageOrder(rank))) : F.permute(back, storageOrder(rank));
    for (const u of temps) if (u !== x) u.dispose();
    return [out];
  });
}

function clipNode(n: StaticNode, c: ConvertContext): GraphNode {
  const min = n.attrs['min'] as number | undefined;
  const max = n.attrs['max'] as number | undefined;
  if (min === 0 && max === 6) return unaryNode(n, c, F.relu6);
  if (min === 0 && (max === undefined || max === Infinity)) return unaryNode(n, c, F.relu);
  return unaryNode(n, c, (x) => F.clip(x, min ?? -Infinity, max ?? Infinity));
}

export function convertNode(n: StaticNode, c: ConvertContext): GraphNode {
  switch (n.opType) {
    case 'Conv':
      return convNode(n, c);
    case 'Gemm':
    case 'MatMul':
      return gemmNode(n, c);
    case 'Relu':
      return unaryNode(n, c, F.relu);
    case 'Sigmoid':
      return unaryNode(n, c, F.sigmoid);
    case 'HardSwish':
      return unaryNode(n, c, F.hardSwish);
    case 'LeakyRelu':
      return unaryNode(n, c, (x) => F.leakyRelu(x, num(n.attrs, 'alpha')));
    case 'HardSigmoid':
      return unaryNode(n, c, (x) => F.hardSigmoid(x, num(n.attrs, 'alpha'), num(n.attrs, 'beta')));
    case 'Clip':
      return clipNode(n, c);
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div':
      return binaryNode(n, c);
    case 'MaxPool':
    case 'AveragePool':
      return poolNode(n, c);
    case 'GlobalAveragePool':
      return node(n, c, [n.inputs[0]!], ([x]) => [asMap(F.globalAvgPool(x!))]);
    case 'ReduceMean':
      return reduceMeanNode(n, c);
    case 'BatchNormalization':
      return batchNormNode(n, c);
    case 'Concat':
      return concatNode(n, c);
    case 'Flatten':
    case 'Reshape':
    case 'Squeeze':
    case 'Unsqueeze':
      return reshapeNode(n, c);
    case 'Transpose':
      return transposeNode(n, c);
    case 'Slice':
      return sliceNode(n, c);
    case 'Split':
      return splitNode(n, c);
    case 'Pad':
      return padNode(n, c);
    case 'Softmax':
    case 'LogSoftmax':
      return softmaxNode(n, c);
  }
}
