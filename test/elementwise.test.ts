import { describe, expect, it } from 'vitest';
import { addForward, reluBackward, reluForward, sigmoidBackward, sigmoidForward } from '../src/kernels/elementwise.js';
import { columnSums, sumAll, sumAxis1 } from '../src/kernels/reduce.js';
import { refAdd, refRelu, refReluBackward, refSigmoid, refSigmoidBackward } from '../src/reference/elementwise.js';
import { testEngine } from './helpers/engine.js';
import { dot, expectClose, FWD_TOL, GRAD_TOL, numericGrad, poisoned, randomArray, size } from './helpers/small-ops.js';

const SHAPES = [[3, 7, 5, 6], [1, 9, 9, 512], [5], [2, 75, 75, 64]];

describe('elementwise kernels', () => {
  for (const shape of SHAPES) {
    it(`relu, sigmoid, add forward and backward on [${shape}]`, async () => {
      const e = await testEngine();
      await e.tidyAsync(async () => {
        const n = size(shape);
        // Wide range with exact zeros: sigmoid saturates at both ends, relu meets its kink.
        const xData = randomArray(n, 1, -30, 30).map((v, i) => (i % 17 === 0 ? 0 : v));
        const bData = randomArray(n, 2);
        const gyData = randomArray(n, 3);
        const x = e.upload(xData, shape);
        const b = e.upload(bData, shape);
        const gy = e.upload(gyData, shape);

        expectClose(await reluForward(e, x, poisoned(e, shape)).readF32(), refRelu(xData), FWD_TOL, 'relu');
        expectClose(await reluBackward(e, x, gy, poisoned(e, shape)).readF32(), refReluBackward(xData, gyData), GRAD_TOL, 'relu backward');
        const y = sigmoidForward(e, x, poisoned(e, shape));
        expectClose(await y.readF32(), refSigmoid(xData), FWD_TOL, 'sigmoid');
        expectClose(await sigmoidBackward(e, y, gy, poisoned(e, shape)).readF32(), refSigmoidBackward(xData, gyData), GRAD_TOL, 'sigmoid backward');
        expectClose(await addForward(e, x, b, poisoned(e, shape)).readF32(), refAdd(xData, bData), FWD_TOL, 'add');
      });
    });
  }

  it('sigmoid is accurate far into both tails (relative to each value)', async () => {
    const e = await testEngine();
    const xs = Float32Array.from([-80, -30, -10, -1e-3, 0, 1e-3, 10, 30, 80]);
    const y = await e.tidy(() => sigmoidForward(e, e.upload(xs, [xs.length]))).readF32();
    const ref = refSigmoid(xs);
    for (let i = 0; i < xs.length; i++) expect(Math.abs(y[i]! - ref[i]!) / ref[i]!).toBeLessThan(1e-5);
  });

  it('the sigmoid reference backward matches finite differences', () => {
    const x = Float64Array.from(randomArray(40, 4, -6, 6));
    const w = Float64Array.from(randomArray(40, 5));
    expectClose(refSigmoidBackward(x, w), numericGrad((v) => dot(refSigmoid(v), w), x), 1e-8, 'finite differences');
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
