import type { Engine, Tensor } from '../engine/index.js';
import { entry1d, f32, flatIndex, grid } from './common.js';

/**
 * Sums over the middle axis of a tensor viewed as [A, B, C] → [A, C] (times `scale`). Column sums for bias
 * gradients are A = 1; global average pooling is [N, H·W, C] with scale 1/(H·W). Long axes are reduced in
 * chunks over several passes, so no invocation loops over more than CHUNK rows and the work spreads over many
 * invocations even when A·C is small.
 */

const WG = 64;
const CHUNK = 256;

function sumAxis1Code(a: number, b: number, c: number, rows: number, chunks: number, scale: number): string {
  const n = a * chunks * c;
  const scaleExpr = scale === 1 ? 'acc' : `acc * ${f32(scale)}`;
  return `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${n}u) { return; }
  let col = i % ${c}u;
  let chunk = (i / ${c}u) % ${chunks}u;
  let row0 = chunk * ${rows}u;
  let row1 = min(row0 + ${rows}u, ${b}u);
  var base = (i / ${c * chunks}u) * ${b * c}u + row0 * ${c}u + col;
  var acc = 0.0;
  for (var r = row0; r < row1; r = r + 1u) {
    acc = acc + x[base];
    base = base + ${c}u;
  }
  out[i] = ${scaleExpr};
}`;
}

/** out[a, c] = scale · Σ_b x[a, b, c] for `x` holding A·B·C values in that order. */
export function sumAxis1(e: Engine, x: Tensor, dims: readonly [number, number, number], scale = 1, out?: Tensor): Tensor {
  const [a, b, c] = dims;
  if (a * b * c !== x.size) throw new Error(`sumAxis1: dims [${dims.join(', ')}] do not match a tensor of ${x.size} elements`);
  const result = out ?? e.empty([a, c], 'f32', 'sum_axis1');
  if (result.size !== a * c) throw new Error(`sumAxis1: output holds ${result.size} values, needs ${a * c}`);
  if (b <= CHUNK) {
    e.run({ name: 'reduce_sum_axis1', key: `sum_axis1:${a},${b},${c},${b},1,${scale}`, code: () => sumAxis1Code(a, b, c, b, 1, scale), bindings: [x, result], workgroups: grid(a * c, WG) });
    return result;
  }
  const chunks = Math.ceil(b / CHUNK);
  const partial = e.empty([a, chunks, c], 'f32', 'sum_axis1_partial');
  e.run({ name: 'reduce_sum_axis1', key: `sum_axis1:${a},${b},${c},${CHUNK},${chunks},1`, code: () => sumAxis1Code(a, b, c, CHUNK, chunks, 1), bindings: [x, partial], workgroups: grid(a * chunks * c, WG) });
  sumAxis1(e, partial, [a, chunks, c], scale, result);
  partial.dispose();
  return result;
}

/** Sums the rows of x viewed as [R, C] → [C] (bias gradients: R = N·H·W rows of C channels). */
export function columnSums(e: Engine, x: Tensor, columns: number, out?: Tensor): Tensor {
  if (x.size % columns !== 0) throw new Error(`columnSums: ${x.size} values are not rows of ${columns}`);
  const result = out ?? e.empty([columns], 'f32', 'column_sums');
  sumAxis1(e, x, [1, x.size / columns, columns], 1, result.reshape([1, columns])).dispose();
  return result;
}

/** scale · Σ x over every element → shape [1]. */
export function sumAll(e: Engine, x: Tensor, scale = 1, out?: Tensor): Tensor {
  const result = out ?? e.empty([1], 'f32', 'sum_all');
  sumAxis1(e, x, [1, x.size, 1], scale, result.reshape([1, 1])).dispose();
  return result;
}
