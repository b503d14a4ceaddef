import { describe, expect, it } from 'vitest';
import { accumulateCategoricalMetrics, accumulateConfusion, CATEGORICAL_STATE_SIZE, softmaxCrossEntropyBackward, softmaxCrossEntropyForward } from '../src/kernels/softmax-ce.js';
import { CategoricalMetrics, ConfusionMatrix } from '../src/nn/metrics.js';
import { softmaxCrossEntropy } from '../src/nn/functional/index.js';
import {
  refCategoricalCorrect,
  refConfusion,
  refSoftmaxCrossEntropy,
  refSoftmaxCrossEntropyBackward,
  refTopKCorrect,
} from '../src/reference/softmax-ce.js';
import { Rng } from '../src/util/rng.js';
import { testEngine } from './helpers/engine.js';
import { expectClose, FWD_TOL, GRAD_TOL, randomArray } from './helpers/small-ops.js';

function labels(n: number, c: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.int(c));
}

describe('softmax cross-entropy from logits', () => {

  it('stays accurate for confident predictions (tiny losses and gradients, no overflow at ±100)', async () => {
    const e = await testEngine();
    await e.tidyAsync(async () => {
      const c = 12;
      const n = 6;
      const zData = new Float32Array(n * c).fill(-100);
      const yData = Float32Array.from([0, 3, 11, 5, 7, 2]);
      for (let i = 0; i < n; i++) zData[i * c + yData[i]!] = [100, 20, 17.5, 30, 100, 25][i]!;
      zData[c + 4] = 18; // row 1: a runner-up close enough to matter
      const z = e.upload(zData, [n, c]);
      const y = e.upload(yData, [n]);
      const ref = refSoftmaxCrossEntropy(zData, yData, c);
      expect(ref).toBeGreaterThan(0);
      expectClose(await softmaxCrossEntropyForward(e, z, y).readF32(), [ref], FWD_TOL, 'loss');
      const gz = softmaxCrossEntropyBackward(e, z, y, e.upload([1], [1]));
      expectClose(await gz.readF32(), refSoftmaxCrossEntropyBackward(zData, yData, c), GRAD_TOL, 'gradient');
      // Every label wrong: losses of ~200, still finite.
      const wrong = Float32Array.from(yData, (v) => (v + 1) % c);
      const big = await softmaxCrossEntropyForward(e, z, e.upload(wrong, [n])).readF32();
      expectClose(big, [refSoftmaxCrossEntropy(zData, wrong, c)], FWD_TOL, 'loss (wrong labels)');
    });
  });

  it('refuses bad shapes', async () => {
    const e = await testEngine();
    e.tidy(() => {
      expect(() => softmaxCrossEntropy(e.full([4, 3], 0), e.full([5], 0))).toThrow(/labels/);
      expect(() => softmaxCrossEntropy(e.full([4], 0), e.full([4], 0))).toThrow(/\[N, C\]/);
    });
  });
});

describe('categorical metrics and the confusion matrix', () => {
  it('top-k and accuracy kernels match the reference (ties, k ≥ C)', async () => {
    const e = await testEngine();
    await e.tidyAsync(async () => {
      for (const [n, c, k] of [
        [50, 12, 5],
        [9, 3, 5],
        [33, 1000, 5],
        [40, 8, 1],
      ] as const) {
        const zData = Float32Array.from(randomArray(n * c, c + n, -3, 3), (v) => Math.round(v * 2) / 2); // many ties
        const yData = labels(n, c, c * 7);
        const state = e.full([CATEGORICAL_STATE_SIZE], 0);
        accumulateCategoricalMetrics(e, state, e.upload(zData, [n, c]), e.upload(yData, [n]), { topK: k });
        const [lossSum, hits, count, top] = await state.readF32();
        expect(count).toBe(n);
        expect(hits).toBe(refCategoricalCorrect(zData, yData, c));
        expect(top).toBe(refTopKCorrect(zData, yData, c, Math.min(k, c)));
        expect(Math.abs(lossSum! / n - refSoftmaxCrossEntropy(zData, yData, c))).toBeLessThan(1e-4);
      }
    });
  });

  it('confusion kernel matches the reference, binary and categorical, over several batches', async () => {
    const e = await testEngine();
    await e.tidyAsync(async () => {
      for (const c of [1, 4, 12]) {
        const classes = c === 1 ? 2 : c;
        const conf = e.full([classes, classes], 0, 'u32');
        const want = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
        for (const n of [20, 7, 150]) {
          const zData = randomArray(n * c, n + c, -2, 2);
          const yData = labels(n, classes, n * c + 1);
          accumulateConfusion(e, conf, e.upload(zData, c === 1 ? [n] : [n, c]), e.upload(yData, [n]));
          refConfusion(zData, yData, c).forEach((r, i) => r.forEach((v, j) => (want[i]![j]! += v)));
        }
        const got = (await conf.read()) as Uint32Array;
        expect(Array.from(got)).toEqual(want.flat());
      }
    });
  });

  it('CategoricalMetrics and ConfusionMatrix accumulate without readback', async () => {
    const e = await testEngine();
    const metrics = new CategoricalMetrics(e, 12);
    const conf = new ConfusionMatrix(e, 12);
    const allZ: number[] = [];
    const allY: number[] = [];
    const submits = e.stats.submits;
    e.tidy(() => {
      for (const [k, n] of [20, 20, 3].entries()) {
        const zData = randomArray(n * 12, 40 + k, -3, 3);
        const yData = labels(n, 12, 50 + k);
        allZ.push(...zData);
        allY.push(...yData);
        const z = e.upload(zData, [n, 12]);
        const y = e.upload(yData, [n]);
        if (k % 2) metrics.add(z, y, softmaxCrossEntropy(z, y));
        else metrics.add(z, y);
        conf.add(z, y);
      }
    });
    expect(e.stats.submits).toBe(submits);
    const m = await metrics.read();
    expect(m.count).toBe(43);
    expect(m.acc).toBe(refCategoricalCorrect(allZ, allY, 12) / 43);
    expect(m.top5_acc).toBe(refTopKCorrect(allZ, allY, 12, 5) / 43);
    expect(Math.abs(m.loss - refSoftmaxCrossEntropy(allZ, allY, 12))).toBeLessThan(1e-5);
    const matrix = await conf.read();
    expect(matrix).toEqual(refConfusion(allZ, allY, 12));
    expect(matrix.flat().reduce((a, b) => a + b, 0)).toBe(43);
    metrics.dispose();
    conf.dispose();
  });
});
