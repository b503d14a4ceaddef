// The benchmark's own logic (no GPU): the output comparison that keeps a fast wrong kernel from passing,
// the timing loop, and how results become checks in the report.
import { describe, expect, it } from 'vitest';
import { maxRelDiff, maxRelDiffAll } from '../bench/compare.js';
import { caseReport, checkOf } from '../bench/report.js';
import type { CaseResult } from '../bench/runner.js';
import type { CaseDef } from '../bench/cases/types.js';
import { measure, median, type Timed } from '../bench/timing.js';

describe('maxRelDiff', () => {
  it('is the largest absolute difference over the largest reference magnitude', () => {
    expect(maxRelDiff([1, 2, -4], [1, 2, -4])).toBe(0);
    expect(maxRelDiff([1, 2.5, -4], [1, 2, -4])).toBeCloseTo(0.5 / 4, 12);
    expect(maxRelDiff([0, 0, 1e-3], [0, 0, 0])).toBe(Infinity);
  });
  it('never lets NaN, infinities or a wrong length pass', () => {
    expect(maxRelDiff([NaN, 1], [1, 1])).toBe(Infinity);
    expect(maxRelDiff([1, Infinity], [1, 1])).toBe(Infinity);
    expect(maxRelDiff([1, 2], [1, 2, 3])).toBe(Infinity);
    expect(maxRelDiffAll([], [])).toBe(Infinity);
  });
  it('takes the worst of several outputs', () => {
    expect(maxRelDiffAll([[1], [2.2]], [[1], [2]])).toBeCloseTo(0.1, 12);
  });
});

describe('timing', () => {
  it('median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
  it('excludes the warm-up, awaits completion, and batches short iterations', async () => {
    let enqueued = 0;
    let finished = 0;
    const work: Timed = {
      enqueue: () => void enqueued++,
      finish: async () => {
        finished = enqueued;
        await new Promise((r) => setTimeout(r, 1));
      },
    };
    const t = await measure(work, { warmup: 2, minReps: 3, maxReps: 3, minTotalMs: 0, minSampleMs: 20, maxInner: 8 });
    expect(t.samplesMs).toHaveLength(3);
    expect(t.inner).toBeGreaterThan(1);
    expect(enqueued).toBe(2 + 3 * t.inner);
    expect(finished).toBe(enqueued);
    expect(t.medianMs).toBeGreaterThan(0);
  });
  it('skips the warm-up after a slow first run when told to', async () => {
    let enqueued = 0;
    const work: Timed = { enqueue: () => void enqueued++, finish: async () => {} };
    await measure(work, { warmup: 1, minReps: 1, maxReps: 1, minTotalMs: 0, minSampleMs: 0, maxInner: 1, skipWarmupAfterMs: 100 }, 500);
    expect(enqueued).toBe(1);
  });
});

describe('report', () => {
  const def = { name: 'x_b2', fullName: 'x_b20', group: 'conv', batch: 2, shape: 's', flops: 4e9, images: 2, tolerance: 1e-4 } as unknown as CaseDef;
  const timing = (ms: number) => ({ medianMs: ms, minMs: ms, samplesMs: [ms], inner: 1 });
  const result = (diff: number | null): CaseResult => ({ def, ours: { timing: timing(100) }, tfjs: { timing: timing(500) }, wasm: { error: 'disabled' }, maxRelDiff: diff, maxRelDiffWasm: null });

  it('flags a difference over the tolerance, and a missing comparison', () => {
    expect(checkOf(result(1e-5))).toBe('ok');
    expect(checkOf(result(1e-2))).toBe('MISMATCH');
    expect(checkOf(result(Infinity))).toBe('MISMATCH');
    expect(checkOf(result(null))).toBe('unchecked');
    expect(checkOf({ ...result(0), ours: { error: 'boom' } })).toBe('error');
  });
  it('derives ratio, GFLOP/s and images/s from the medians', () => {
    const c = caseReport(result(1e-5));
    expect(c.ratio).toBe(5);
    expect(c.gflops).toBe(40);
    expect(c.tfjs_gflops).toBe(8);
    expect(c.images_per_s).toBe(20);
    expect(c.full_name).toBe('x_b20');
    expect(c.errors).toBeUndefined();
  });
});
