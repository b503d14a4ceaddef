import type { Engine, Tensor } from '../engine/index.js';
import { entry1d, flatIndex, grid } from './common.js';

/**
 * Per-image affine warp of a batch (Keras ImageDataGenerator augmentation), one thread per output pixel: output
 * (row r, col c) of image n samples the input at M_n · (r, c, 1) bilinearly, points outside the image clamped to the
 * nearest edge pixel (fill 'nearest'). M is n × 6 floats [a00, a01, a02, a10, a11, a12] uploaded once per batch
 * (see augmentParamsToMatrix), so new random parameters never recompile the kernel. f32 NHWC in and out.
 */

const WG = 64;

export function augmentCode(n: number, h: number, w: number, c: number): string {
  return `@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> M: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
${entry1d(WG)} {
  let p = ${flatIndex(WG)};
  if (p >= ${n * h * w}u) { return; }
  let b = p / ${h * w}u;
  let rc = p % ${h * w}u;
  let r = f32(rc / ${w}u);
  let col = f32(rc % ${w}u);
  let m = b * 6u;
  // Clamping to [-1, size] first keeps floor() and the integer conversion in range without changing the result.
  let sr = clamp(M[m] * r + M[m + 1u] * col + M[m + 2u], -1.0, ${h}.0);
  let sc = clamp(M[m + 3u] * r + M[m + 4u] * col + M[m + 5u], -1.0, ${w}.0);
  let r0f = floor(sr);
  let c0f = floor(sc);
  let fr = sr - r0f;
  let fc = sc - c0f;
  let r0 = i32(r0f);
  let c0 = i32(c0f);
  let ra = u32(clamp(r0, 0, ${h - 1}));
  let rb = u32(clamp(r0 + 1, 0, ${h - 1}));
  let ca = u32(clamp(c0, 0, ${w - 1}));
  let cb = u32(clamp(c0 + 1, 0, ${w - 1}));
  let base = b * ${h * w * c}u;
  let i00 = base + (ra * ${w}u + ca) * ${c}u;
  let i01 = base + (ra * ${w}u + cb) * ${c}u;
  let i10 = base + (rb * ${w}u + ca) * ${c}u;
  let i11 = base + (rb * ${w}u + cb) * ${c}u;
  let o = p * ${c}u;
  for (var k = 0u; k < ${c}u; k++) {
    let top = (1.0 - fc) * X[i00 + k] + fc * X[i01 + k];
    let bottom = (1.0 - fc) * X[i10 + k] + fc * X[i11 + k];
    Y[o + k] = (1.0 - fr) * top + fr * bottom;
  }
}`;
}

/** Warps every image of `x` ([N, H, W, C] f32) by its row of `matrices` ([N, 6] f32); writes into `out` when given. */
export function augment(e: Engine, x: Tensor, matrices: Tensor, out?: Tensor): Tensor {
  if (x.rank !== 4 || x.dtype !== 'f32') throw new Error(`augment: input must be f32 [N, H, W, C], got ${x.dtype} [${x.shape.join(', ')}]`);
  const [n, h, w, c] = x.shape as [number, number, number, number];
  if (matrices.dtype !== 'f32' || matrices.size !== n * 6) throw new Error(`augment: matrices must be f32 [${n}, 6], got ${matrices.dtype} [${matrices.shape.join(', ')}]`);
  const y = out ?? e.empty(x.shape, 'f32', 'augment');
  if (y.dtype !== 'f32' || y.size !== x.size) throw new Error(`augment: output must be f32 with ${x.size} elements`);
  e.run({ name: 'augment_affine', key: `augment_affine:${n},${h},${w},${c}`, code: () => augmentCode(n, h, w, c), bindings: [x, matrices, y], workgroups: grid(n * h * w, WG) });
  return y;
}

/** `augment` with the matrices given on the host: one upload of N×6 floats, released once the dispatch is recorded. */
export function augmentWithMatrices(e: Engine, x: Tensor, matrices: Float32Array, out?: Tensor): Tensor {
  const m = e.upload(matrices, [matrices.length / 6, 6]);
  try {
    return augment(e, x, m, out);
  } finally {
    m.dispose();
  }
}
