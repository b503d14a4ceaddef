import { describe, expect, it } from 'vitest';
import { depthwiseForward, depthwiseGradFilter, depthwiseGradInput, depthwiseShape, type DepthwiseActivation } from '../src/kernels/depthwise.js';
import { relu6Backward, relu6Forward } from '../src/kernels/elementwise.js';
import { relu6 } from '../src/nn/functional/index.js';
import { depthwiseConv2d } from '../src/nn/functional/index.js';
import { depthwiseBackward, depthwiseForward as refForward } from '../src/reference/depthwise.js';
import { relu6GradRef, relu6Ref } from '../src/reference/relu6.js';
import { dot, expectClose, FWD_TOL, GRAD_TOL, numericGrad, poisoned, randomArray, relErr } from './helpers/small-ops.js';
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

function label(k: Case): string {
  return `${k.n}×${k.h}×${k.w}×${k.c} stride ${k.stride} ${k.act}${k.bias ? ' +bias' : ''}`;
}

function data(k: Case, seed: number) {
  const x = randomArray(k.n * k.h * k.w * k.c, seed, -3, 3);
  // Large enough weights that ReLU6 saturates above 6 as well as below 0.
  const w = randomArray(9 * k.c, seed + 1, -1.5, 1.5);
  const b = k.bias ? randomArray(k.c, seed + 2, -1, 1) : null;
  const s = depthwiseShape([k.n, k.h, k.w, k.c], k.stride);
  const gy = randomArray(k.n * s.ho * s.wo * k.c, seed + 3, -1, 1);
  return { x, w, b, gy, s };
}

describe('depthwise 3×3 reference', () => {
  it('matches central finite differences for x, w and b', () => {
    for (const k of [cases[0]!, cases[1]!, { n: 2, h: 4, w: 5, c: 3, stride: 2 as const, act: 'relu' as const, bias: true }]) {
      const { x, w, b, gy } = data(k, 11);
      const x64 = Float64Array.from(x);
      const w64 = Float64Array.from(w);
      const b64 = b ? Float64Array.from(b) : null;
      const xShape = [k.n, k.h, k.w, k.c];
      const opts = { stride: k.stride, activation: k.act };
      const loss = (xx: Float64Array, ww: Float64Array, bb: Float64Array | null): number => dot(refForward(xx, xShape, ww, bb, opts).y, gy);
      const g = depthwiseBackward(x64, xShape, w64, b64, gy, opts);
      expect(relErr(g.gx, numericGrad((v) => loss(v, w64, b64), x64)), `${label(k)} dx`).toBeLessThan(1e-6);
      expect(relErr(g.gw, numericGrad((v) => loss(x64, v, b64), w64)), `${label(k)} dw`).toBeLessThan(1e-6);
      if (b64) expect(relErr(g.gb, numericGrad((v) => loss(x64, w64, v), b64)), `${label(k)} db`).toBeLessThan(1e-6);
    }
  });
});

describe('depthwise 3×3 kernels on the real adapter', () => {
  it('forward matches the float64 reference', async () => {
    const e = await testEngine();
    for (const [i, k] of cases.entries()) {
      const { x, w, b, s } = data(k, 100 + i);
      const tx = e.upload(x, [k.n, k.h, k.w, k.c]);
      const tw = e.upload(w, [3, 3, k.c, 1]);
      const tb = b ? e.upload(b, [k.c]) : null;
      const out = poisoned(e, [k.n, s.ho, s.wo, k.c]);
      depthwiseForward(e, tx, tw, tb, k.stride, k.act, out);
      const ref = refForward(x, tx.shape, w, b, { stride: k.stride, activation: k.act });
      expect(out.shape).toEqual(ref.shape);
      expectClose(await out.readF32(), ref.y, FWD_TOL, `${label(k)} forward`);
      for (const t of [tx, tw, tb, out]) t?.dispose();
    }
  });

  it('grad-input, grad-filter and grad-bias match the float64 reference', async () => {
    const e = await testEngine();
    for (const [i, k] of cases.entries()) {
      const { x, w, b, gy, s } = data(k, 200 + i);
      const xShape = [k.n, k.h, k.w, k.c];
      const tx = e.upload(x, xShape);
      const tw = e.upload(w, [3, 3, k.c, 1]);
      const tb = b ? e.upload(b, [k.c]) : null;
      const tgy = e.upload(gy, [k.n, s.ho, s.wo, k.c]);
      const ty = depthwiseForward(e, tx, tw, tb, k.stride, k.act);
      const gx = poisoned(e, xShape);
      const gw = poisoned(e, [3, 3, k.c, 1]);
      const gb = poisoned(e, [k.c]);
      const mask = k.act === 'linear' ? null : ty;
      depthwiseGradInput(e, tgy, mask, tw, xShape, k.stride, k.act, gx);
      depthwiseGradFilter(e, tgy, mask, tx, k.stride, k.act, { filter: true, bias: k.bias }, { gw, gb });
      const ref = depthwiseBackward(x, xShape, w, b, gy, { stride: k.stride, activation: k.act });
      expectClose(await gx.readF32(), ref.gx, GRAD_TOL, `${label(k)} dx`);
      expectClose(await gw.readF32(), ref.gw, GRAD_TOL, `${label(k)} dw`);
      if (k.bias) expectClose(await gb.readF32(), ref.gb, GRAD_TOL, `${label(k)} db`);
      for (const t of [tx, tw, tb, tgy, ty, gx, gw, gb]) t?.dispose();
    }
  });

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

  it('the differentiable op records one tape entry and fills x.grad, w.grad, b.grad', async () => {
    const e = await testEngine();
    const k = cases[2]!;
    const { x, w, b, gy, s } = data(k, 400);
    const xShape = [k.n, k.h, k.w, k.c];
    const tx = e.upload(x, xShape);
    tx.requiresGrad = true;
    const tw = e.upload(w, [3, 3, k.c, 1]);
    const tb = e.upload(b!, [k.c]);
    for (const p of [tw, tb]) p.trainable = p.requiresGrad = true;
    const tgy = e.upload(gy, [k.n, s.ho, s.wo, k.c]);
    const y = depthwiseConv2d(tx, tw, tb, { stride: k.stride, activation: k.act });
    e.tape.backward(y, tgy);
    const ref = depthwiseBackward(x, xShape, w, b, gy, { stride: k.stride, activation: k.act });
    expectClose(await tx.grad!.readF32(), ref.gx, GRAD_TOL, 'x.grad');
    expectClose(await tw.grad!.readF32(), ref.gw, GRAD_TOL, 'w.grad');
    expectClose(await tb.grad!.readF32(), ref.gb, GRAD_TOL, 'b.grad');
    for (const t of [tx, tw, tb, tx.grad, tw.grad, tb.grad, y]) t?.dispose();
  });
});

describe('relu6 on the real adapter', () => {
  it('forward and backward match the reference, kinks included', async () => {
    const e = await testEngine();
    const x = randomArray(1031, 9, -4, 10);
    x[0] = 0;
    x[1] = 6;
    x[2] = -0;
    const gy = randomArray(1031, 10);
    const tx = e.upload(x, [1031]);
    const y = relu6Forward(e, tx, poisoned(e, [1031]));
    expectClose(await y.readF32(), relu6Ref(x), FWD_TOL, 'relu6');
    const tgy = e.upload(gy, [1031]);
    const gx = relu6Backward(e, tgy, y, poisoned(e, [1031]));
    expectClose(await gx.readF32(), relu6GradRef(x, gy), GRAD_TOL, 'relu6 grad');
    tx.requiresGrad = true;
    const y2 = relu6(tx);
    e.tape.backward(y2, tgy);
    expectClose(await tx.grad!.readF32(), relu6GradRef(x, gy), GRAD_TOL, 'relu6 tape grad');
    for (const t of [tx, y, tgy, gx, y2, tx.grad]) t?.dispose();
  });
});
