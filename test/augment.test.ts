import { describe, expect, it } from 'vitest';
import { augmentParamsToMatrix, BOOK_AUGMENTATION, IDENTITY_AUGMENT, sampleAugmentBatch, type AugmentParams } from '../src/data/augment-params.js';
import { augment, augmentWithMatrices } from '../src/kernels/augment.js';
import { affineWarpRef } from '../src/reference/augment.js';
import { Rng } from '../src/util/rng.js';
import { testEngine } from './helpers/engine.js';

const N = 3;
const H = 20;
const W = 24;
const C = 3;
const SHAPE = [N, H, W, C] as const;

function randomImages(seed: number): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: N * H * W * C }, () => r.next());
}

function matricesOf(params: AugmentParams[]): Float32Array {
  const m = new Float32Array(params.length * 6);
  params.forEach((p, i) => m.set(augmentParamsToMatrix(p, H, W), i * 6));
  return m;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    m = Number.isNaN(d) ? Infinity : Math.max(m, d);
  }
  return m;
}

describe('augmentation kernel', () => {
  it('equals the float64 reference warp on random images and random book parameters', async () => {
    const e = await testEngine();
    for (const seed of [1, 2]) {
      const img = randomImages(seed);
      const { matrices } = sampleAugmentBatch(new Rng(100 + seed), BOOK_AUGMENTATION, N, H, W);
      const x = e.upload(img, [...SHAPE]);
      const m = e.upload(matrices, [N, 6]);
      const out = e.full([...SHAPE], NaN);
      augment(e, x, m, out);
      const y = await out.readF32();
      expect(maxAbsDiff(y, affineWarpRef(img, SHAPE, matrices))).toBeLessThanOrEqual(1e-3);
      for (const t of [x, m, out]) t.dispose();
    }
  });

  it('gives the input back for identity parameters, and after two flips', async () => {
    const e = await testEngine();
    const img = randomImages(3);
    const x = e.upload(img, [...SHAPE]);
    const id = e.upload(matricesOf([IDENTITY_AUGMENT, IDENTITY_AUGMENT, IDENTITY_AUGMENT]), [N, 6]);
    const out = e.full([...SHAPE], NaN);
    augment(e, x, id, out);
    expect(maxAbsDiff(await out.readF32(), img)).toBe(0);

    const flip = { ...IDENTITY_AUGMENT, flipHorizontal: true };
    const f = e.upload(matricesOf([flip, flip, flip]), [N, 6]);
    const once = e.full([...SHAPE], NaN);
    const twice = e.full([...SHAPE], NaN);
    augment(e, x, f, once);
    augment(e, once, f, twice);
    const y1 = await once.readF32();
    expect(y1[0]).toBe(img[(W - 1) * C]);
    expect(maxAbsDiff(y1, affineWarpRef(img, SHAPE, matricesOf([flip, flip, flip])))).toBe(0);
    expect(maxAbsDiff(await twice.readF32(), img)).toBe(0);
    for (const t of [x, id, out, f, once, twice]) t.dispose();
  });

  it('the same seed gives the same batch; new parameters reuse the compiled pipeline', async () => {
    const e = await testEngine();
    const img = randomImages(4);
    const x = e.upload(img, [...SHAPE]);
    const run = async (seed: number) => {
      const m = e.upload(sampleAugmentBatch(new Rng(seed), BOOK_AUGMENTATION, N, H, W).matrices, [N, 6]);
      const out = e.full([...SHAPE], NaN);
      augment(e, x, m, out);
      const y = await out.readF32();
      m.dispose();
      out.dispose();
      return y;
    };
    const a = await run(7);
    const missesAfterFirst = e.pipelines.misses;
    const b = await run(7);
    const c = await run(8);
    expect(b).toEqual(a);
    expect(maxAbsDiff(a, c)).toBeGreaterThan(0.01);
    expect(e.pipelines.misses).toBe(missesAfterFirst);
    // Host matrices: the uploaded parameter tensor is released, the result is the same.
    const live = e.pool.counters.liveBuffers;
    const y = augmentWithMatrices(e, x, sampleAugmentBatch(new Rng(7), BOOK_AUGMENTATION, N, H, W).matrices);
    expect(await y.readF32()).toEqual(a);
    expect(e.pool.counters.liveBuffers).toBe(live + 1);
    y.dispose();
    x.dispose();
  });

  it('fills from the nearest edge pixel when the transform reaches outside the image', async () => {
    const e = await testEngine();
    const img = randomImages(5);
    // Big shifts and zoom-out: most samples fall outside.
    const params: AugmentParams[] = [
      { ...IDENTITY_AUGMENT, tx: 15, ty: -20 },
      { ...IDENTITY_AUGMENT, zx: 3, zy: 3, theta: 45 },
      { ...IDENTITY_AUGMENT, tx: -1e6, ty: 1e6 },
    ];
    const matrices = matricesOf(params);
    const x = e.upload(img, [...SHAPE]);
    const m = e.upload(matrices, [N, 6]);
    const y = await augment(e, x, m).readF32();
    expect(maxAbsDiff(y, affineWarpRef(img, SHAPE, matrices))).toBeLessThanOrEqual(1e-3);
    // Image 2 is shifted far up-right of the image: every output pixel is its edge pixel (row 0, column W − 1).
    const corner = Array.from(img.subarray(2 * H * W * C + (W - 1) * C, 2 * H * W * C + W * C));
    for (let p = 0; p < H * W; p++) expect(Array.from(y.subarray((2 * H * W + p) * C, (2 * H * W + p + 1) * C))).toEqual(corner);
    x.dispose();
    m.dispose();
  });
});
