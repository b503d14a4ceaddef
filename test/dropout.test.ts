import { describe, expect, it } from 'vitest';
import { dropoutForward, dropoutSeeds } from '../src/kernels/dropout.js';
import { refDropout, refDropoutMask } from '../src/reference/dropout.js';
import { testEngine } from './helpers/engine.js';
import { expectClose, FWD_TOL, poisoned, randomArray } from './helpers/small-ops.js';

describe('dropout', () => {
  it('the kernel mask equals the uint32 reference hash bit for bit', async () => {
    const e = await testEngine();
    await e.tidyAsync(async () => {
      const n = 3 * 7 * 5 * 6 + 3;
      const xData = randomArray(n, 1, 0.5, 1.5); // no zeros: y ≠ 0 exactly where the mask keeps
      const x = e.upload(xData, [n]);
      for (const [rate, seed, step] of [
        [0.5, 1, 0],
        [0.5, 1, 1],
        [0.2, 0xdeadbeef, 123456],
        [0.7, 42, 0xffffffff],
      ] as const) {
        const y = await dropoutForward(e, x, rate, dropoutSeeds(e, seed, step), poisoned(e, [n])).readF32();
        const mask = refDropoutMask(n, rate, seed, step);
        expect(Array.from(y, (v) => (v !== 0 ? 1 : 0))).toEqual(Array.from(mask));
        expectClose(y, refDropout(xData, rate, seed, step), FWD_TOL, `rate ${rate} seed ${seed} step ${step}`);
      }
    });
  });

  it('keeps 1 − rate of the units, independently of neighbours, steps and seeds', async () => {
    const e = await testEngine();
    await e.tidyAsync(async () => {
      const n = 200_000;
      const x = e.full([n], 1);
      for (const rate of [0.5, 0.2, 0.8]) {
        const p = 1 - rate;
        const sigma = Math.sqrt((p * (1 - p)) / n);
        const masks = await Promise.all(
          [
            [7, 0],
            [7, 1],
            [8, 0],
          ].map(async ([seed, step]) => Array.from(await dropoutForward(e, x, rate, dropoutSeeds(e, seed!, step!)).readF32(), (v) => (v !== 0 ? 1 : 0))),
        );
        const [m0, m1, m2] = masks as [number[], number[], number[]];
        const kept = m0.reduce((a, v) => a + v, 0) / n;
        expect(Math.abs(kept - p)).toBeLessThan(5 * sigma);
        // P(both kept) ≈ p² for neighbouring elements, for the next step and for another seed.
        const both = (a: number[], b: number[], shift: number): number => {
          let k = 0;
          for (let i = 0; i + shift < n; i++) k += a[i]! & b[i + shift]!;
          return k / (n - shift);
        };
        const tol = 6 * Math.sqrt((p * p * (1 - p * p)) / n);
        expect(Math.abs(both(m0, m0, 1) - p * p)).toBeLessThan(tol);
        expect(Math.abs(both(m0, m1, 0) - p * p)).toBeLessThan(tol);
        expect(Math.abs(both(m0, m2, 0) - p * p)).toBeLessThan(tol);
      }
    });
  });

  it('rate 0 keeps everything unscaled; rates outside [0, 1) are refused', async () => {
    const e = await testEngine();
    await e.tidyAsync(async () => {
      const data = randomArray(37, 4);
      expectClose(await dropoutForward(e, e.upload(data, [37]), 0, dropoutSeeds(e, 1, 2)).readF32(), data, 0, 'rate 0');
      expect(() => dropoutForward(e, e.full([3], 1), 1, dropoutSeeds(e, 0, 0))).toThrow(/rate/);
      expect(() => dropoutForward(e, e.full([3], 1), -0.1, dropoutSeeds(e, 0, 0))).toThrow(/rate/);
    });
  });
});
