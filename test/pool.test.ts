import { describe, expect, it } from 'vitest';
import { maxPoolBackward, maxPoolForward, maxPoolForwardArgmax, poolOutputSize, type PoolOptions } from '../src/kernels/pool.js';
import { refMaxPool, refMaxPoolBackward, refPoolShape } from '../src/reference/pool.js';
import { testEngine } from './helpers/engine.js';
import { expectClose, FWD_TOL, GRAD_TOL, poisoned, randomArray, size } from './helpers/small-ops.js';

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

});
