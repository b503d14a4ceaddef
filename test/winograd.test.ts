// Winograd F(2×2, 3×3) and F(4×4, 3×3) convolution (src/kernels/winograd.ts): the transform matrices in float64,
// then each variant against the float64 reference on odd sizes whose last blocks are cut off, both paddings,
// batches split into chunks (with a padding image in the last one), writes into a channel slice, and the cached
// filter transform, which must follow every write into the filter's buffer.
import { describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine/index.js';
import { batchedMatmul, matmulForward } from '../src/kernels/matmul.js';
import { conv2dForward, conv2dGeometry, conv2dGradInput } from '../src/kernels/conv2d.js';
import { chooseWinograd, gradInputGeometry, winogradApplies, winogradConv2d, winogradGradInput, winogradMaxBytes, winogradPlan } from '../src/kernels/winograd.js';
import { F2x3, F4x3, winogradTile, type WinogradMatrices } from '../src/kernels/winograd-matrices.js';
import { refConv2d, refConv2dBackward, refConvGeometry } from '../src/reference/conv2d.js';
import { expectClose, FWD_TOL, GRAD_TOL, poisoned, randomArray } from './helpers/small-ops.js';
import type { ConvCase } from './helpers/conv-case.js';
import { testEngine } from './helpers/engine.js';

/** 3×3 stride 1: the shapes Winograd computes. */
type Case = Omit<ConvCase, 'k' | 'stride'>;

function data(c: Case, seed: number) {
  const g = refConvGeometry({ n: c.n, h: c.h, w: c.w, cin: c.cin, kh: 3, kw: 3, cout: c.cout, stride: 1, padding: c.padding });
  return {
    g,
    x: randomArray(c.n * c.h * c.w * c.cin, seed, -1, 1),
    w: randomArray(9 * c.cin * c.cout, seed + 1, -0.3, 0.3),
    b: c.bias ? randomArray(c.cout, seed + 2, -0.5, 0.5) : null,
  };
}

const dispatches = (e: Engine, name: string): number => e.stats.dispatches.get(name) ?? 0;

const VARIANTS: [string, WinogradMatrices][] = [
  ['F(2×2, 3×3)', F2x3],
  ['F(4×4, 3×3)', F4x3],
];

describe('winograd transform matrices (float64)', () => {
  for (const [name, w] of VARIANTS) {
    it(`${name}: Aᵀ[(GgGᵀ) ⊙ (BᵀdB)]A is the ${w.m}×${w.m} valid correlation of a ${w.alpha}×${w.alpha} patch`, () => {
      for (let trial = 0; trial < 5; trial++) {
        const d = randomArray(w.alpha * w.alpha, 900 + trial);
        const g = randomArray(9, 950 + trial);
        const ref = new Float64Array(w.m * w.m);
        for (let y = 0; y < w.m; y++)
          for (let x = 0; x < w.m; x++)
            for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) ref[y * w.m + x]! += d[(y + ky) * w.alpha + x + kx]! * g[ky * 3 + kx]!;
        const got = winogradTile(w, d, g);
        for (let i = 0; i < ref.length; i++) expect(got[i]).toBeCloseTo(ref[i]!, 10);
      }
    });
  }
  it('picks F(4×4) where its blocks fit, F(2×2) where 4×4 blocks would mostly pad', () => {
    expect(chooseWinograd(conv2dGeometry([1, 37, 37, 256], [3, 3, 256, 256], 1, 'same'))).toBe(F4x3);
    expect(chooseWinograd(conv2dGeometry([1, 5, 5, 16], [3, 3, 16, 16], 1, 'same'))).toBe(F2x3);
  });
});

describe('winograd conv2d', () => {
  const cases: Case[] = [
    { n: 2, h: 7, w: 5, cin: 16, cout: 8, padding: 'same', relu: true, bias: true },
    { n: 1, h: 6, w: 9, cin: 20, cout: 36, padding: 'valid', relu: false, bias: true },
    { n: 3, h: 5, w: 5, cin: 32, cout: 12, padding: 'same', relu: false, bias: false },
    { n: 1, h: 2, w: 3, cin: 16, cout: 4, padding: 'same', relu: true, bias: true },
  ];
  for (const [i, c] of cases.entries()) {
    it(`${c.n}×${c.h}×${c.w}×${c.cin} → ${c.cout} ${c.padding}${c.relu ? ' relu' : ''}${c.bias ? ' +bias' : ''}: both variants match the reference`, async () => {
      const e = await testEngine();
      const { g, x, w, b } = data(c, 300 + 10 * i);
      const tx = e.upload(x, [c.n, c.h, c.w, c.cin]);
      const tw = e.upload(w, [3, 3, c.cin, c.cout]);
      const tb = b ? e.upload(b, [c.cout]) : null;
      const kg = conv2dGeometry(tx.shape, tw.shape, 1, c.padding);
      expect(winogradApplies(kg)).toBe(true);
      const ref = refConv2d(x, w, b, g, c.relu);
      for (const [name, variant] of VARIANTS) {
        const y = poisoned(e, [c.n, g.oh, g.ow, c.cout]);
        expect(winogradConv2d(e, tx, tw, tb, y, kg, c.relu ? 'relu' : 'linear', undefined, winogradMaxBytes(e), variant)).toBe(true);
        expectClose(await y.readF32(), ref, FWD_TOL, `${name} forward`);
        y.dispose();
      }
      // conv2d itself takes the Winograd path for this shape.
      const before = dispatches(e, 'winograd_input');
      const y = poisoned(e, [c.n, g.oh, g.ow, c.cout]);
      conv2dForward(e, tx, tw, tb, { padding: c.padding, relu: c.relu, out: y });
      expect(dispatches(e, 'winograd_input')).toBe(before + 1);
      expectClose(await y.readF32(), ref, FWD_TOL, 'conv2d forward');
      for (const t of [tx, tw, tb, y]) t?.dispose();
    });
  }

  it('input gradient: the output gradient convolved with the flipped filters, both variants, same and valid', async () => {
    const e = await testEngine();
    const gradCases: Case[] = [
      { n: 2, h: 7, w: 6, cin: 12, cout: 16, padding: 'same', relu: false, bias: false },
      { n: 1, h: 9, w: 7, cin: 8, cout: 20, padding: 'valid', relu: false, bias: false },
    ];
    for (const [i, c] of gradCases.entries()) {
      const { g, x, w } = data(c, 350 + i);
      const gy = randomArray(c.n * g.oh * g.ow * c.cout, 360 + i);
      const ref = refConv2dBackward(x, w, null, gy, g, false).gx;
      const tw = e.upload(w, [3, 3, c.cin, c.cout]);
      const tgy = e.upload(gy, [c.n, g.oh, g.ow, c.cout]);
      const kg = conv2dGeometry([c.n, c.h, c.w, c.cin], tw.shape, 1, c.padding);
      expect(gradInputGeometry(kg)).toMatchObject({ H: g.oh, W: g.ow, OH: c.h, OW: c.w, Cin: c.cout, Cout: c.cin, padTop: c.padding === 'same' ? 1 : 2 });
      for (const [name, variant] of VARIANTS) {
        const gx = poisoned(e, [c.n, c.h, c.w, c.cin]);
        expect(winogradGradInput(e, tgy, tw, gx, kg, winogradMaxBytes(e), variant)).toBe(true);
        expectClose(await gx.readF32(), ref, GRAD_TOL, `${name} grad input ${c.padding}`);
        gx.dispose();
      }
      const before = dispatches(e, 'winograd_gx_input');
      const gx = conv2dGradInput(e, tgy, tw, kg);
      expect(dispatches(e, 'winograd_gx_input')).toBe(before + 1);
      expectClose(await gx.readF32(), ref, GRAD_TOL, `conv2dGradInput ${c.padding}`);
      for (const t of [tw, tgy, gx]) t.dispose();
    }
    // Stride 2, 1×1 filters and too few output channels keep the direct kernel.
    expect(gradInputGeometry(conv2dGeometry([1, 8, 8, 16], [3, 3, 16, 16], 2, 'same'))).toBeNull();
    expect(gradInputGeometry(conv2dGeometry([1, 8, 8, 16], [1, 1, 16, 16], 1, 'same'))).toBeNull();
    expect(gradInputGeometry(conv2dGeometry([1, 8, 8, 16], [3, 3, 16, 8], 1, 'same'))).toBeNull();
  });

  it('runs a batch in chunks that fit the byte limit, the last one padded with an empty image', async () => {
    const e = await testEngine();
    const c: Case = { n: 5, h: 7, w: 6, cin: 16, cout: 8, padding: 'same', relu: true, bias: true };
    const { g, x, w, b } = data(c, 400);
    const kg = conv2dGeometry([c.n, c.h, c.w, c.cin], [3, 3, c.cin, c.cout], 1, 'same');
    const perImage = 16 * 4 * 3 * c.cin * 4; // F(2×2): 4×3 blocks of 2×2
    const plan = winogradPlan(kg, 2 * perImage, F2x3)!;
    expect(plan).toEqual({ w: F2x3, TH: 4, TW: 3, T: 12, chunk: 2, chunks: 3 });
    expect(winogradPlan(kg, perImage - 1, F2x3)).toBeNull();
    const tx = e.upload(x, [c.n, c.h, c.w, c.cin]);
    const tw = e.upload(w, [3, 3, c.cin, c.cout]);
    const tb = e.upload(b!, [c.cout]);
    const y = poisoned(e, [c.n, g.oh, g.ow, c.cout]);
    const before = dispatches(e, 'winograd_input');
    expect(winogradConv2d(e, tx, tw, tb, y, kg, 'relu', undefined, 2 * perImage, F2x3)).toBe(true);
    expect(dispatches(e, 'winograd_input')).toBe(before + 3);
    expectClose(await y.readF32(), refConv2d(x, w, b, g, true), FWD_TOL, 'chunked winograd forward');
    // Too little room for one image: nothing runs, the caller falls back to the direct kernel.
    expect(winogradConv2d(e, tx, tw, tb, y, kg, 'relu', undefined, perImage - 1, F2x3)).toBe(false);
    for (const t of [tx, tw, tb, y]) t.dispose();
  });

  it('writes a channel slice of a wider output and leaves the other channels alone', async () => {
    const e = await testEngine();
    const c: Case = { n: 2, h: 5, w: 6, cin: 16, cout: 8, padding: 'same', relu: true, bias: true };
    const { g, x, w, b } = data(c, 500);
    const tx = e.upload(x, [c.n, c.h, c.w, c.cin]);
    const tw = e.upload(w, [3, 3, c.cin, c.cout]);
    const tb = e.upload(b!, [c.cout]);
    const C = 16;
    const out = e.full([c.n, c.h, c.w, C], 7);
    conv2dForward(e, tx, tw, tb, { relu: true, out, outChannelOffset: 4 });
    const got = await out.readF32();
    const ref = refConv2d(x, w, b, g, true);
    const slice = new Float32Array(ref.length);
    for (let p = 0; p < c.n * c.h * c.w; p++) {
      for (let ch = 0; ch < C; ch++) {
        const v = got[p * C + ch]!;
        if (ch >= 4 && ch < 12) slice[p * c.cout + ch - 4] = v;
        else expect(v).toBe(7);
      }
    }
    expectClose(slice, ref, FWD_TOL, 'slice');
    for (const t of [tx, tw, tb, out]) t.dispose();
  });

  it('transforms a filter once, again after any write into its buffer, and frees the transform with the filter', async () => {
    const e = await testEngine();
    const c: Case = { n: 1, h: 6, w: 6, cin: 16, cout: 8, padding: 'same', relu: false, bias: false };
    const { g, x, w } = data(c, 600);
    const tx = e.upload(x, [1, 6, 6, 16]);
    const live = e.pool.counters.liveBuffers;
    const tw = e.upload(w, [3, 3, 16, 8]);
    const run = async (wHost: Float32Array, what: string) => {
      const y = conv2dForward(e, tx, tw, null);
      expectClose(await y.readF32(), refConv2d(x, wHost, null, g, false), FWD_TOL, what);
      y.dispose();
    };
    const transforms = () => dispatches(e, 'winograd_filter');
    const t0 = transforms();
    await run(w, 'first');
    await run(w, 'second');
    expect(transforms()).toBe(t0 + 1);

    const w2 = randomArray(w.length, 601, -0.3, 0.3);
    e.write(tw, w2);
    await run(w2, 'after write');
    expect(transforms()).toBe(t0 + 2);

    // A kernel writing the filter through a view of its buffer (w3 = A·B into the [144, 8] view).
    const a = randomArray(144 * 4, 602);
    const bm = randomArray(4 * 8, 603);
    const ta = e.upload(a, [144, 4]);
    const tbm = e.upload(bm, [4, 8]);
    const view = tw.reshape([144, 8]);
    matmulForward(e, ta, tbm, { out: view });
    const w3 = Float32Array.from(await view.readF32());
    await run(w3, 'after a kernel wrote it');
    expect(transforms()).toBe(t0 + 3);

    const other = e.upload(w, [3, 3, 16, 8]);
    e.copy(other, tw);
    await run(w, 'after copy');
    expect(transforms()).toBe(t0 + 4);

    for (const t of [ta, tbm, view, other, tw]) t.dispose();
    expect(e.pool.counters.liveBuffers).toBe(live);
    tx.dispose();
  });
});

describe('batched matmul', () => {
  it('multiplies every slice, vec4 and scalar layouts', async () => {
    const e = await testEngine();
    for (const [S, M, K, N] of [
      [3, 5, 8, 12],
      [2, 7, 6, 5],
    ] as const) {
      const a = randomArray(S * M * K, 700 + M);
      const b = randomArray(S * K * N, 800 + M);
      const ref = new Float64Array(S * M * N);
      for (let s = 0; s < S; s++)
        for (let i = 0; i < M; i++)
          for (let j = 0; j < N; j++) {
            let acc = 0;
            for (let k = 0; k < K; k++) acc += a[(s * M + i) * K + k]! * b[(s * K + k) * N + j]!;
            ref[(s * M + i) * N + j] = acc;
          }
      const ta = e.upload(a, [S, M, K]);
      const tb = e.upload(b, [S, K, N]);
      const c = poisoned(e, [S, M, N]);
      batchedMatmul(e, ta, tb, c);
      expectClose(await c.readF32(), ref, FWD_TOL, `[${S}, ${M}, ${K}]·[${S}, ${K}, ${N}]`);
      for (const t of [ta, tb, c]) t.dispose();
    }
    const e2 = await testEngine();
    expect(() => batchedMatmul(e2, e2.empty([2, 3, 4]), e2.empty([3, 4, 5]))).toThrow(/\[S, M, K\] and \[S, K, N\]/);
  });
});
