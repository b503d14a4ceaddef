import { describe, expect, it } from 'vitest';
import { addForward, sigmoidForward } from '../src/kernels/elementwise.js';
import { columnSums, sumAll, sumAxis1 } from '../src/kernels/reduce.js';
import { refSigmoid } from '../src/reference/elementwise.js';
import { testEngine } from './helpers/engine.js';
import { expectClose, FWD_TOL, poisoned, randomArray } from './helpers/small-ops.js';

describe('elementwise kernels', () => {

  it('sigmoid is accurate far into both tails (relative to each value)', async () => {
    const e = await testEngine();
    const xs = Float32Array.from([-80, -30, -10, -1e-3, 0, 1e-3, 10, 30, 80]);
    const y = await e.tidy(() => sigmoidForward(e, e.upload(xs, [xs.length]))).readF32();
    const ref = refSigmoid(xs);
    for (let i = 0; i < xs.length; i++) expect(Math.abs(y[i]! - ref[i]!) / ref[i]!).toBeLessThan(1e-5);
  });

  it('refuses tensors of different sizes', async () => {
    const e = await testEngine();
    e.tidy(() => expect(() => addForward(e, e.full([3], 1), e.full([4], 1))).toThrow(/differ/));
  });
});

describe('reductions', () => {
  for (const [a, b, c] of [
    [1, 22500, 64],
    [3, 7, 5],
    [2, 300, 3],
    [1, 70000, 1],
    [4, 256, 9],
    [2, 257, 9],
  ] as [number, number, number][]) {
    it(`sums the middle axis of [${a}, ${b}, ${c}]`, async () => {
      const e = await testEngine();
      await e.tidyAsync(async () => {
        const data = randomArray(a * b * c, 6);
        const ref = new Float64Array(a * c);
        for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) for (let k = 0; k < c; k++) ref[i * c + k]! += data[(i * b + j) * c + k]! * 0.5;
        const out = sumAxis1(e, e.upload(data, [a, b, c]), [a, b, c], 0.5, poisoned(e, [a, c]));
        expectClose(await out.readF32(), ref, FWD_TOL, 'sum');
      });
    });
  }

  it('column sums and the sum of everything', async () => {
    const e = await testEngine();
    await e.tidyAsync(async () => {
      const [rows, cols] = [1234, 13];
      const data = randomArray(rows * cols, 7);
      const x = e.upload(data, [rows, cols]);
      const ref = new Float64Array(cols);
      for (let r = 0; r < rows; r++) for (let k = 0; k < cols; k++) ref[k]! += data[r * cols + k]!;
      expectClose(await columnSums(e, x, cols, poisoned(e, [cols])).readF32(), ref, FWD_TOL, 'column sums');
      const total = ref.reduce((s, v) => s + v, 0);
      expectClose(await sumAll(e, x, 1, poisoned(e, [1])).readF32(), [total], FWD_TOL, 'sum of all');
    });
  });
});
