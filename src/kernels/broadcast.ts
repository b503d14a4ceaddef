import type { Engine, Tensor } from '../engine/index.js';
import { entry1d, flatIndex, grid } from './common.js';
import { sumAxis1 } from './reduce.js';

/**
 * Numpy-style broadcasting on physical shapes: shapes are right-aligned, and a dimension of size 1 (or a missing
 * leading one) stretches to the other operand's size. One generic n-ary kernel maps every output element to each
 * input's element; the output shape and every input's strides (0 on broadcast dimensions) are baked into the WGSL.
 * Before generating, size-1 output dimensions are dropped and neighbouring dimensions that every input treats alike
 * (broadcast in both or present in both) are merged, so equal shapes index as flat arrays and [N, 1, 1, C] against
 * [N, H, W, C] as [N, H·W, C].
 *
 * `sumTo` is the broadcast's adjoint: it sums a gradient of the broadcast shape back to an input's shape, one
 * deterministic `sumAxis1` pass ([outer, reduced, inner]) per group of consecutive reduced dimensions.
 */

const WG = 64;

const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** The broadcast shape of `shapes` (numpy's rule); throws naming the shapes when they do not broadcast. */
export function broadcastShape(op: string, shapes: readonly (readonly number[])[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let d = 0; d < rank; d++) {
    let size = 1;
    for (const s of shapes) {
      const v = s[s.length - rank + d] ?? 1;
      if (v === 1) continue;
      if (size !== 1 && v !== size) throw new Error(`${op}: shapes ${shapes.map(fmt).join(' and ')} do not broadcast (axis ${d} of the aligned shapes: ${size} against ${v})`);
      size = v;
    }
    out.push(size);
  }
  return out;
}

/** The compacted iteration space of a broadcast: dims (outermost first) and, per input, its stride on each. */
export interface BroadcastLayout {
  dims: number[];
  strides: number[][];
}

/** Drops size-1 output dimensions and merges neighbours every input treats alike (see the file comment). */
export function broadcastLayout(out: readonly number[], inputs: readonly (readonly number[])[]): BroadcastLayout {
  const rank = out.length;
  const full = inputs.map((s) => {
    const padded = [...Array<number>(rank - s.length).fill(1), ...s];
    const strides = Array<number>(rank).fill(0);
    let acc = 1;
    for (let d = rank - 1; d >= 0; d--) {
      if (padded[d] !== 1 && padded[d] !== out[d]) throw new Error(`broadcast: ${fmt(s)} does not broadcast to ${fmt(out)}`);
      strides[d] = padded[d] === 1 ? 0 : acc;
      acc *= padded[d]!;
    }
    return strides;
  });
  const dims: number[] = [];
  const strides: number[][] = inputs.map(() => []);
  for (let d = 0; d < rank; d++) {
    if (out[d] === 1) continue;
    const last = dims.length - 1;
    const alike = last >= 0 && full.every((s, k) => (s[d] === 0) === (strides[k]![last] === 0));
    if (alike) {
      dims[last] = dims[last]! * out[d]!;
      full.forEach((s, k) => (strides[k]![last] = s[d]!));
    } else {
      dims.push(out[d]!);
      full.forEach((s, k) => strides[k]!.push(s[d]!));
    }
  }
  return { dims, strides };
}

/** An n-ary broadcast kernel: its name (stands for the expression) and the output expression over v0, v1, …. */
export interface BroadcastKernel {
  name: string;
  arity: number;
  expr: string;
}

function broadcastCode(k: BroadcastKernel, { dims, strides }: BroadcastLayout): string {
  const n = dims.reduce((a, d) => a * d, 1);
  const decls = strides.map((_, i) => `@group(0) @binding(${i}) var<storage, read> in${i}: array<f32>;`).join('\n');
  const coords: string[] = [];
  for (let j = dims.length - 1; j >= 0; j--) {
    if (j === 0) coords.push(`  let c0 = r;`);
    else coords.push(`  let c${j} = r % ${dims[j]}u;\n  r = r / ${dims[j]}u;`);
  }
  const offsets = strides.map((s, i) => {
    const terms = s.flatMap((st, j) => (st === 0 ? [] : [st === 1 ? `c${j}` : `c${j} * ${st}u`]));
    return `  let v${i} = in${i}[${terms.length ? terms.join(' + ') : '0u'}];`;
  });
  return `${decls}
@group(0) @binding(${strides.length}) var<storage, read_write> out: array<f32>;
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${n}u) { return; }
  var r = i;
${coords.join('\n')}
${offsets.join('\n')}
  out[i] = ${k.expr};
}`;
}

/** Runs `k` over `inputs` broadcast to `shape` (the output's shape; every input must broadcast to it). */
export function broadcastMap(e: Engine, k: BroadcastKernel, inputs: readonly Tensor[], shape: readonly number[], out?: Tensor): Tensor {
  if (inputs.length !== k.arity) throw new Error(`${k.name}: ${inputs.length} inputs for a kernel of ${k.arity}`);
  for (const t of inputs) if (t.dtype !== 'f32') throw new Error(`${k.name}: expects f32 tensors, got ${t.dtype}`);
  const layout = broadcastLayout(shape, inputs.map((t) => t.shape));
  const result = out ?? e.empty(shape, 'f32', k.name);
  const n = layout.dims.reduce((a, d) => a * d, 1);
  if (result.size !== n) throw new Error(`${k.name}: output holds ${result.size} values, needs ${n}`);
  const key = `bcast:${k.name}:${layout.dims.join(',')}:${layout.strides.map((s) => s.join(',')).join(';')}`;
  e.run({ name: `broadcast_${k.name}`, key, code: () => broadcastCode(k, layout), bindings: [...inputs, result], workgroups: grid(n, WG) });
  return result;
}

export const BCAST_ADD: BroadcastKernel = { name: 'add', arity: 2, expr: 'v0 + v1' };
export const BCAST_SUB: BroadcastKernel = { name: 'sub', arity: 2, expr: 'v0 - v1' };
export const BCAST_MUL: BroadcastKernel = { name: 'mul', arity: 2, expr: 'v0 * v1' };
export const BCAST_DIV: BroadcastKernel = { name: 'div', arity: 2, expr: 'v0 / v1' };
export const BCAST_NEG: BroadcastKernel = { name: 'neg', arity: 1, expr: '-v0' };
/** −gy · a / b²: the gradient of a / b with respect to b (inputs gy, a, b). */
export const BCAST_DIV_GRAD_B: BroadcastKernel = { name: 'div_grad_b', arity: 3, expr: '-(v0 * (v1 / v2)) / v2' };

/** The groups of consecutive output dimensions that `sumTo` reduces or keeps (size-1 output dimensions dropped). */
export function reductionGroups(from: readonly number[], to: readonly number[]): { size: number; reduced: boolean }[] {
  if (to.length > from.length) throw new Error(`sumTo: cannot sum ${fmt(from)} to the longer shape ${fmt(to)}`);
  const padded = [...Array<number>(from.length - to.length).fill(1), ...to];
  const groups: { size: number; reduced: boolean }[] = [];
  for (let d = 0; d < from.length; d++) {
    if (padded[d] !== 1 && padded[d] !== from[d]) throw new Error(`sumTo: ${fmt(to)} does not broadcast to ${fmt(from)}`);
    if (from[d] === 1) continue;
    const reduced = padded[d] === 1;
    const last = groups[groups.length - 1];
    if (last && last.reduced === reduced) last.size *= from[d]!;
    else groups.push({ size: from[d]!, reduced });
  }
  return groups;
}

/**
 * Σ of `g` (of a broadcast shape) over the dimensions where `shape` is 1 or missing, times `scale`, as a new tensor of
 * `shape`. Deterministic: one [outer, reduced, inner] column-sum pass per group of consecutive reduced dimensions (the
 * largest group first). Without a reduced dimension it is a copy (scale 1) or a negation (scale −1).
 */
export function sumTo(e: Engine, g: Tensor, shape: readonly number[], scale: 1 | -1 = 1): Tensor {
  const groups = reductionGroups(g.shape, shape);
  const order = groups.map((gr, i) => ({ ...gr, i })).filter((gr) => gr.reduced).sort((a, b) => b.size - a.size || a.i - b.i);
  if (order.length === 0) {
    if (scale === 1) {
      const out = e.empty(shape, g.dtype, 'sum_to');
      e.copy(g, out);
      return out;
    }
    const view = g.reshape(shape);
    const out = broadcastMap(e, BCAST_NEG, [view], shape);
    view.dispose();
    return out;
  }
  const sizes = groups.map((gr) => gr.size);
  let cur = g;
  order.forEach(({ i }, pass) => {
    const outer = sizes.slice(0, i).reduce((a, d) => a * d, 1);
    const inner = sizes.slice(i + 1).reduce((a, d) => a * d, 1);
    const next = sumAxis1(e, cur, [outer, sizes[i]!, inner], pass === 0 ? scale : 1);
    if (cur !== g) cur.dispose();
    sizes[i] = 1;
    cur = next;
  });
  const result = cur.reshape(shape);
  cur.dispose();
  return result;
}
