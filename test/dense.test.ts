import { describe, expect, it } from 'vitest';
import type { Engine, Tensor } from '../src/engine/index.js';
import { matmulForward, reluMaskColumnSums } from '../src/kernels/matmul.js';
import { dense } from '../src/nn/functional/index.js';
import { refDense, refDenseBackward, refMatmul } from '../src/reference/matmul.js';
import { expectClose, FWD_TOL, GRAD_TOL, poisoned, randomArray } from './helpers/small-ops.js';
import { testEngine } from './helpers/engine.js';

function param(e: Engine, v: Float32Array, shape: number[]): Tensor {
  const t = e.upload(v, shape);
  t.requiresGrad = true;
  t.trainable = true;
  return t;
}

describe('matmul kernel against the float64 reference', () => {
  // Sizes that are and are not multiples of 4 in each dimension (vec4 and scalar loads, a ragged last K chunk),
  // more rows and columns than one tile holds, and every transpose combination.
  const shapes: [number, number, number][] = [
    [5, 7, 3],
    [37, 70, 41],
    [64, 36, 20],
    [20, 256, 100],
  ];
  for (const [M, N, K] of shapes) {
    for (const [transA, transB] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      it(`${M}×${K} · ${K}×${N}${transA ? ' Aᵀ' : ''}${transB ? ' Bᵀ' : ''}`, async () => {
        const e = await testEngine();
        const a = randomArray(M * K, M + K, -1, 1);
        const b = randomArray(K * N, N + K, -1, 1);
        const ta = e.upload(a, transA ? [K, M] : [M, K]);
        const tb = e.upload(b, transB ? [N, K] : [K, N]);
        const out = poisoned(e, [M, N]);
        matmulForward(e, ta, tb, { transA, transB, out });
        expectClose(await out.readF32(), refMatmul(a, b, M, N, K, transA, transB), FWD_TOL, 'product');
        for (const t of [ta, tb, out]) t.dispose();
      });
    }
  }

  it('bias and ReLU epilogue, and the ReLU-masked column sums', async () => {
    const e = await testEngine();
    const [N, K, M] = [13, 24, 30];
    const x = randomArray(N * K, 5, -1, 1);
    const w = randomArray(K * M, 6, -1, 1);
    const b = randomArray(M, 7, -1, 1);
    const gy = randomArray(N * M, 8);
    const tx = e.upload(x, [N, K]);
    const tw = e.upload(w, [K, M]);
    const tb = e.upload(b, [M]);
    const y = poisoned(e, [N, M]);
    matmulForward(e, tx, tw, { bias: tb, relu: true, out: y });
    expectClose(await y.readF32(), refDense(x, w, b, N, K, M, true), FWD_TOL, 'dense forward');
    const tgy = e.upload(gy, [N, M]);
    const { masked, sums } = reluMaskColumnSums(e, tgy, y, { masked: true, sums: true });
    const ref = refDenseBackward(x, w, b, gy, N, K, M, true);
    const z = refDense(x, w, b, N, K, M, false);
    expectClose(await masked!.readF32(), Float64Array.from(gy, (g, i) => (z[i]! > 0 ? g : 0)), FWD_TOL, 'masked gradient');
    expectClose(await sums!.readF32(), ref.gb, GRAD_TOL, 'bias gradient');
    for (const t of [tx, tw, tb, y, tgy, masked, sums]) t?.dispose();
  });

  it('column sums over many row blocks', async () => {
    const e = await testEngine();
    const [R, C] = [1000, 6];
    const g = randomArray(R * C, 9);
    const t = e.upload(g, [R, C]);
    const { sums } = reluMaskColumnSums(e, t, null, { masked: false, sums: true });
    const ref = new Float64Array(C);
    g.forEach((v, i) => (ref[i % C] += v));
    expectClose(await sums!.readF32(), ref, GRAD_TOL, 'sums');
    t.dispose();
    sums!.dispose();
  });
});

describe('dense and matmul on the autograd tape', () => {

  it('frozen weights get no gradient and no weight-gradient product runs', async () => {
    const e = await testEngine();
    const [N, K, M] = [5, 12, 8];
    const x = e.upload(randomArray(N * K, 20), [N, K]);
    const w = e.upload(randomArray(K * M, 21), [K, M]);
    const b = param(e, randomArray(M, 22), [M]);
    e.resetStats();
    e.tidy(() => {
      const y = dense(x, w, b, { relu: true });
      e.tape.backward(y, e.upload(randomArray(N * M, 23), [N, M]));
    });
    // Only the forward product: neither x nor w needs a gradient.
    expect(e.stats.dispatches.get('matmul')).toBe(1);
    expect(e.stats.dispatches.get('matmul_tA') ?? 0).toBe(0);
    expect(e.stats.dispatches.get('matmul_tB') ?? 0).toBe(0);
    expect(w.grad).toBeNull();
    expect(b.grad).not.toBeNull();
    for (const t of [x, w, b, b.grad]) t?.dispose();
  });

});
