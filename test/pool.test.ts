import { describe, expect, it } from 'vitest';
import { depthwiseForward, depthwiseGeneralForward } from '../src/kernels/depthwise.js';
import { maxPool2dBackward, maxPool2dForward, maxPoolBackward, maxPoolForward, maxPoolForwardArgmax, poolOutputSize, type PoolOptions } from '../src/kernels/pool.js';
import { avgPool2d, depthwiseConv2d, F32_LOWEST, maxPool2d, pad2d } from '../src/nn/ops/index.js';
import { refMaxPool, refMaxPool2d, refMaxPoolBackward, refPoolShape } from '../src/reference/pool.js';
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

describe('ONNX pooling, padding and general depthwise: what the op table test cannot express', () => {
  it('pad2d fills exactly F32_LOWEST and −∞, and max-pooling that equals max-pooling with pads, bit for bit', async () => {
    const e = await testEngine();
    await e.tidyAsync(async () => {
      const shape = [2, 5, 6, 3];
      const x = e.upload(randomArray(size(shape), 31, -5, 5), shape);
      const low = await pad2d(x, [1, 2, 2, 1], 'constant', F32_LOWEST).readF32();
      const inf = await pad2d(x, [1, 2, 2, 1], 'constant', -Infinity).readF32();
      expect(low[0]).toBe(F32_LOWEST);
      expect(inf[0]).toBe(-Infinity);
      expect(low.filter((v) => v === F32_LOWEST).length).toBe(low.length - size(shape));
      expect(inf.filter((v) => v === -Infinity).length).toBe(inf.length - size(shape));
      const win = { kernel: [3, 3] as const, strides: [2, 2] as const };
      const padded = await maxPool2d(pad2d(x, [1, 1, 1, 1], 'constant', -Infinity), win).readF32();
      const direct = await maxPool2d(x, { ...win, pads: [1, 1, 1, 1] }).readF32();
      expect(Array.from(direct)).toEqual(Array.from(padded));
      expect(() => pad2d(x, [0, -1, 0, 0])).toThrow(/negative pads/);
      expect(() => pad2d(x, [0, 1, 0, 0], 'constant', NaN)).toThrow(/NaN/);
    });
  });

  it('ties with padding: the first input cell in window order wins, in kernel and reference alike', async () => {
    const e = await testEngine();
    await e.tidyAsync(async () => {
      for (const c of [3, 4]) {
        const shape = [2, 7, 8, c];
        const data = randomArray(size(shape), 41 + c).map((v) => Math.round(v * 2));
        const w = { kernel: [3, 3] as const, strides: [2, 2] as const, pads: [1, 1, 1, 1] as const, dilations: [1, 1] as const, ceilMode: true };
        const ref = refMaxPool2d(data, shape, w);
        const { y, argmax } = maxPool2dForward(e, e.upload(data, shape), w, true);
        expect(Array.from(await y.readF32())).toEqual(Array.from(ref.y));
        const gyData = randomArray(ref.y.length, 50 + c);
        const gx = maxPool2dBackward(e, e.upload(gyData, ref.shape), argmax!, shape, w, poisoned(e, shape));
        expectClose(await gx.readF32(), refMaxPoolBackward(gyData, ref.argmax, data.length), GRAD_TOL, 'backward');
      }
    });
  });

  it('windows that hold no input cell are refused where their value is undefined', async () => {
    const e = await testEngine();
    await e.tidyAsync(async () => {
      const x = e.upload(randomArray(2 * 3 * 3, 61), [1, 3, 3, 2]);
      const opts = { kernel: [2, 2] as const, pads: [2, 2, 2, 2] as const };
      expect(() => maxPool2d(x, opts)).toThrow(/no input cell/);
      expect(() => avgPool2d(x, opts)).toThrow(/no input cell/);
      expect(avgPool2d(x, { ...opts, countIncludePad: true }).shape).toEqual([1, 6, 6, 2]);
      expect(() => maxPool2d(x, { kernel: [4, 4] })).toThrow(/smaller than/);
    });
  });

  it('the old entry points run the original kernels: maxPool2d({ size, stride }) and 3×3 pad-1 depthwise, bit for bit', async () => {
    const e = await testEngine();
    await e.tidyAsync(async () => {
      const shape = [2, 9, 9, 8];
      const x = e.upload(randomArray(size(shape), 71, -3, 3), shape);
      const opts = { size: 3, stride: 2, ceilMode: true };
      expect(Array.from(await maxPool2d(x, opts).readF32())).toEqual(Array.from(await maxPoolForward(e, x, opts).readF32()));
      const w = e.upload(randomArray(9 * 8, 72), [3, 3, 8, 1]);
      const b = e.upload(randomArray(8, 73), [8]);
      for (const stride of [1, 2] as const) {
        const old = await depthwiseForward(e, x, w, b, stride, 'relu6').readF32();
        expect(Array.from(await depthwiseConv2d(x, w, b, { stride, activation: 'relu6' }).readF32())).toEqual(Array.from(old));
        const explicit = depthwiseConv2d(x, w, b, { stride: [stride, stride], activation: 'relu6', kernel: [3, 3], pads: [1, 1, 1, 1], dilation: 1 });
        expect(Array.from(await explicit.readF32())).toEqual(Array.from(old));
      }
      // The general kernel on the same 3×3 pad-1 window agrees with the original to rounding.
      const general = depthwiseGeneralForward(e, x, w, b, { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1] }, 'relu6');
      expectClose(await general.readF32(), await depthwiseForward(e, x, w, b, 2, 'relu6').readF32(), FWD_TOL, 'general vs original');
      expect(() => depthwiseConv2d(x, w, b, { kernel: [5, 5], pads: [2, 2, 2, 2] })).toThrow(/filter must be \[5, 5, 8, 1\]/);
    });
  });
});
