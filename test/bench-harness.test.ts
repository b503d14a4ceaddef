// The benchmark's own logic (no GPU): the output comparison that keeps a fast wrong kernel from passing,
// the timing loop, and how results become checks in the report.
import { describe, expect, it } from 'vitest';
import { maxRelDiff, maxRelDiffAll, normRelDiff } from '../bench/compare.js';
import { buildReport, caseReport, checkOf, formatMarkdown, formatTable } from '../bench/report.js';
import type { CaseResult } from '../bench/runner.js';
import type { CaseDef } from '../bench/cases/types.js';
import { measure, measureInterleaved, median, type Timed, type TimingOptions } from '../bench/timing.js';

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

/** Timing options without host samples (the tests of those set them). */
const opts = (o: Partial<TimingOptions>): TimingOptions => ({
  warmup: 0,
  minReps: 1,
  maxReps: 1,
  minTotalMs: 0,
  minSampleMs: 0,
  maxInner: 1,
  hostSamples: 0,
  hostMaxMs: 0,
  ...o,
});

const busy = (ms: number): void => {
  const t0 = performance.now();
  while (performance.now() - t0 < ms);
};

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
    const t = await measure(work, opts({ warmup: 2, minReps: 3, maxReps: 3, minSampleMs: 20, maxInner: 8 }));
    expect(t.samplesMs).toHaveLength(3);
    expect(t.inner).toBeGreaterThan(1);
    expect(enqueued).toBe(2 + 3 * t.inner);
    expect(finished).toBe(enqueued);
    expect(t.medianMs).toBeGreaterThan(0);
  });
  it('warms every side up the same number of times, however long its first run took', async () => {
    const counts = [0, 0];
    const side = (i: number): Timed => ({ enqueue: () => void counts[i]!++, finish: async () => {} });
    await measureInterleaved([side(0), side(1)], opts({ warmup: 2 }), [10, 1e6]);
    expect(counts).toEqual([3, 3]);
    let n = 0;
    await measure({ enqueue: () => void n++, finish: async () => {} }, opts({ warmup: 2 }), 1e6);
    expect(n).toBe(3);
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
    const [a, b] = await measureInterleaved([side('a', 2), side('b', 6)], opts({ minReps: 4, maxReps: 4 }), [Infinity, Infinity]);
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
    const [a, b] = await measureInterleaved([side(0), side(1)], opts({ warmup: 1, minReps: 2, maxReps: 5, minTotalMs: 1e9 }), [Infinity, Infinity]);
    expect(a!.samplesMs).toHaveLength(5);
    expect(b!.samplesMs).toHaveLength(5);
    expect(counts).toEqual([6, 6]);
  });
});

describe('host samples', () => {
  /** A side whose enqueue takes `hostMs` of JS and records `disp` dispatches; its GPU work takes `gpuMs`. */
  const side = (hostMs: number, gpuMs: number, disp: number) => {
    const st = { pending: 0, submitted: 0, dispatches: 0, busyAtReset: [] as number[], enqueued: 0 };
    const t: Timed = {
      enqueue: () => {
        busy(hostMs);
        st.pending++;
        st.enqueued++;
        st.dispatches += disp;
      },
      submit: () => void (st.submitted += st.pending),
      finish: async () => {
        if (st.pending) busy(gpuMs * st.pending);
        st.pending = 0;
      },
      dispatches: {
        reset: () => {
          st.busyAtReset.push(st.pending);
          st.dispatches = 0;
        },
        count: () => st.dispatches,
      },
    };
    return { t, st };
  };

  it('times enqueue + submit with the device idle, and counts the dispatches of one iteration', async () => {
    const { t, st } = side(3, 1, 7);
    // Short iterations (several per timed sample): the host samples are taken on their own afterwards.
    const r = await measure(t, opts({ warmup: 1, minReps: 2, maxReps: 2, minSampleMs: 20, maxInner: 10, hostSamples: 5, hostMaxMs: 1e9 }));
    expect(r.inner).toBeGreaterThan(1);
    expect(r.host!.samplesMs).toHaveLength(5);
    expect(r.host!.medianMs).toBeGreaterThanOrEqual(3);
    expect(r.host!.medianMs).toBeLessThan(r.medianMs + 3);
    expect(r.host!.dispatches).toBe(7);
    expect(st.busyAtReset).toEqual([0, 0, 0, 0, 0]);
    expect(st.enqueued).toBe(1 + 2 * r.inner + 5);
  });
  it('lets one-iteration timed samples double as host samples, and stops extra ones at hostMaxMs', async () => {
    const { t, st } = side(2, 30, 4);
    const r = await measure(t, opts({ minReps: 2, maxReps: 2, minSampleMs: 1, hostSamples: 5, hostMaxMs: 1 }));
    expect(r.inner).toBe(1);
    // Two timed samples, then one host-only sample (the budget is spent by it).
    expect(r.host!.samplesMs).toHaveLength(3);
    expect(st.enqueued).toBe(3);
    expect(r.host!.dispatches).toBe(4);
    expect(r.samplesMs.every((ms) => ms >= 30)).toBe(true);
  });
  it('alternates host-only samples between the sides; a side that cannot submit gets none', async () => {
    const a = side(1, 0, 2);
    const b = side(1, 0, 3);
    const noSubmit: Timed = { enqueue: () => {}, finish: async () => {} };
    const [ra, rb, rc] = await measureInterleaved([a.t, b.t, noSubmit], opts({ minReps: 1, maxReps: 1, minSampleMs: 50, maxInner: 4, hostSamples: 3, hostMaxMs: 1e9 }), [0.5, 0.5, 0.5]);
    expect(ra!.host!.samplesMs).toHaveLength(3);
    expect(rb!.host!.samplesMs).toHaveLength(3);
    expect([ra!.host!.dispatches, rb!.host!.dispatches]).toEqual([2, 3]);
    expect(rc!.host).toBeUndefined();
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
  it('reports host time, dispatches and replay per case, in the JSON and the tables', () => {
    const host = (ms: number, dispatches: number | null) => ({ medianMs: ms, samplesMs: [ms, ms, ms], dispatches });
    const r: CaseResult = {
      ...result(1e-5),
      def: { ...def, replay: true },
      ours: { timing: { ...timing(100), host: host(0.25, 42) } },
      tfjs: { timing: { ...timing(500), host: host(12, null) } },
    };
    const c = caseReport(r);
    expect(c.replay).toBe(true);
    expect(c.host_ms).toBe(0.25);
    expect(c.tfjs_host_ms).toBe(12);
    expect(c.dispatches).toBe(42);
    expect(c.host_samples).toEqual({ ours: 3, tfjs: 3 });
    const plain = caseReport(result(1e-5));
    expect(plain.replay).toBe(false);
    expect(plain.host_ms).toBeNull();
    expect(plain.tfjs_host_ms).toBeNull();
    expect(plain.dispatches).toBeNull();
    expect(plain.host_samples).toEqual({ ours: 0, tfjs: 0 });
    const info = { vendor: 'v', architecture: 'a', device: 'd', description: 'x', isFallbackAdapter: false, features: [], limits: {} };
    const meta = { sharedDevice: true, tfjsVersion: '4', quick: true, interleaved: true, timing: opts({}), cpus: 2, loadStart: 0, loadEnd: 0 };
    const rep = buildReport(info, meta, [r]);
    const table = formatTable(rep);
    expect(table).toMatch(/host ms/);
    expect(table).toMatch(/disp/);
    expect(table).toContain('0.250 / 12.0');
    const md = formatMarkdown(rep);
    expect(md).toMatch(/\| ours host ms \| host floor ms \| upload ms \| dispatches \|/);
    expect(md).toContain('| 0.250 | - | - | 42 |');
    expect(JSON.parse(JSON.stringify(rep)).cases[0]).toMatchObject({ host_ms: 0.25, tfjs_host_ms: 12, dispatches: 42, replay: true });
  });
  it('reports the host floor and the upload with host_ms over the floor', () => {
    const t = (med: number, min: number) => ({ medianMs: med, minMs: min, samplesMs: [min, med, med + 1] });
    const r: CaseResult = {
      ...result(1e-5),
      ours: { timing: { ...timing(100), host: { medianMs: 2, samplesMs: [2, 1.5, 3], dispatches: 80 } }, hostFloor: t(0.5, 0.25), upload: t(0.1, 0.05) },
    };
    const c = caseReport(r);
    expect(c).toMatchObject({ host_ms: 2, host_min_ms: 1.5, host_floor_ms: 0.5, host_floor_min_ms: 0.25, upload_ms: 0.1, upload_min_ms: 0.05, host_over_floor: 4 });
    expect(caseReport(result(1e-5))).toMatchObject({ host_floor_ms: null, upload_ms: null, host_over_floor: null });
    const info = { vendor: 'v', architecture: 'a', device: 'd', description: 'x', isFallbackAdapter: false, features: [], limits: {} };
    const meta = { sharedDevice: true, tfjsVersion: '4', quick: true, interleaved: true, timing: opts({}), cpus: 2, loadStart: 0, loadEnd: 0 };
    const rep = buildReport(info, meta, [r]);
    expect(formatTable(rep)).toContain('0.500 (4.00x)');
    expect(formatMarkdown(rep)).toContain('| 2.00 | 0.500 | 0.100 | 80 |');
  });
  it('reports peak bytes of both sides and the lower bound, in the JSON and the tables', () => {
    const r: CaseResult = { ...result(1e-5), def: { ...def, peakLowerBoundBytes: 200e6 }, ours: { timing: timing(100), peakBytes: 300e6 }, tfjs: { timing: timing(500), peakBytes: 600e6 } };
    const c = caseReport(r);
    expect(c).toMatchObject({ peak_bytes: 300e6, tfjs_peak_bytes: 600e6, peak_lower_bound_bytes: 200e6 });
    expect(caseReport(result(1e-5))).toMatchObject({ peak_bytes: null, tfjs_peak_bytes: null, peak_lower_bound_bytes: null });
    const info = { vendor: 'v', architecture: 'a', device: 'd', description: 'x', isFallbackAdapter: false, features: [], limits: {} };
    const meta = { sharedDevice: true, tfjsVersion: '4', quick: true, interleaved: true, timing: opts({}), cpus: 2, loadStart: 0, loadEnd: 0 };
    const rep = buildReport(info, meta, [r]);
    const table = formatTable(rep);
    expect(table).toContain('300 / 600');
    expect(table).toContain('peak 300 MB = 1.50× the lower bound 200 MB, 0.50× TF.js\'s 600 MB');
    expect(formatMarkdown(rep)).toContain('| 300 | 600 |');
  });
  it('records the GEMM variants our side used per case, and the tuning cache the run loaded', () => {
    const c = caseReport({ ...result(1e-5), gemmVariants: { t64x64: 3, lanes: 9 } });
    expect(c.gemm_variants).toEqual(['lanes', 't64x64']);
    expect(c.gemm_counts).toEqual({ t64x64: 3, lanes: 9 });
    expect(caseReport(result(1e-5)).gemm_variants).toEqual([]);
    const info = { vendor: 'v', architecture: 'a', device: 'd', description: 'x', isFallbackAdapter: false, features: [], limits: {} };
    const meta = { sharedDevice: true, tfjsVersion: '4', quick: true, interleaved: true, timing: opts({}), cpus: 2, loadStart: 0, loadEnd: 0 };
    expect(buildReport(info, meta, []).gemm_tuning).toBeNull();
    const tuning = { file: '.cache/tuning/x.json', state: 'ok', entries: 12 };
    expect(JSON.parse(JSON.stringify(buildReport(info, { ...meta, gemmTuning: tuning }, []))).gemm_tuning).toEqual(tuning);
  });
});
