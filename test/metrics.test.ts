import { describe, expect, it } from 'vitest';
import { BinaryMetrics } from '../src/nn/metrics.js';
import { bceWithLogits } from '../src/nn/functional/index.js';
import { refBceWithLogits, refBinaryCorrect } from '../src/reference/loss.js';
import { Rng } from '../src/util/rng.js';
import { testEngine } from './helpers/engine.js';
import { randomArray } from './helpers/small-ops.js';

describe('BinaryMetrics', () => {
  it('accumulates loss and accuracy on the GPU over batches and reads them once', async () => {
    const e = await testEngine();
    const rng = new Rng(1);
    const metrics = new BinaryMetrics(e);
    const allZ: number[] = [];
    const allY: number[] = [];
    const submits = e.stats.submits;
    e.tidy(() => {
      for (const [k, n] of [20, 20, 7, 1, 300].entries()) {
        const zData = randomArray(n, 10 + k, -3, 3);
        if (k === 0) zData[0] = 0; // sigmoid(0) = 0.5 is not > 0.5: class 0
        const yData = Float32Array.from({ length: n }, () => rng.int(2));
        allZ.push(...zData);
        allY.push(...yData);
        const z = e.upload(zData, [n, 1]);
        const y = e.upload(yData, [n]);
        // Odd batches pass the batch loss, even ones let the metrics compute it.
        if (k % 2 === 1) metrics.add(z, y, bceWithLogits(z, y));
        else metrics.add(z, y);
      }
    });
    expect(e.stats.submits).toBe(submits); // nothing was read back or submitted while adding
    const m = await metrics.read();
    expect(m.count).toBe(allZ.length);
    expect(m.acc).toBe(refBinaryCorrect(allZ, allY) / allZ.length);
    expect(Math.abs(m.loss - refBceWithLogits(allZ, allY)) / refBceWithLogits(allZ, allY)).toBeLessThan(1e-5);

    metrics.reset();
    e.tidy(() => metrics.add(e.upload([2, -1, 0.5], [3]), e.upload([1, 1, 0], [3])));
    const again = await metrics.read();
    expect(again.count).toBe(3);
    expect(again.acc).toBeCloseTo(1 / 3, 7);
    expect(again.loss).toBeCloseTo(refBceWithLogits([2, -1, 0.5], [1, 1, 0]), 6);
    metrics.dispose();
  });

  it('records nothing on the tape', async () => {
    const e = await testEngine();
    const metrics = new BinaryMetrics(e);
    e.tidy(() => {
      const z = e.upload([1, -1], [2]);
      z.requiresGrad = true;
      const before = e.tape.length;
      metrics.add(z, e.upload([1, 0], [2]));
      expect(e.tape.length).toBe(before);
    });
    expect((await metrics.read()).acc).toBe(1);
    metrics.dispose();
  });
});
