// Timing and checking helpers for the kernel ladders (dev only: not part of the library).
import { readdirSync, readFileSync } from 'node:fs';
import type { Engine, Tensor } from '../src/engine/index.js';

export function randn(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

export function relErr(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = got[i]! - ref[i]!;
    num += d * d;
    den += ref[i]! * ref[i]!;
  }
  const r = Math.sqrt(num / den);
  return Number.isNaN(r) ? Infinity : r;
}

/**
 * CPU seconds used so far by this process's threads: lavapipe's compute workers (here the threads started after
 * the ones named llvmpipe-*, seen with dev/threads.ts), the main thread (which polls Dawn while awaiting), and the
 * rest (shader compilation among them).
 */
export function threadCpu(): { workers: number; main: number; other: number } {
  const threads: { tid: number; name: string; ticks: number }[] = [];
  for (const t of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      threads.push({ tid: Number(t), name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // the thread ended
    }
  }
  const lp = Math.max(...threads.filter((t) => t.name.startsWith('llvmpipe')).map((t) => t.tid));
  let workers = 0;
  let main = 0;
  let other = 0;
  for (const t of threads) {
    if (t.tid === process.pid) main += t.ticks;
    else if (t.tid > lp && !t.name.startsWith('llvmpipe')) workers += t.ticks;
    else other += t.ticks;
  }
  return { workers: workers / 100, main: main / 100, other: other / 100 };
}

export interface Timing {
  /** Fastest wall-clock seconds per call (the machine is shared, so the minimum is the least disturbed). */
  min: number;
  median: number;
  /** CPU seconds of lavapipe's worker threads per call: what the kernel costs, whatever else runs on the machine. */
  cpu: number;
}

/** Runs `dispatch` once to warm up (pipeline compile), then at least `reps` times and about `minSeconds`. */
export async function time(e: Engine, dispatch: () => void, reps: number, minSeconds = 1.5): Promise<Timing> {
  dispatch();
  await e.sync();
  const times: number[] = [];
  const start = performance.now();
  const cpu0 = threadCpu().workers;
  for (let i = 0; i < reps || (performance.now() - start < minSeconds * 1000 && i < 50); i++) {
    const t0 = performance.now();
    dispatch();
    await e.sync();
    times.push((performance.now() - t0) / 1000);
  }
  const cpu1 = threadCpu().workers - cpu0;
  times.sort((a, b) => a - b);
  return { min: times[0]!, median: times[Math.floor(times.length / 2)]!, cpu: cpu1 / times.length };
}

/** One line: wall-clock GFLOP/s of the fastest run, and GFLOP per worker CPU-second × 2 workers (an idle machine's rate). */
export function rate(flop: number, t: Timing): string {
  return `${fmt(t.min * 1000, 1).padStart(8)} ms  ${fmt(flop / t.min / 1e9).padStart(6)} GFLOP/s  (cpu-based ${fmt((2 * flop) / t.cpu / 1e9).padStart(6)})`;
}

export async function poison(e: Engine, t: Tensor): Promise<void> {
  e.write(t, new Float32Array(t.size).fill(NaN));
}

export function fmt(x: number, digits = 2): string {
  return x.toFixed(digits);
}
