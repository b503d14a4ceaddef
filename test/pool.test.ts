import { describe, expect, it } from 'vitest';
import { globalAvgPoolBackward, globalAvgPoolForward, maxPoolBackward, maxPoolForward, maxPoolForwardArgmax, poolOutputSize, type PoolOptions } from '../src/kernels/pool.js';
import { refGlobalAvgPool, refGlobalAvgPoolBackward, refMaxPool, refMaxPoolBackward, refPoolShape } from '../src/reference/pool.js';
import { globalAvgPool, maxPool2d } from '../src/nn/functional/index.js';
import { testEngine } from './helpers/engine.js';
import { dot, expectClose, FWD_TOL, GRAD_TOL, numericGrad, poisoned, randomArray, size } from './helpers/small-ops.js';

async function checkMaxPool(shape: number[], opts: PoolOptions, data: Float32Array, seed: number): Promise<void> {
  const e = await testEngine();
  await e.tidyAsync(async () => {
    const ref = refMaxPool(data, shape, opts);
    const x = e.upload(data, shape);
    const plain = maxPoolForward(e, x, opts, poisoned(e, ref.shape));
    const y = poisoned(e, ref.shape);
    const { argmax } = maxPoolForwardArgmax(e, x, opts, y);
    expect(y.shape).toEqual(ref.shape);
    expectClose(await plain.readF32(), ref.y, FWD_TOL, 'forward');
    expectClose(await y.readF32(), ref.y, FWD_TOL, 'forward with argmax');
    const gyData = randomArray(ref.y.length, seed + 1);
    const gy = e.upload(gyData, ref.shape);
    const gx = maxPoolBackward(e, gy, argmax, shape, opts, poisoned(e, shape));
    expectClose(await gx.readF32(), refMaxPoolBackward(gyData, ref.argmax, data.length), GRAD_TOL, 'backward');
  });
}

describe('max pooling', () => {
  it('output sizes: floor and ceil rounding', () => {
    expect(poolOutputSize(150, 2, 2)).toBe(75);
    expect(poolOutputSize(9, 2, 2)).toBe(4);
    expect(poolOutputSize(111, 3, 2, true)).toBe(Math.ceil((111 - 3) / 2) + 1);
    expect(poolOutputSize(112, 3, 2, true)).toBe(56);
    expect(poolOutputSize(112, 3, 2, false)).toBe(55);
    expect(refPoolShape([1, 112, 112, 4], { size: 3, stride: 2, ceilMode: true })).toEqual([1, 56, 56, 4]);
  });

  const cases: [number[], PoolOptions][] = [
    [[3, 7, 5, 6], { size: 2, stride: 2 }],
    [[3, 7, 5, 5], { size: 3, stride: 2, ceilMode: true }],
    [[2, 8, 9, 3], { size: 3, stride: 2, ceilMode: true }],
    [[2, 8, 9, 3], { size: 3, stride: 2 }],
    [[1, 6, 7, 1], { size: 3, stride: 1 }],
    // Channels in fours: the vec4 kernel, also with ceil-mode windows clipped at the border.
    [[2, 7, 9, 8], { size: 3, stride: 2, ceilMode: true }],
    [[3, 7, 5, 4], { size: 2, stride: 2 }],
  ];
  for (const [shape, opts] of cases) {
    it(`forward and backward on [${shape}] size ${opts.size} stride ${opts.stride}${opts.ceilMode ? ' ceil' : ''}`, async () => {
      await checkMaxPool(shape, opts, randomArray(size(shape), 11), 12);
    });
  }

  it('ties go to the first maximum in window order, in kernel and reference alike', async () => {
    const shape = [2, 9, 7, 3];
    // Few distinct values, so most windows hold ties (overlapping 3×3 windows share them too).
    const data = randomArray(size(shape), 21).map((v) => Math.round(v * 2));
    await checkMaxPool(shape, { size: 3, stride: 2, ceilMode: true }, data, 22);
    await checkMaxPool(shape, { size: 2, stride: 2 }, data, 23);
    // The same with 8 channels (vec4 loads and a per-component choice).
    const shape8 = [2, 9, 7, 8];
    const data8 = randomArray(size(shape8), 24).map((v) => Math.round(v * 2));
    await checkMaxPool(shape8, { size: 3, stride: 2, ceilMode: true }, data8, 25);
    await checkMaxPool(shape8, { size: 2, stride: 2 }, data8, 26);
  });

  it('VGG16 shapes at batch 1: 1×150×150×64 and 1×9×9×512, 2×2 stride 2', async () => {
    await checkMaxPool([1, 150, 150, 64], { size: 2, stride: 2 }, randomArray(150 * 150 * 64, 31), 32);
    await checkMaxPool([1, 9, 9, 512], { size: 2, stride: 2 }, randomArray(9 * 9 * 512, 33), 34);
  });

  it('SqueezeNet shape: 1×111×111×64, 3×3 stride 2, ceil mode', async () => {
    await checkMaxPool([1, 111, 111, 64], { size: 3, stride: 2, ceilMode: true }, randomArray(111 * 111 * 64, 41), 42);
  });

  it('the reference backward matches finite differences', () => {
    const shape = [2, 5, 6, 2];
    for (const opts of [{ size: 3, stride: 2, ceilMode: true }, { size: 2, stride: 2 }]) {
      // A permutation of distinct values: no ties, so the max is differentiable everywhere near x.
      const x = Float64Array.from(randomArray(size(shape), 51).map((_, i) => ((i * 37) % 60) / 10));
      const w = Float64Array.from(randomArray(refMaxPool(x, shape, opts).y.length, 52));
      const ref = refMaxPool(x, shape, opts);
      const analytic = refMaxPoolBackward(w, ref.argmax, x.length);
      const numeric = numericGrad((v) => dot(refMaxPool(v, shape, opts).y, w), x, 1e-4);
      expectClose(analytic, numeric, 1e-8, 'finite differences');
    }
  });

  it('maxPool2d records backward only when the input requires a gradient', async () => {
    const e = await testEngine();
    e.tidy(() => {
      const x = e.upload(randomArray(2 * 6 * 6 * 3, 61), [2, 6, 6, 3]);
      const before = e.tape.length;
      maxPool2d(x, { size: 2, stride: 2 });
      expect(e.tape.length).toBe(before);
      x.requiresGrad = true;
      e.noGrad(() => maxPool2d(x, { size: 2, stride: 2 }));
      expect(e.tape.length).toBe(before);
      maxPool2d(x, { size: 2, stride: 2 });
      expect(e.tape.length).toBe(before + 1);
      e.tape.clear();
    });
  });
});

describe('global average pooling', () => {
  for (const shape of [
    [3, 7, 5, 6],
    [2, 37, 37, 5],
    [1, 13, 13, 512],
  ]) {
    it(`forward and backward on [${shape}]`, async () => {
      const e = await testEngine();
      await e.tidyAsync(async () => {
        const [n, , , c] = shape as [number, number, number, number];
        const data = randomArray(size(shape), 71);
        const x = e.upload(data, shape);
        const y = globalAvgPoolForward(e, x, poisoned(e, [n, c]));
        expectClose(await y.readF32(), refGlobalAvgPool(data, shape), FWD_TOL, 'forward');
        const gyData = randomArray(n * c, 72);
        const gx = globalAvgPoolBackward(e, e.upload(gyData, [n, c]), shape, poisoned(e, shape));
        expectClose(await gx.readF32(), refGlobalAvgPoolBackward(gyData, shape), GRAD_TOL, 'backward');
      });
    });
  }

  it('the reference backward matches finite differences', () => {
    const shape = [2, 3, 4, 3];
    const x = Float64Array.from(randomArray(size(shape), 81));
    const w = Float64Array.from(randomArray(2 * 3, 82));
    const numeric = numericGrad((v) => dot(refGlobalAvgPool(v, shape), w), x);
    expectClose(refGlobalAvgPoolBackward(w, shape), numeric, 1e-8, 'finite differences');
  });

  it('globalAvgPool backpropagates through the tape', async () => {
    const e = await testEngine();
    const shape = [2, 3, 5, 7];
    const data = randomArray(size(shape), 91);
    const x = e.upload(data, shape);
    x.requiresGrad = true;
    e.tidy(() => {
      const y = globalAvgPool(x);
      e.tape.backward(y);
    });
    expectClose(await x.grad!.readF32(), refGlobalAvgPoolBackward(new Float64Array(14).fill(1), shape), GRAD_TOL, 'gradient');
    x.grad!.dispose();
    x.dispose();
  });
});
