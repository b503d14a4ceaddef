// Wall-clock timing of GPU work the way the GPU sees it: warm-up excluded, completion awaited, median of several
// samples. Short iterations are batched (k enqueues, one wait) so the submit/wait round trip does not dominate.
export interface Timed {
  /** Records one iteration without waiting for it (a synchronous backend simply runs it). */
  enqueue(): void;
  /** Resolves when every enqueued iteration has finished on the device. */
  finish(): Promise<void>;
}

export interface TimingOptions {
  warmup: number;
  minReps: number;
  maxReps: number;
  /** Keep sampling (up to maxReps) until the samples add up to this much time. */
  minTotalMs: number;
  /** Iterations per sample are raised until one sample takes at least this long (1 iteration if it already does). */
  minSampleMs: number;
  /** Upper bound on iterations per sample. */
  maxInner: number;
  /** Skip the warm-up when the first run (which compiled every pipeline) took longer than this. */
  skipWarmupAfterMs?: number;
}

export interface Timing {
  medianMs: number;
  minMs: number;
  /** Milliseconds per iteration, one entry per sample. */
  samplesMs: number[];
  /** Iterations per sample. */
  inner: number;
}

export const QUICK_TIMING: TimingOptions = { warmup: 1, minReps: 2, maxReps: 3, minTotalMs: 1500, minSampleMs: 10, maxInner: 20, skipWarmupAfterMs: 3000 };
export const FULL_TIMING: TimingOptions = { warmup: 2, minReps: 3, maxReps: 30, minTotalMs: 2000, minSampleMs: 20, maxInner: 100, skipWarmupAfterMs: 20000 };

export async function runOnce(t: Timed, iterations = 1): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) t.enqueue();
  await t.finish();
  return performance.now() - t0;
}

/** Warm-up (skipped after a slow first run), then the iterations per sample that make a sample ≥ minSampleMs. */
async function warmUp(t: Timed, o: TimingOptions, firstRunMs: number): Promise<number> {
  let last = firstRunMs;
  const warmup = o.skipWarmupAfterMs != null && firstRunMs > o.skipWarmupAfterMs ? 0 : o.warmup;
  for (let i = 0; i < warmup; i++) last = await runOnce(t);
  return last >= o.minSampleMs || !Number.isFinite(last) ? 1 : Math.min(o.maxInner, Math.ceil(o.minSampleMs / Math.max(last, 1e-3)));
}

function timingOf(samplesMs: number[], inner: number): Timing {
  return { medianMs: median(samplesMs), minMs: Math.min(...samplesMs), samplesMs, inner };
}

/** `firstRunMs`: how long the first (compiling) run took, if one was made before. */
export async function measure(t: Timed, o: TimingOptions, firstRunMs = Infinity): Promise<Timing> {
  const inner = await warmUp(t, o, firstRunMs);
  const samplesMs: number[] = [];
  let total = 0;
  while (samplesMs.length < o.minReps || (samplesMs.length < o.maxReps && total < o.minTotalMs)) {
    const ms = await runOnce(t, inner);
    total += ms;
    samplesMs.push(ms / inner);
  }
  return timingOf(samplesMs, inner);
}

/**
 * Several implementations sampled in alternation (A B, B A, A B, …) so that a change in the host's load — other
 * processes on a shared machine, a software adapter's threads competing with them — falls on all of them alike
 * instead of on whichever happened to run later. Sampling stops once every side has minReps samples and either
 * maxReps or minTotalMs of samples.
 */
export async function measureInterleaved(ts: readonly Timed[], o: TimingOptions, firstRunMs: readonly number[]): Promise<Timing[]> {
  const inner: number[] = [];
  for (const [i, t] of ts.entries()) inner.push(await warmUp(t, o, firstRunMs[i] ?? Infinity));
  const samples: number[][] = ts.map(() => []);
  const totals = ts.map(() => 0);
  const enough = (i: number): boolean => samples[i]!.length >= o.minReps && (samples[i]!.length >= o.maxReps || totals[i]! >= o.minTotalMs);
  for (let round = 0; !ts.every((_, i) => enough(i)); round++) {
    const order = ts.map((_, i) => i);
    if (round % 2) order.reverse();
    for (const i of order) {
      if (samples[i]!.length >= o.maxReps) continue;
      const ms = await runOnce(ts[i]!, inner[i]!);
      totals[i]! += ms;
      samples[i]!.push(ms / inner[i]!);
    }
  }
  return ts.map((_, i) => timingOf(samples[i]!, inner[i]!));
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
