// Wall-clock timing of GPU work the way the GPU sees it: warm-up excluded, completion awaited, median of several
// samples. Short iterations are batched (k enqueues, one wait) so the submit/wait round trip does not dominate.
// Host samples time the other end: the JS work of one iteration until its commands are submitted, GPU idle.
export interface Timed {
  /** Records one iteration without waiting for it (a synchronous backend simply runs it). */
  enqueue(): void;
  /** Resolves when every enqueued iteration has finished on the device. */
  finish(): Promise<void>;
  /** Submits what `enqueue` recorded without waiting for it. Host samples are taken only of sides that have it. */
  submit?(): void;
  /** Counts the dispatches recorded since `reset` (our engine's stats); host samples report the count per iteration. */
  dispatches?: { reset(): void; count(): number };
}

export interface TimingOptions {
  /** Warm-up iterations after the first run, the same number for every side of a case (never skipped). */
  warmup: number;
  minReps: number;
  maxReps: number;
  /** Keep sampling (up to maxReps) until the samples add up to this much time. */
  minTotalMs: number;
  /** Iterations per sample are raised until one sample takes at least this long (1 iteration if it already does). */
  minSampleMs: number;
  /** Upper bound on iterations per sample. */
  maxInner: number;
  /** Host samples wanted per side (enqueue + submit of one iteration, started with the GPU idle). */
  hostSamples: number;
  /** Extra host-only samples stop once they have taken this long (wall time, waits included), after at least one. */
  hostMaxMs: number;
}

export interface HostTiming {
  /** Median milliseconds from the start of an iteration until its commands are submitted, the GPU idle before. */
  medianMs: number;
  samplesMs: number[];
  /** Dispatches per iteration (median over the samples), where the side counts them. */
  dispatches: number | null;
}

export interface Timing {
  medianMs: number;
  minMs: number;
  /** Milliseconds per iteration, one entry per sample. */
  samplesMs: number[];
  /** Iterations per sample. */
  inner: number;
  /** Host-side time, for sides that can submit without waiting (not the wasm backend). */
  host?: HostTiming;
}

export const QUICK_TIMING: TimingOptions = { warmup: 1, minReps: 2, maxReps: 3, minTotalMs: 1500, minSampleMs: 10, maxInner: 20, hostSamples: 5, hostMaxMs: 3000 };
export const FULL_TIMING: TimingOptions = { warmup: 2, minReps: 3, maxReps: 30, minTotalMs: 2000, minSampleMs: 20, maxInner: 100, hostSamples: 5, hostMaxMs: 10000 };

/** Collects host samples: milliseconds until submitted, and the dispatches counted in each. */
class HostRecorder {
  readonly ms: number[] = [];
  readonly dispatches: number[] = [];
  add(ms: number, dispatches: number | undefined): void {
    this.ms.push(ms);
    if (dispatches != null) this.dispatches.push(dispatches);
  }
  timing(): HostTiming | undefined {
    if (!this.ms.length) return undefined;
    return { medianMs: median(this.ms), samplesMs: this.ms, dispatches: this.dispatches.length ? median(this.dispatches) : null };
  }
}

/**
 * `iterations` enqueues and one wait; the wall time. Must start with the GPU idle (every caller has just awaited
 * `finish`). A one-iteration run of a side that can `submit` doubles as a host sample when `host` is given: the
 * submit comes where `finish` would have made it, so the GPU work and the wall time are those of a plain run.
 */
export async function runOnce(t: Timed, iterations = 1, host?: HostRecorder): Promise<number> {
  const record = host != null && iterations === 1 && t.submit != null;
  if (record) t.dispatches?.reset();
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) t.enqueue();
  if (record) {
    t.submit!();
    host.add(performance.now() - t0, t.dispatches?.count());
  }
  await t.finish();
  return performance.now() - t0;
}

/** One host-only sample: waits for the GPU to be idle, then times enqueue + submit; the wall time includes the wait. */
async function hostOnly(t: Timed, host: HostRecorder): Promise<number> {
  await t.finish();
  return runOnce(t, 1, host);
}

/** Whether a side still wants host-only samples after its timed ones (`spentMs`: their wall time so far). */
const wantsHost = (t: Timed, o: TimingOptions, host: HostRecorder, spentMs: number): boolean =>
  t.submit != null && host.ms.length < o.hostSamples && (host.ms.length === 0 || spentMs < o.hostMaxMs);

/** The same number of warm-up runs for every side; then the iterations per sample that make a sample ≥ minSampleMs. */
async function warmUp(t: Timed, o: TimingOptions, firstRunMs: number): Promise<number> {
  let last = firstRunMs;
  for (let i = 0; i < o.warmup; i++) last = await runOnce(t);
  return last >= o.minSampleMs || !Number.isFinite(last) ? 1 : Math.min(o.maxInner, Math.ceil(o.minSampleMs / Math.max(last, 1e-3)));
}

function timingOf(samplesMs: number[], inner: number, host: HostRecorder): Timing {
  const h = host.timing();
  return { medianMs: median(samplesMs), minMs: Math.min(...samplesMs), samplesMs, inner, ...(h ? { host: h } : {}) };
}

/**
 * `firstRunMs`: how long the first (compiling) run took, if one was made before (it sets the iterations per sample
 * when there is no warm-up). Host samples: the one-iteration timed samples, then host-only ones as needed.
 */
export async function measure(t: Timed, o: TimingOptions, firstRunMs = Infinity): Promise<Timing> {
  const inner = await warmUp(t, o, firstRunMs);
  const host = new HostRecorder();
  const samplesMs: number[] = [];
  let total = 0;
  while (samplesMs.length < o.minReps || (samplesMs.length < o.maxReps && total < o.minTotalMs)) {
    const ms = await runOnce(t, inner, host);
    total += ms;
    samplesMs.push(ms / inner);
  }
  let spent = 0;
  while (wantsHost(t, o, host, spent)) spent += await hostOnly(t, host);
  return timingOf(samplesMs, inner, host);
}

/**
 * Several implementations sampled in alternation (A B, B A, A B, …) so that a change in the host's load — other
 * processes on a shared machine, a software adapter's threads competing with them — falls on all of them alike
 * instead of on whichever happened to run later. Sampling stops once every side has minReps samples and either
 * maxReps or minTotalMs of samples. Host-only samples (where the timed ones did not provide enough) alternate too.
 */
export async function measureInterleaved(ts: readonly Timed[], o: TimingOptions, firstRunMs: readonly number[]): Promise<Timing[]> {
  const inner: number[] = [];
  for (const [i, t] of ts.entries()) inner.push(await warmUp(t, o, firstRunMs[i] ?? Infinity));
  const hosts = ts.map(() => new HostRecorder());
  const samples: number[][] = ts.map(() => []);
  const totals = ts.map(() => 0);
  const enough = (i: number): boolean => samples[i]!.length >= o.minReps && (samples[i]!.length >= o.maxReps || totals[i]! >= o.minTotalMs);
  const order = (round: number): number[] => {
    const idx = ts.map((_, i) => i);
    return round % 2 ? idx.reverse() : idx;
  };
  for (let round = 0; !ts.every((_, i) => enough(i)); round++) {
    for (const i of order(round)) {
      if (samples[i]!.length >= o.maxReps) continue;
      const ms = await runOnce(ts[i]!, inner[i]!, hosts[i]);
      totals[i]! += ms;
      samples[i]!.push(ms / inner[i]!);
    }
  }
  const spent = ts.map(() => 0);
  for (let round = 0; ts.some((t, i) => wantsHost(t, o, hosts[i]!, spent[i]!)); round++) {
    for (const i of order(round)) if (wantsHost(ts[i]!, o, hosts[i]!, spent[i]!)) spent[i]! += await hostOnly(ts[i]!, hosts[i]!);
  }
  return ts.map((_, i) => timingOf(samples[i]!, inner[i]!, hosts[i]!));
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
