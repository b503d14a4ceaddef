// Constant folding: a node of FOLDABLE_OPS whose inputs are all known at import time (initializers, Constant nodes,
// earlier folds, or — for Shape and Size — a tensor whose static shape is known) becomes constant tensors. This is
// how shape arithmetic (Shape → Gather → Unsqueeze → Concat → Reshape, …) disappears on a static input size.
// Values are computed in float64 (int64 shape values are exact below 2⁵³) and stored in the output's element type.
import { attrInt, attrTensor, type OnnxDType, type OnnxNode, type OnnxTensor, tensorNumbers } from '../onnx.js';
import { broadcastShapes, canonicalize, fail, normAxis, numel, type ShapeContext } from './shape.js';

const FILE_TYPE: Record<OnnxDType, number> = { float32: 1, uint8: 2, int8: 3, uint16: 4, int16: 5, int32: 6, int64: 7, bool: 9, float64: 11, uint32: 12 };
const CAST_TO: Record<number, OnnxDType> = { 1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float32', 11: 'float64', 12: 'uint32', 16: 'float32' };

const isInt = (d: OnnxDType): boolean => d !== 'float32' && d !== 'float64';

/** Folded tensors are shape arithmetic or small constants; a larger result is refused rather than allocated. */
const MAX_FOLDED = 1 << 26;
function checkSize(node: OnnxNode, dims: number[]): void {
  const n = numel(dims);
  if (!(n <= MAX_FOLDED) || dims.some((d) => !Number.isInteger(d) || d < 0)) fail(node, `would make a constant of shape ${JSON.stringify(dims)} at import time`);
}

/** A tensor of `dtype` from float64 values (integers truncated, int64 saturated, bool as v ≠ 0). */
export function makeTensor(name: string, dtype: OnnxDType, dims: number[], vals: ArrayLike<number>): OnnxTensor {
  const n = vals.length;
  let data: OnnxTensor['data'];
  switch (dtype) {
    case 'float32': data = Float32Array.from(vals); break;
    case 'float64': data = Float64Array.from(vals); break;
    case 'int64': {
      const d = new BigInt64Array(n);
      for (let i = 0; i < n; i++) {
        const v = Math.trunc(vals[i]!);
        d[i] = v >= 2 ** 63 ? 0x7fffffffffffffffn : v <= -(2 ** 63) ? -0x8000000000000000n : BigInt(v);
      }
      data = d;
      break;
    }
    case 'int32': data = Int32Array.from(vals, Math.trunc); break;
    case 'int16': data = Int16Array.from(vals, Math.trunc); break;
    case 'int8': data = Int8Array.from(vals, Math.trunc); break;
    case 'uint8': data = Uint8Array.from(vals, Math.trunc); break;
    case 'uint16': data = Uint16Array.from(vals, Math.trunc); break;
    case 'uint32': data = Uint32Array.from(vals, Math.trunc); break;
    case 'bool': data = Uint8Array.from(vals, (v) => (v !== 0 ? 1 : 0)); break;
  }
  return { name, dtype, fileType: FILE_TYPE[dtype], dims, data };
}

const stridesOf = (s: readonly number[]): number[] => {
  const st = new Array<number>(s.length).fill(1);
  for (let i = s.length - 2; i >= 0; i--) st[i] = st[i + 1]! * s[i + 1]!;
  return st;
};

/** For every element of `out`, the flat index of the element of `inShape` it reads under broadcasting. */
function broadcastIndex(out: number[], inShape: number[]): number[] {
  const r = out.length;
  const ins = [...new Array<number>(r - inShape.length).fill(1), ...inShape];
  const st = stridesOf(ins);
  const idx: number[] = [];
  const n = numel(out);
  const pos = new Array<number>(r).fill(0);
  for (let k = 0; k < n; k++) {
    let f = 0;
    for (let i = 0; i < r; i++) if (ins[i] !== 1) f += pos[i]! * st[i]!;
    idx.push(f);
    for (let i = r - 1; i >= 0; i--) {
      if (++pos[i]! < out[i]!) break;
      pos[i] = 0;
    }
  }
  return idx;
}

/** Elements of `x` (shape `s`) read at out positions given by a per-axis map from output to input coordinates. */
function gatherAxes(vals: number[], s: number[], out: number[], coord: (axis: number, o: number) => number): number[] {
  const st = stridesOf(s);
  const res: number[] = [];
  const n = numel(out);
  const pos = new Array<number>(out.length).fill(0);
  for (let k = 0; k < n; k++) {
    let f = 0;
    for (let i = 0; i < out.length; i++) f += coord(i, pos[i]!) * st[i]!;
    res.push(vals[f]!);
    for (let i = out.length - 1; i >= 0; i--) {
      if (++pos[i]! < out[i]!) break;
      pos[i] = 0;
    }
  }
  return res;
}

function transposeVals(vals: number[], s: number[], perm: number[]): number[] {
  const out = perm.map((p) => s[p]!);
  const st = stridesOf(s);
  const res: number[] = [];
  const pos = new Array<number>(out.length).fill(0);
  for (let k = 0; k < vals.length; k++) {
    let f = 0;
    for (let i = 0; i < out.length; i++) f += pos[i]! * st[perm[i]!]!;
    res.push(vals[f]!);
    for (let i = out.length - 1; i >= 0; i--) {
      if (++pos[i]! < out[i]!) break;
      pos[i] = 0;
    }
  }
  return res;
}

const binary: Record<string, (a: number, b: number, int: boolean) => number> = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b) => a * b,
  Div: (a, b, int) => (int ? (b === 0 ? 0 : Math.trunc(a / b)) : a / b),
  Min: (a, b) => Math.min(a, b),
  Max: (a, b) => Math.max(a, b),
  Equal: (a, b) => (a === b ? 1 : 0),
};
const unary: Record<string, (a: number) => number> = { Neg: (a) => -a, Floor: Math.floor, Ceil: Math.ceil, Sqrt: Math.sqrt, Identity: (a) => a };

/**
 * The outputs of `node` when it can be computed now: every input constant (Shape/Size: its shape known). Returns
 * undefined when it cannot be folded (a runtime input); throws for a foldable op used in an unsupported way.
 */
export function foldNode(node: OnnxNode, ctx: ShapeContext & { known(name: string): boolean }): OnnxTensor[] | undefined {
  const op = node.opType;
  const ins = node.inputs;
  const out0 = node.outputs[0]!;
  if (op === 'Shape' || op === 'Size') {
    if (!ctx.known(ins[0]!)) return undefined;
    const s = ctx.shape(ins[0]!);
    if (op === 'Size') return [makeTensor(out0, 'int64', [], [numel(s)])];
    const r = s.length;
    const clampAxis = (a: number): number => Math.min(Math.max(a < 0 ? a + r : a, 0), r);
    const start = clampAxis(attrInt(node, 'start', 0));
    const end = clampAxis(attrInt(node, 'end') ?? r);
    const dims = s.slice(start, Math.max(start, end));
    return [makeTensor(out0, 'int64', [dims.length], dims)];
  }
  const consts = ins.map((n) => (n === '' ? undefined : ctx.constant(n)));
  if (ins.some((n, i) => n !== '' && !consts[i])) return undefined;
  const t = (i: number): OnnxTensor => consts[i] ?? fail(node, `input #${i} is missing`);
  const v = (i: number): number[] => tensorNumbers(t(i));
  const dt = (i: number): OnnxDType => t(i).dtype;
  switch (op) {
    case 'Add': case 'Sub': case 'Mul': case 'Div': case 'Min': case 'Max': case 'Equal': {
      const operands = ins.filter((n) => n !== '').map((_, i) => i);
      const shape = broadcastShapes(node, operands.map((i) => t(i).dims));
      const f = binary[op]!;
      const int = isInt(dt(0));
      const maps = operands.map((i) => broadcastIndex(shape, t(i).dims));
      const vals = operands.map((i) => v(i));
      const res = maps[0]!.map((j) => vals[0]![j]!);
      for (let k = 1; k < operands.length; k++) for (let e = 0; e < res.length; e++) res[e] = f(res[e]!, vals[k]![maps[k]![e]!]!, int);
      return [makeTensor(out0, op === 'Equal' ? 'bool' : dt(0), shape, res)];
    }
    case 'Neg': case 'Floor': case 'Ceil': case 'Sqrt': case 'Identity':
      return [makeTensor(out0, dt(0), [...t(0).dims], v(0).map(unary[op]!))];
    case 'Cast': {
      const to = CAST_TO[attrInt(node, 'to', 0)] ?? fail(node, `cast to data type ${attrInt(node, 'to', 0)} is not supported`);
      return [makeTensor(out0, to, [...t(0).dims], v(0))];
    }
    case 'Where': {
      const shape = broadcastShapes(node, [t(0).dims, t(1).dims, t(2).dims]);
      const [c, a, b] = [0, 1, 2].map((i) => broadcastIndex(shape, t(i).dims));
      const [cv, av, bv] = [v(0), v(1), v(2)];
      return [makeTensor(out0, dt(1), shape, c!.map((ci, e) => (cv[ci] ? av[a![e]!]! : bv[b![e]!]!)))];
    }
    case 'ConstantOfShape': {
      const dims = v(0);
      checkSize(node, dims);
      const value = attrTensor(node, 'value');
      const fill = value ? tensorNumbers(value)[0] ?? 0 : 0;
      return [makeTensor(out0, value?.dtype ?? 'float32', dims, new Array<number>(numel(dims)).fill(fill))];
    }
    case 'Range': {
      const [start, limit, delta] = [v(0)[0]!, v(1)[0]!, v(2)[0]!];
      if (delta === 0) fail(node, 'delta 0');
      const n = Math.max(0, Math.ceil((limit - start) / delta));
      checkSize(node, [n]);
      return [makeTensor(out0, dt(0), [n], Array.from({ length: n }, (_, i) => start + i * delta))];
    }
    case 'Expand': {
      const shape = broadcastShapes(node, [t(0).dims, v(1)]);
      checkSize(node, shape);
      const vals = v(0);
      return [makeTensor(out0, dt(0), shape, broadcastIndex(shape, t(0).dims).map((j) => vals[j]!))];
    }
    case 'Gather': {
      const s = t(0).dims;
      const axis = normAxis(node, attrInt(node, 'axis', 0), s.length);
      const idx = v(1).map((i) => (i < 0 ? i + s[axis]! : i));
      if (idx.some((i) => i < 0 || i >= s[axis]!)) fail(node, `indices ${JSON.stringify(v(1))} out of range for axis ${axis} of size ${s[axis]}`);
      const outer = numel(s.slice(0, axis));
      const inner = numel(s.slice(axis + 1));
      const vals = v(0);
      const res: number[] = [];
      for (let o = 0; o < outer; o++) for (const i of idx) for (let k = 0; k < inner; k++) res.push(vals[(o * s[axis]! + i) * inner + k]!);
      return [makeTensor(out0, dt(0), [...s.slice(0, axis), ...t(1).dims, ...s.slice(axis + 1)], res)];
    }
    case 'Unsqueeze': case 'Squeeze': case 'Reshape': case 'Flatten': {
      const c = canonicalize(node, ctx);
      return [makeTensor(out0, dt(0), c.outShapes[0]!, v(0))];
    }
    case 'Concat': {
      const c = canonicalize(node, ctx);
      const axis = c.attrs['axis'] as number;
      const parts = ins.filter((n) => n !== '').map((_, i) => i);
      const shape = c.outShapes[0]!;
      const outer = numel(shape.slice(0, axis));
      const res: number[] = [];
      const vals = parts.map((i) => v(i));
      for (let o = 0; o < outer; o++)
        parts.forEach((i, k) => {
          const chunk = numel(t(i).dims.slice(axis));
          for (let e = 0; e < chunk; e++) res.push(vals[k]![o * chunk + e]!);
        });
      return [makeTensor(out0, dt(0), shape, res)];
    }
    case 'Transpose': {
      const c = canonicalize(node, ctx);
      return [makeTensor(out0, dt(0), c.outShapes[0]!, transposeVals(v(0), t(0).dims, c.attrs['perm'] as number[]))];
    }
    case 'Slice': {
      const c = canonicalize(node, ctx);
      const axes = c.attrs['axes'] as number[];
      const starts = c.attrs['starts'] as number[];
      const steps = c.attrs['steps'] as number[];
      const res = gatherAxes(v(0), t(0).dims, c.outShapes[0]!, (a, o) => {
        const k = axes.indexOf(a);
        return k < 0 ? o : starts[k]! + o * steps[k]!;
      });
      return [makeTensor(out0, dt(0), c.outShapes[0]!, res)];
    }
  }
  return undefined;
}
