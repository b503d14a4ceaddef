// The benchmark's own logic (no GPU): the output comparison that keeps a fast wrong kernel from passing,
// the timing loop, and how results become checks in the report.
import { describe, expect, it } from 'vitest';
import { maxRelDiff, maxRelDiffAll, normRelDiff } from '../bench/compare.js';
import { caseReport, checkOf } from '../bench/report.js';
import type { CaseResult } from '../bench/runner.js';
import type { CaseDef } from '../bench/cases/types.js';
import { measure, measureInterleaved, median, type Timed } from '../bench/timing.js';

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
  it('normwise: one far-off element of many is diluted, a systematic error is not', () => {
    const ref = Array.from({ length: 10000 }, (_, i) => Math.sin(i) + 2);
    const moved = ref.map((v, i) => (i === 17 ? v + 2 : v));
    expect(maxRelDiff(moved, ref)).toBeGreaterThan(0.5);
    expect(normRelDiff(moved, ref)).toBeLessThan(0.01);
    expect(normRelDiff(ref.map((v) => v * 1.1), ref)).toBeCloseTo(0.1, 6);
    expect(normRelDiff([NaN], [1])).toBe(Infinity);
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
  it('alternates the sides sample by sample, so a change of load falls on both', async () => {
    const log: string[] = [];
    let load = 1;
    const side = (name: string, ms: number): Timed => ({
      enqueue: () => void log.push(name),
      // Every finished sample makes the host busier: a sequential run would charge it all to the later side.
      finish: async () => {
        const t0 = performance.now();
        while (performance.now() - t0 < ms * load);
        load += 0.5;
      },
    });
    const [a, b] = await measureInterleaved([side('a', 2), side('b', 6)], { warmup: 0, minReps: 4, maxReps: 4, minTotalMs: 0, minSampleMs: 0, maxInner: 1 }, [Infinity, Infinity]);
    expect(log.join('')).toBe('abbaabba');
    expect(a!.samplesMs).toHaveLength(4);
    expect(b!.samplesMs).toHaveLength(4);
    const ratio = b!.medianMs / a!.medianMs;
    expect(ratio).toBeGreaterThan(2);
    expect(ratio).toBeLessThan(4.5);
  });
  it('keeps sampling the side that has not reached its total yet', async () => {
    const counts = [0, 0];
    const side = (i: number): Timed => ({ enqueue: () => void counts[i]!++, finish: async () => {} });
    const [a, b] = await measureInterleaved([side(0), side(1)], { warmup: 1, minReps: 2, maxReps: 5, minTotalMs: 1e9, minSampleMs: 0, maxInner: 1 }, [Infinity, Infinity]);
    expect(a!.samplesMs).toHaveLength(5);
    expect(b!.samplesMs).toHaveLength(5);
    expect(counts).toEqual([6, 6]);
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
  it('checks each output by its own metric and tolerance when the case says how', () => {
    const checks = [
      { name: 'loss', metric: 'max' as const, tolerance: 1e-3 },
      { name: 'routed', metric: 'norm' as const, tolerance: 5e-2 },
    ];
    const multi = (diffs: number[]): CaseResult => ({ ...result(Math.max(diffs[0]!)), def: { ...def, outputChecks: checks }, outputDiffs: diffs });
    expect(checkOf(multi([1e-4, 4e-2]))).toBe('ok');
    expect(checkOf(multi([2e-3, 1e-3]))).toBe('MISMATCH');
    expect(checkOf(multi([1e-4, 0.2]))).toBe('MISMATCH');
    expect(caseReport(multi([1e-4, 4e-2])).output_diffs).toEqual([
      { output: 'loss', metric: 'max', diff: 1e-4, tolerance: 1e-3 },
      { output: 'routed', metric: 'norm', diff: 4e-2, tolerance: 5e-2 },
    ]);
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
