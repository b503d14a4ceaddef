/**
 * Float64 reference executor of an imported ONNX graph (src/formats/onnx/), in ONNX's own NCHW layout: plain loops,
 * one small function per op, no GPU. It is the oracle that checks the parser and the import passes against ONNX's
 * conformance tests and PyTorch's outputs, and what an NHWC GPU executor can be compared with node by node.
 */
import { tensorNumbers, type OnnxTensor } from '../formats/onnx.js';
import type { CanonicalAttrs, StaticGraph, StaticNode } from '../formats/onnx/ops.js';

export interface RefTensor {
  dims: number[];
  data: Float64Array;
}

const numel = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
const stridesOf = (s: readonly number[]): number[] => {
  const st = new Array<number>(s.length).fill(1);
  for (let i = s.length - 2; i >= 0; i--) st[i] = st[i + 1]! * s[i + 1]!;
  return st;
};
const ints = (a: CanonicalAttrs, k: string): number[] => a[k] as number[];
const num = (a: CanonicalAttrs, k: string): number => a[k] as number;

/**
 * out[i] = f(in[offsets…]) over `outShape`, where input k is read with strides `strides[k]` (0 on broadcast axes,
 * or any permutation of its own strides): the one loop behind broadcasting, Transpose, Slice and Pad's copy.
 */
function strided(outShape: number[], strides: number[][], bases: number[], fn: (out: number, offs: number[]) => void): void {
  const r = outShape.length;
  const n = numel(outShape);
  const pos = new Array<number>(r).fill(0);
  const offs = [...bases];
  for (let i = 0; i < n; i++) {
    fn(i, offs);
    for (let a = r - 1; a >= 0; a--) {
      pos[a]!++;
      for (let k = 0; k < offs.length; k++) offs[k]! += strides[k]![a]!;
      if (pos[a]! < outShape[a]!) break;
      for (let k = 0; k < offs.length; k++) offs[k]! -= strides[k]![a]! * outShape[a]!;
      pos[a] = 0;
    }
  }
}

/** An input's strides as seen from a broadcast output shape (0 on axes where it has size 1 or is missing). */
function broadcastStrides(inDims: number[], outShape: number[]): number[] {
  const st = stridesOf(inDims);
  const lead = outShape.length - inDims.length;
  return outShape.map((_, a) => (a < lead || inDims[a - lead] === 1 ? 0 : st[a - lead]!));
}

function conv(x: RefTensor, w: RefTensor, b: RefTensor | undefined, a: CanonicalAttrs, outShape: number[]): RefTensor {
  const [n, c, h, wd] = x.dims as [number, number, number, number];
  const [m, cg, kh, kw] = w.dims as [number, number, number, number];
  const [, , oh, ow] = outShape as [number, number, number, number];
  const [sh, sw] = ints(a, 'strides') as [number, number];
  const [dh, dw] = ints(a, 'dilations') as [number, number];
  const [pt, pl] = ints(a, 'pads') as [number, number];
  const group = num(a, 'group');
  const mg = m / group;
  const plane = oh * ow;
  const taps = cg * kh * kw;
  const y = new Float64Array(n * m * plane);
  // im2col: row (ci, ky, kx) of `col` holds, for every output pixel, the input it meets (0 in the padding)
  const col = new Float64Array(taps * plane);
  const xd = x.data;
  const wdata = w.data;
  for (let bi = 0; bi < n; bi++)
    for (let g = 0; g < group; g++) {
      col.fill(0);
      for (let ci = 0; ci < cg; ci++) {
        const xo = (bi * c + g * cg + ci) * h * wd;
        for (let ky = 0; ky < kh; ky++)
          for (let kx = 0; kx < kw; kx++) {
            const ro = ((ci * kh + ky) * kw + kx) * plane;
            for (let oy = 0; oy < oh; oy++) {
              const iy = oy * sh - pt + ky * dh;
              if (iy < 0 || iy >= h) continue;
              for (let ox = 0; ox < ow; ox++) {
                const ix = ox * sw - pl + kx * dw;
                if (ix >= 0 && ix < wd) col[ro + oy * ow + ox] = xd[xo + iy * wd + ix]!;
              }
            }
          }
      }
      for (let o = 0; o < mg; o++) {
        const oc = g * mg + o;
        const yo = (bi * m + oc) * plane;
        if (b) y.fill(b.data[oc]!, yo, yo + plane);
        const wo = oc * taps;
        for (let k = 0; k < taps; k++) {
          const wv = wdata[wo + k]!;
          const ro = k * plane;
          for (let p = 0; p < plane; p++) y[yo + p]! += wv * col[ro + p]!;
        }
      }
    }
  return { dims: outShape, data: y };
}

function pool(x: RefTensor, a: CanonicalAttrs, outShape: number[], max: boolean): RefTensor {
  const [n, c, h, w] = x.dims as [number, number, number, number];
  const [, , oh, ow] = outShape as [number, number, number, number];
  const [kh, kw] = ints(a, 'kernel') as [number, number];
  const [sh, sw] = ints(a, 'strides') as [number, number];
  const [dh, dw] = ints(a, 'dilations') as [number, number];
  const [pt, pl, pb, pr] = ints(a, 'pads') as [number, number, number, number];
  const includePad = a['count_include_pad'] === 1;
  const y = new Float64Array(n * c * oh * ow);
  for (let p = 0; p < n * c; p++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++) {
        let acc = max ? -Infinity : 0;
        let count = 0;
        let padded = 0;
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * sh - pt + ky * dh;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * sw - pl + kx * dw;
            // with count_include_pad the divisor counts the pads, not what ceil_mode adds beyond them
            if (iy >= -pt && iy < h + pb && ix >= -pl && ix < w + pr) padded++;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            const v = x.data[(p * h + iy) * w + ix]!;
            if (max) acc = v > acc || Number.isNaN(v) ? v : acc;
            else acc += v;
            count++;
          }
        }
        y[(p * oh + oy) * ow + ox] = max ? acc : acc / (includePad ? padded : count);
      }
  return { dims: outShape, data: y };
}

function reduceMean(x: RefTensor, axes: number[], outShape: number[]): RefTensor {
  const keptShape = x.dims.map((d, i) => (axes.includes(i) ? 1 : d));
  const y = new Float64Array(numel(keptShape));
  const st = broadcastStrides(keptShape, x.dims);
  strided(x.dims, [st], [0], (i, [o]) => {
    y[o!]! += x.data[i]!;
  });
  const count = numel(axes.map((i) => x.dims[i]!));
  for (let i = 0; i < y.length; i++) y[i]! /= count;
  return { dims: outShape, data: y };
}

function softmax(x: RefTensor, axes: number[], log: boolean): RefTensor {
  const first = axes[0]!;
  const last = axes[axes.length - 1]!;
  const outer = numel(x.dims.slice(0, first));
  const mid = numel(x.dims.slice(first, last + 1));
  const inner = numel(x.dims.slice(last + 1));
  const y = new Float64Array(x.data.length);
  for (let o = 0; o < outer; o++)
    for (let k = 0; k < inner; k++) {
      const at = (j: number): number => (o * mid + j) * inner + k;
      let mx = -Infinity;
      for (let j = 0; j < mid; j++) mx = Math.max(mx, x.data[at(j)]!);
      let sum = 0;
      for (let j = 0; j < mid; j++) sum += Math.exp(x.data[at(j)]! - mx);
      for (let j = 0; j < mid; j++) y[at(j)] = log ? x.data[at(j)]! - mx - Math.log(sum) : Math.exp(x.data[at(j)]! - mx) / sum;
    }
  return { dims: [...x.dims], data: y };
}

function matmul(a: RefTensor, b: RefTensor, outShape: number[]): RefTensor {
  const ad = a.dims.length === 1 ? [1, a.dims[0]!] : a.dims;
  const bd = b.dims.length === 1 ? [b.dims[0]!, 1] : b.dims;
  const m = ad[ad.length - 2]!;
  const k = ad[ad.length - 1]!;
  const n = bd[bd.length - 1]!;
  const batch = outShape.slice(0, outShape.length - (a.dims.length > 1 ? 1 : 0) - (b.dims.length > 1 ? 1 : 0));
  const y = new Float64Array(numel(batch) * m * n);
  const sa = broadcastStrides(ad.slice(0, -2), batch).map((s) => s * m * k);
  const sb = broadcastStrides(bd.slice(0, -2), batch).map((s) => s * k * n);
  strided(batch, [sa, sb], [0, 0], (bi, [oa, ob]) => {
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let q = 0; q < k; q++) s += a.data[oa! + i * k + q]! * b.data[ob! + q * n + j]!;
        y[(bi * m + i) * n + j] = s;
      }
  });
  return { dims: outShape, data: y };
}

function gemm(a: RefTensor, b: RefTensor, c: RefTensor | undefined, at: CanonicalAttrs, outShape: number[]): RefTensor {
  const [m, n] = outShape as [number, number];
  const transA = num(at, 'transA');
  const transB = num(at, 'transB');
  const k = transA ? a.dims[0]! : a.dims[1]!;
  const alpha = num(at, 'alpha');
  const beta = num(at, 'beta');
  const y = new Float64Array(m * n);
  const cs = c ? broadcastStrides(c.dims, outShape) : [0, 0];
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let q = 0; q < k; q++) s += a.data[transA ? q * m + i : i * k + q]! * b.data[transB ? j * k + q : q * n + j]!;
      y[i * n + j] = alpha * s + (c ? beta * c.data[i * cs[0]! + j * cs[1]!]! : 0);
    }
  return { dims: outShape, data: y };
}

function pad(x: RefTensor, a: CanonicalAttrs, outShape: number[]): RefTensor {
  const pads = ints(a, 'pads');
  const r = x.dims.length;
  const edge = a['mode'] === 'edge';
  const value = num(a, 'value');
  const st = stridesOf(x.dims);
  const y = new Float64Array(numel(outShape));
  const pos = new Array<number>(r).fill(0);
  for (let i = 0; i < y.length; i++) {
    let off = 0;
    let inside = true;
    for (let d = 0; d < r; d++) {
      let p = pos[d]! - pads[d]!;
      if (p < 0 || p >= x.dims[d]!) {
        if (!edge) inside = false;
        p = Math.min(Math.max(p, 0), x.dims[d]! - 1);
      }
      off += p * st[d]!;
    }
    y[i] = inside ? x.data[off]! : value;
    for (let d = r - 1; d >= 0; d--) {
      if (++pos[d]! < outShape[d]!) break;
      pos[d] = 0;
    }
  }
  return { dims: outShape, data: y };
}

const unary: Record<string, (v: number, a: CanonicalAttrs) => number> = {
  Relu: (v) => (v > 0 ? v : 0),
  LeakyRelu: (v, a) => (v >= 0 ? v : num(a, 'alpha') * v),
  Sigmoid: (v) => 1 / (1 + Math.exp(-v)),
  HardSigmoid: (v, a) => Math.min(1, Math.max(0, num(a, 'alpha') * v + num(a, 'beta'))),
  HardSwish: (v) => v * Math.min(1, Math.max(0, v / 6 + 0.5)),
  Clip: (v, a) => Math.min(num(a, 'max'), Math.max(num(a, 'min'), v)),
};
const binary: Record<string, (x: number, y: number) => number> = {
  Add: (x, y) => x + y,
  Sub: (x, y) => x - y,
  Mul: (x, y) => x * y,
  Div: (x, y) => x / y,
};

/** One node on float64 NCHW tensors; `shapes` gives the static output shapes the import computed. */
export function runReferenceNode(node: StaticNode, inputs: (RefTensor | undefined)[], shapes: number[][]): RefTensor[] {
  const a = node.attrs;
  const x = inputs[0]!;
  const out = shapes[0]!;
  const reshaped = (): RefTensor[] => [{ dims: out, data: x.data }];
  switch (node.opType) {
    case 'Conv':
      return [conv(x, inputs[1]!, inputs[2], a, out)];
    case 'MaxPool':
    case 'AveragePool':
      return [pool(x, a, out, node.opType === 'MaxPool')];
    case 'GlobalAveragePool':
      return [reduceMean(x, x.dims.slice(2).map((_, i) => i + 2), out)];
    case 'ReduceMean':
      return [reduceMean(x, ints(a, 'axes'), out)];
    case 'BatchNormalization': {
      const [, scale, bias, mean, variance] = inputs as RefTensor[];
      const c = x.dims[1]!;
      const inner = numel(x.dims.slice(2));
      const eps = num(a, 'epsilon');
      const y = new Float64Array(x.data.length);
      for (let i = 0; i < y.length; i++) {
        const ch = Math.floor(i / inner) % c;
        y[i] = ((x.data[i]! - mean!.data[ch]!) / Math.sqrt(variance!.data[ch]! + eps)) * scale!.data[ch]! + bias!.data[ch]!;
      }
      return [{ dims: out, data: y }];
    }
    case 'Relu': case 'LeakyRelu': case 'Sigmoid': case 'HardSigmoid': case 'HardSwish': case 'Clip': {
      const f = unary[node.opType]!;
      return [{ dims: out, data: x.data.map((v) => f(v, a)) }];
    }
    case 'Add': case 'Sub': case 'Mul': case 'Div': {
      const f = binary[node.opType]!;
      const b = inputs[1]!;
      const y = new Float64Array(numel(out));
      strided(out, [broadcastStrides(x.dims, out), broadcastStrides(b.dims, out)], [0, 0], (i, [p, q]) => {
        y[i] = f(x.data[p!]!, b.data[q!]!);
      });
      return [{ dims: out, data: y }];
    }
    case 'Concat': {
      const axis = num(a, 'axis');
      const outer = numel(out.slice(0, axis));
      const y = new Float64Array(numel(out));
      let o = 0;
      for (let i = 0; i < outer; i++)
        for (const t of inputs as RefTensor[]) {
          const chunk = numel(t.dims.slice(axis));
          y.set(t.data.subarray(i * chunk, (i + 1) * chunk), o);
          o += chunk;
        }
      return [{ dims: out, data: y }];
    }
    case 'Flatten': case 'Reshape': case 'Squeeze': case 'Unsqueeze':
      return reshaped();
    case 'Transpose': {
      const perm = ints(a, 'perm');
      const st = stridesOf(x.dims);
      const y = new Float64Array(x.data.length);
      strided(out, [perm.map((p) => st[p]!)], [0], (i, [o]) => {
        y[i] = x.data[o!]!;
      });
      return [{ dims: out, data: y }];
    }
    case 'Slice': {
      const st = stridesOf(x.dims);
      const axes = ints(a, 'axes');
      const starts = ints(a, 'starts');
      const steps = ints(a, 'steps');
      const base = axes.reduce((s, ax, k) => s + starts[k]! * st[ax]!, 0);
      const sst = x.dims.map((_, d) => (axes.includes(d) ? st[d]! * steps[axes.indexOf(d)]! : st[d]!));
      const y = new Float64Array(numel(out));
      strided(out, [sst], [base], (i, [o]) => {
        y[i] = x.data[o!]!;
      });
      return [{ dims: out, data: y }];
    }
    case 'Split': {
      const axis = num(a, 'axis');
      const outer = numel(x.dims.slice(0, axis));
      const inner = numel(x.dims.slice(axis + 1));
      let start = 0;
      return ints(a, 'split').map((len, k) => {
        const y = new Float64Array(numel(shapes[k]!));
        for (let i = 0; i < outer; i++) y.set(x.data.subarray((i * x.dims[axis]! + start) * inner, (i * x.dims[axis]! + start + len) * inner), i * len * inner);
        start += len;
        return { dims: shapes[k]!, data: y };
      });
    }
    case 'Pad':
      return [pad(x, a, out)];
    case 'Gemm':
      return [gemm(x, inputs[1]!, inputs[2], a, out)];
    case 'MatMul':
      return [matmul(x, inputs[1]!, out)];
    case 'Softmax':
    case 'LogSoftmax':
      return [softmax(x, ints(a, 'axes'), node.opType === 'LogSoftmax')];
  }
}

export function refFromOnnx(t: OnnxTensor): RefTensor {
  return { dims: [...t.dims], data: Float64Array.from(tensorNumbers(t)) };
}

export interface RunReferenceOptions {
  /** Tensors to return besides the graph outputs (by ONNX name; removed Identity outputs resolve to their source). */
  keep?: string[];
  /** Return every node output too (for comparing another executor node by node). */
  keepAll?: boolean;
}

/**
 * Runs the graph on float64 NCHW inputs (by input name). Returns the graph outputs by their ONNX names, and the
 * `keep` tensors. Intermediates are dropped after their last reader.
 */
export function runReference(graph: StaticGraph, inputs: Record<string, RefTensor>, opts: RunReferenceOptions = {}): Map<string, RefTensor> {
  const env = new Map<string, RefTensor>();
  for (const i of graph.inputs) {
    const t = inputs[i.name];
    if (!t) throw new Error(`no value for input '${i.name}'`);
    if (t.dims.length !== i.shape.length || t.dims.some((d, k) => d !== i.shape[k]))
      throw new Error(`input '${i.name}' has shape ${JSON.stringify(t.dims)}; the graph was imported for ${JSON.stringify(i.shape)}`);
    env.set(i.name, t);
  }
  const resolve = (n: string): string => graph.aliases.get(n) ?? n;
  const wanted = new Set([...graph.outputs.map((o) => o.tensor), ...(opts.keep ?? []).map(resolve)]);
  const lastUse = new Map<string, number>();
  graph.nodes.forEach((n, k) => n.inputs.forEach((i) => lastUse.set(i, k)));
  const get = (name: string): RefTensor => {
    let t = env.get(name);
    if (!t) {
      const c = graph.constants.get(name);
      if (!c) throw new Error(`tensor '${name}' has no value`);
      t = refFromOnnx(c);
      env.set(name, t);
    }
    return t;
  };
  graph.nodes.forEach((node, k) => {
    const ins = node.inputs.map((i) => (i === '' ? undefined : get(i)));
    const outs = runReferenceNode(node, ins, node.outputs.map((o) => graph.shapes.get(o)!));
    node.outputs.forEach((o, j) => env.set(o, outs[j]!));
    if (!opts.keepAll) for (const i of node.inputs) if (lastUse.get(i) === k && !wanted.has(i)) env.delete(i);
  });
  const result = new Map<string, RefTensor>();
  for (const o of graph.outputs) result.set(o.name, get(o.tensor));
  for (const name of opts.keep ?? []) result.set(name, get(resolve(name)));
  if (opts.keepAll) for (const n of graph.nodes) for (const o of n.outputs) if (o !== '') result.set(o, env.get(o)!);
  return result;
}
