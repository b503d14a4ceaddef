import { describe, expect, it } from 'vitest';
import { depthwiseForward, depthwiseGradFilter, depthwiseShape, type DepthwiseActivation } from '../src/kernels/depthwise.js';
import { depthwiseBackward } from '../src/reference/depthwise.js';
import { expectClose, GRAD_TOL, poisoned, randomArray, relErr } from './helpers/small-ops.js';
import { testEngine } from './helpers/engine.js';

interface Case {
  n: number;
  h: number;
  w: number;
  c: number;
  stride: 1 | 2;
  act: DepthwiseActivation;
  bias: boolean;
}

// Odd sizes, batch 3, channel counts that are and are not multiples of 4 (vec4 and scalar paths), both strides,
// a 1×1 input, and MobileNetV2's widest layer (960 channels).
const cases: Case[] = [
  { n: 3, h: 7, w: 5, c: 6, stride: 1, act: 'linear', bias: true },
  { n: 3, h: 9, w: 6, c: 5, stride: 2, act: 'relu6', bias: true },
  { n: 2, h: 8, w: 8, c: 8, stride: 2, act: 'relu6', bias: true },
  { n: 3, h: 5, w: 7, c: 12, stride: 1, act: 'relu', bias: false },
  { n: 1, h: 3, w: 4, c: 960, stride: 2, act: 'relu6', bias: true },
  { n: 2, h: 1, w: 1, c: 3, stride: 2, act: 'linear', bias: true },
  // Enough positions × channels that each reduction slice sums more than the minimum chunk, with a ragged last slice.
  { n: 1, h: 45, w: 47, c: 132, stride: 1, act: 'relu6', bias: true },
];

function data(k: Case, seed: number) {
  const x = randomArray(k.n * k.h * k.w * k.c, seed, -3, 3);
  // Large enough weights that ReLU6 saturates above 6 as well as below 0.
  const w = randomArray(9 * k.c, seed + 1, -1.5, 1.5);
  const b = k.bias ? randomArray(k.c, seed + 2, -1, 1) : null;
  const s = depthwiseShape([k.n, k.h, k.w, k.c], k.stride);
  const gy = randomArray(k.n * s.ho * s.wo * k.c, seed + 3, -1, 1);
  return { x, w, b, gy, s };
}

describe('depthwise 3×3 kernels on the real adapter', () => {

  it('computes only the filter or only the bias gradient when only one is wanted', async () => {
    const e = await testEngine();
    const k = cases[1]!;
    const { x, w, b, gy, s } = data(k, 300);
    const xShape = [k.n, k.h, k.w, k.c];
    const tx = e.upload(x, xShape);
    const tw = e.upload(w, [3, 3, k.c, 1]);
    const tb = e.upload(b!, [k.c]);
    const tgy = e.upload(gy, [k.n, s.ho, s.wo, k.c]);
    const ty = depthwiseForward(e, tx, tw, tb, k.stride, k.act);
    const ref = depthwiseBackward(x, xShape, w, b, gy, { stride: k.stride, activation: k.act });
    const onlyBias = depthwiseGradFilter(e, tgy, ty, tx, k.stride, k.act, { filter: false, bias: true }, { gb: poisoned(e, [k.c]) });
    expect(onlyBias.gw).toBeNull();
    expectClose(await onlyBias.gb!.readF32(), ref.gb, GRAD_TOL, 'bias only');
    const onlyFilter = depthwiseGradFilter(e, tgy, ty, tx, k.stride, k.act, { filter: true, bias: false }, { gw: poisoned(e, [3, 3, k.c, 1]) });
    expect(onlyFilter.gb).toBeNull();
    expectClose(await onlyFilter.gw!.readF32(), ref.gw, GRAD_TOL, 'filter only');
    for (const t of [tx, tw, tb, tgy, ty, onlyBias.gb, onlyFilter.gw]) t?.dispose();
  });

  it('a NaN in the input reaches the output (never masked into a pass)', async () => {
    const e = await testEngine();
    const x = randomArray(2 * 5 * 5 * 4, 7);
    x[37] = NaN;
    const tx = e.upload(x, [2, 5, 5, 4]);
    const tw = e.upload(randomArray(36, 8), [3, 3, 4, 1]);
    const y = depthwiseForward(e, tx, tw, null, 1, 'linear');
    const out = await y.readF32();
    expect(out.some((v) => Number.isNaN(v))).toBe(true);
    expect(relErr(out, new Float64Array(out.length))).toBeNaN();
    for (const t of [tx, tw, y]) t.dispose();
  });

});
