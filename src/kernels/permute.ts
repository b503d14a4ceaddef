import type { Engine, Tensor } from '../engine/index.js';
import { entry1d, flatIndex, grid } from './common.js';

/**
 * An axis permutation (numpy's transpose): y.shape[j] = x.shape[perm[j]]. One invocation per output element gathers
 * its input element. Size-1 axes are dropped and output axes that stay neighbours in the input are merged before the
 * WGSL is generated (so NHWC → NCHW of [N, H, W, C] indexes as [N, C, H·W]); shapes and strides are baked in.
 */

const WG = 64;

const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** Checks that `perm` permutes the axes of `shape`; returns y's shape. */
export function permuteShape(shape: readonly number[], perm: readonly number[]): number[] {
  const rank = shape.length;
  const seen = new Set(perm);
  if (perm.length !== rank || seen.size !== rank || perm.some((a) => !Number.isInteger(a) || a < 0 || a >= rank)) {
    throw new Error(`permute: ${fmt(perm)} is not a permutation of the ${rank} axes of ${fmt(shape)}`);
  }
  return perm.map((a) => shape[a]!);
}

/** The inverse permutation: inv[perm[j]] = j. */
export function inversePermutation(perm: readonly number[]): number[] {
  const inv = Array<number>(perm.length);
  perm.forEach((a, j) => (inv[a] = j));
  return inv;
}

/** The compacted problem: output dims (outermost first) and each one's stride in the input. */
export function permuteLayout(shape: readonly number[], perm: readonly number[]): { dims: number[]; strides: number[] } {
  const inStrides = shape.map((_, i) => shape.slice(i + 1).reduce((a, d) => a * d, 1));
  const dims: number[] = [];
  const strides: number[] = [];
  let prev = -2;
  for (const a of perm) {
    if (shape[a] === 1) continue;
    const last = dims.length - 1;
    // Output axis a follows output axis prev; they merge when a is prev's inner neighbour in the input too (skipping size-1 axes).
    if (last >= 0 && inStrides[prev]! === inStrides[a]! * shape[a]!) {
      dims[last] = dims[last]! * shape[a]!;
      strides[last] = inStrides[a]!;
    } else {
      dims.push(shape[a]!);
      strides.push(inStrides[a]!);
    }
    prev = a;
  }
  return { dims, strides };
}

function permuteCode(dims: readonly number[], strides: readonly number[]): string {
  const n = dims.reduce((a, d) => a * d, 1);
  const lines: string[] = [];
  for (let j = dims.length - 1; j >= 0; j--) {
    const term = strides[j] === 1 ? 'r' : `r * ${strides[j]}u`;
    if (j === 0) lines.push(`  src = src + ${term};`);
    else lines.push(`  src = src + (${strides[j] === 1 ? `r % ${dims[j]}u` : `(r % ${dims[j]}u) * ${strides[j]}u`});\n  r = r / ${dims[j]}u;`);
  }
  return `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${n}u) { return; }
  var r = i;
  var src = 0u;
${lines.join('\n')}
  y[i] = x[src];
}`;
}

/** y = x with its axes permuted: y.shape[j] = x.shape[perm[j]]. A new tensor even when nothing moves. */
export function permuteForward(e: Engine, x: Tensor, perm: readonly number[], out?: Tensor): Tensor {
  if (x.dtype !== 'f32') throw new Error(`permute: expects an f32 tensor, got ${x.dtype}`);
  const shape = permuteShape(x.shape, perm);
  const result = out ?? e.empty(shape, 'f32', 'permute');
  if (result.size !== x.size) throw new Error(`permute: output holds ${result.size} values, needs ${x.size}`);
  const { dims, strides } = permuteLayout(x.shape, perm);
  if (dims.length <= 1) {
    e.copy(x, result);
    return result;
  }
  const key = `permute:${dims.join(',')}:${strides.join(',')}`;
  e.run({ name: 'permute', key, code: () => permuteCode(dims, strides), bindings: [x, result], workgroups: grid(x.size, WG) });
  return result;
}
