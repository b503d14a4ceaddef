import { describe, expect, it } from 'vitest';
import { bceWithLogitsBackward, bceWithLogitsForward } from '../src/kernels/loss.js';
import { refBceTerm, refBceWithLogits, refBceWithLogitsBackward } from '../src/reference/loss.js';
import { bceWithLogits } from '../src/nn/functional/index.js';
import { Rng } from '../src/util/rng.js';
import { testEngine } from './helpers/engine.js';
import { expectClose, FWD_TOL, GRAD_TOL, numericGrad, poisoned, randomArray } from './helpers/small-ops.js';

function labels(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.int(2));
}

describe('binary cross-entropy from logits', () => {
  for (const [n, scale, shape] of [
    [3, 2, 'N1'],
    [20, 5, 'N'],
    [1000, 30, 'N1'],
    [2500, 1, 'N'],
  ] as const) {
    it(`forward and backward: batch ${n}, logits in ±${scale}, shape ${shape === 'N1' ? '[N, 1]' : '[N]'}`, async () => {
      const e = await testEngine();
      await e.tidyAsync(async () => {
        const zData = randomArray(n, n, -scale, scale);
        const yData = labels(n, n + 1);
        const zShape = shape === 'N1' ? [n, 1] : [n];
        const z = e.upload(zData, zShape);
        const y = e.upload(yData, [n]);
        const loss = bceWithLogitsForward(e, z, y, poisoned(e, [1]));
        expectClose(await loss.readF32(), [refBceWithLogits(zData, yData)], FWD_TOL, 'loss');
        const gy = e.upload([2.5], [1]);
        const gz = bceWithLogitsBackward(e, z, y, gy, poisoned(e, zShape));
        expect(gz.shape).toEqual(zShape);
        expectClose(await gz.readF32(), refBceWithLogitsBackward(zData, yData, 2.5), GRAD_TOL, 'gradient');
      });
    });
  }

  it('stays accurate for confident predictions (tiny losses, no overflow at |z| = 100)', async () => {
    const e = await testEngine();
    await e.tidyAsync(async () => {
      const zData = Float32Array.from([20, -20, 17.5, -25, 100, -100, 16]);
      const right = Float32Array.from(zData, (v) => (v > 0 ? 1 : 0));
      const wrong = Float32Array.from(right, (v) => 1 - v);
      for (const yData of [right, wrong]) {
        const loss = bceWithLogitsForward(e, e.upload(zData, [7]), e.upload(yData, [7]));
        expectClose(await loss.readF32(), [refBceWithLogits(zData, yData)], FWD_TOL, 'loss');
      }
    });
  });

  it('the reference gradient matches finite differences', () => {
    const z = Float64Array.from(randomArray(9, 5, -4, 4));
    const y = labels(9, 6);
    expectClose(refBceWithLogitsBackward(z, y), numericGrad((v) => refBceWithLogits(v, y), z), 1e-8, 'finite differences');
    // And the stable form equals the textbook −y·log σ − (1 − y)·log(1 − σ) where the latter is computable.
    for (const v of [-3, -0.5, 0, 0.7, 4]) {
      const s = 1 / (1 + Math.exp(-v));
      for (const t of [0, 1]) expect(refBceTerm(v, t)).toBeCloseTo(-t * Math.log(s) - (1 - t) * Math.log(1 - s), 12);
    }
  });

  it('backpropagates to the logits only', async () => {
    const e = await testEngine();
    const zData = randomArray(20, 7, -3, 3);
    const yData = labels(20, 8);
    const z = e.upload(zData, [20, 1]);
    z.requiresGrad = true;
    const y = e.upload(yData, [20]);
    e.tidy(() => e.tape.backward(bceWithLogits(z, y)));
    expect(y.grad).toBeNull();
    expectClose(await z.grad!.readF32(), refBceWithLogitsBackward(zData, yData), GRAD_TOL, 'gradient');
    for (const t of [z, y, z.grad!]) t.dispose();
  });

  it('refuses mismatched logits and labels', async () => {
    const e = await testEngine();
    e.tidy(() => expect(() => bceWithLogits(e.full([4, 1], 0), e.full([5], 0))).toThrow(/labels/));
  });
});
