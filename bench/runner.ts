// Runs one case on each implementation (ours, TF.js WebGPU, TF.js wasm) and compares what they computed. Ours and
// TF.js WebGPU are sampled in alternation on the shared device (both alive at once), or with `sequential` one at a
// time so their memory never overlaps; the wasm CPU reference always runs last, on its own.
import type { KernelTiming, RecordedCommand } from '../src/engine/index.js';
import { chooseGemmVariant, startGemmProbes, stopGemmProbes } from '../src/kernels/gemm-variant.js';
import type { BenchContext, CaseDef, Side } from './cases/types.js';
import { maxRelDiff, maxRelDiffAll, normRelDiff } from './compare.js';
import { measureFloor, measureUpload, type FloorTiming } from './floor.js';
import { measure, measureInterleaved, runOnce, type Timing, type TimingOptions } from './timing.js';

export interface SideResult {
  timing?: Timing;
  /** The first run: upload, pipeline compilation, one iteration and the readback. */
  firstMs?: number;
  /** Ours: the iteration's commands encoded and submitted with everything prebuilt (bench/floor.ts). */
  hostFloor?: FloorTiming;
  /** Ours: writing the iteration's per-step inputs alone, until submitted. */
  upload?: FloorTiming;
  /** GPU bytes at the peak of one iteration after the timed ones (see measurePeak). */
  peakBytes?: number;
  error?: string;
}

export interface CaseResult {
  def: CaseDef;
  ours: SideResult;
  tfjs: SideResult;
  wasm: SideResult;
  /** ours vs TF.js WebGPU (the reported number), and ours vs TF.js wasm (a second opinion). */
  maxRelDiff: number | null;
  maxRelDiffWasm: number | null;
  /** With CaseDef.outputChecks: each output's difference from TF.js WebGPU under its own metric. */
  outputDiffs?: number[];
  /** Per-kernel GPU time of one iteration (with --profile): ours from our profiler, TF.js WebGPU from tf.profile. */
  profile?: KernelTiming[];
  tfjsProfile?: KernelTiming[];
  skipped?: string;
  /** Ours: GEMMs dispatched in the first run by the kernel variant that served them (gemm-variant.ts). */
  gemmVariants?: Record<string, number>;
}

export interface RunOptions {
  timing: TimingOptions;
  /** The CPU reference is slow at full size: it gets fewer repetitions. */
  wasmTiming: TimingOptions;
  profile: boolean;
  wasm: boolean;
  /** One implementation at a time (less memory) instead of alternating samples of ours and TF.js WebGPU. */
  sequential: boolean;
  log: (line: string) => void;
}

export async function runCase(def: CaseDef, ctx: BenchContext, o: RunOptions): Promise<CaseResult> {
  const res: CaseResult = { def, ours: {}, tfjs: {}, wasm: {}, maxRelDiff: null, maxRelDiffWasm: null };
  if (def.skip) {
    res.skipped = def.skip;
    o.log(`${def.name}: skipped (${def.skip})`);
    return res;
  }
  const outputs: { ours?: Float32Array[]; tfjs?: Float32Array[]; wasm?: Float32Array[] } = {};

  const profileOurs = async (s: Side): Promise<void> => {
    if (!o.profile || !ctx.engine.profiler.supported) return;
    // A replay re-encodes recorded passes without timestamp writes: the `_eager` twin has the per-kernel times.
    if (def.replay) return;
    ctx.engine.profiler.start();
    await runOnce(s);
    res.profile = await ctx.engine.profiler.stop();
  };
  const profileTheirs = async (s: Side): Promise<void> => {
    if (o.profile) res.tfjsProfile = await profileTfjs(ctx, s);
  };

  if (o.sequential) {
    outputs.ours = await side('ours', res.ours, () => def.ours(ctx), profileOurs);
    await ctx.tfjs.useWebgpu();
    outputs.tfjs = await side('tfjs', res.tfjs, () => def.tfjs(ctx, 'webgpu'), profileTheirs);
  } else {
    await ctx.tfjs.useWebgpu();
    await interleaved();
  }
  if (!o.wasm) res.wasm.error = 'disabled';
  else if (def.wasmUnsupported) res.wasm.error = def.wasmUnsupported;
  else if (!ctx.tfjs.wasm) res.wasm.error = ctx.tfjs.wasmError ?? 'unavailable';
  else {
    try {
      await ctx.tfjs.useWasm();
      outputs.wasm = await side('wasm', res.wasm, () => def.tfjs(ctx, 'wasm'), undefined, o.wasmTiming);
    } finally {
      await ctx.tfjs.useWebgpu();
    }
  }

  if (outputs.ours && outputs.tfjs) {
    const ours = outputs.ours;
    const theirs = outputs.tfjs;
    const checks = def.outputChecks;
    if (checks && checks.length === ours.length && ours.length === theirs.length) {
      res.outputDiffs = checks.map((c, i) => (c.metric === 'norm' ? normRelDiff : maxRelDiff)(ours[i]!, theirs[i]!));
      res.maxRelDiff = Math.max(...res.outputDiffs.filter((_, i) => checks[i]!.metric === 'max'));
      o.log(`${def.name}: per output ${checks.map((c, i) => `${c.name} ${c.metric} ${res.outputDiffs![i]!.toExponential(1)}`).join(', ')}`);
    } else {
      res.maxRelDiff = maxRelDiffAll(ours, theirs);
      if (checks) res.maxRelDiff = Infinity; // the case promised a number of outputs it did not produce
    }
  }
  if (outputs.ours && outputs.wasm) res.maxRelDiffWasm = maxRelDiffAll(outputs.ours, outputs.wasm);
  return res;

  /** Both GPU sides built and run once, then sampled in alternation; a side that fails leaves the other timed alone. */
  async function interleaved(): Promise<void> {
    const built: { label: 'ours' | 'tfjs'; into: SideResult; s: Side; first: number; after: (s: Side) => Promise<void> }[] = [];
    const makers = [
      { label: 'ours' as const, into: res.ours, make: () => def.ours(ctx), after: profileOurs },
      { label: 'tfjs' as const, into: res.tfjs, make: () => def.tfjs(ctx, 'webgpu'), after: profileTheirs },
    ];
    try {
      for (const m of makers) {
        try {
          const r = await firstRun(m.label, m.into, m.make);
          outputs[m.label] = r.out;
          built.push({ ...m, s: r.s, first: r.first });
        } catch (e) {
          m.into.error = errorText(e);
          o.log(`${def.name}: ${m.label} failed: ${m.into.error}`);
        }
      }
      if (!built.length) return;
      const timings = await measureInterleaved(built.map((b) => b.s), o.timing, built.map((b) => b.first));
      for (const [i, b] of built.entries()) {
        b.into.timing = timings[i]!;
        o.log(`${def.name}: ${b.label} median ${fmtMs(b.into.timing.medianMs)} over ${b.into.timing.samplesMs.length}×${b.into.timing.inner} (interleaved)${hostNote(b.into.timing)}`);
      }
      for (const b of built) b.into.peakBytes = await measurePeak(b.label, b.s);
      for (const b of built) if (b.label === 'ours') await measureOursFloor(b.s, b.into);
      for (const b of built) await b.after(b.s);
    } catch (e) {
      for (const b of built) b.into.error ??= errorText(e);
      o.log(`${def.name}: timing failed: ${errorText(e)}`);
    } finally {
      for (const b of built) {
        try {
          b.s.dispose();
        } catch (e) {
          b.into.error ??= errorText(e);
        }
      }
      try {
        await ctx.engine.sync();
      } catch (e) {
        res.ours.error ??= errorText(e);
      }
    }
  }

  /**
   * GPU bytes at the peak of one more iteration, from the state the timed iterations left: ours from the engine's
   * own count (memoryStats: live buffers of tensors and captured steps, by capacity), TF.js WebGPU from tf.profile's
   * peakBytes (the most bytes of live tensors tf.memory() counted after any kernel of the iteration).
   */
  async function measurePeak(label: string, s: Side): Promise<number | undefined> {
    if (label === 'ours') {
      await s.finish();
      ctx.engine.resetPeak();
      s.enqueue();
      await s.finish();
      const peak = ctx.engine.memoryStats().peakBytes;
      o.log(`${def.name}: ours peak ${mib(peak)}`);
      return peak;
    }
    if (label !== 'tfjs') return undefined;
    const info = await ctx.tfjs.tf.profile(async () => {
      s.enqueue();
      await s.finish();
    });
    if (!Number.isFinite(info.peakBytes)) return undefined;
    o.log(`${def.name}: tfjs peak ${mib(info.peakBytes)}`);
    return info.peakBytes;
  }

  /**
   * Ours: the host floor (one more iteration traced, its commands re-encoded and submitted with everything
   * prebuilt, o.timing.hostSamples times) and the per-step upload alone. The pool keeps every buffer the traced
   * iteration releases (none destroyed) so the re-encoded commands stay valid.
   */
  async function measureOursFloor(s: Side, into: SideResult): Promise<void> {
    const e = ctx.engine;
    const n = Math.max(3, o.timing.hostSamples);
    await s.finish();
    const keep = e.pool.maxFreeBytes;
    e.pool.maxFreeBytes = Infinity;
    let commands: RecordedCommand[] = [];
    try {
      e.startTrace();
      try {
        s.enqueue();
        e.flush();
      } finally {
        commands = e.stopTrace();
      }
      await s.finish();
      const floor = await measureFloor(e, commands, n);
      if (floor) into.hostFloor = floor;
      if (s.upload) into.upload = await measureUpload(e, s.upload, n);
    } finally {
      e.pool.maxFreeBytes = keep;
    }
    o.log(`${def.name}: ours host floor ${into.hostFloor ? `${fmtMs(into.hostFloor.medianMs)} (min ${fmtMs(into.hostFloor.minMs)})` : 'void'} for ${commands.length} commands; upload ${into.upload ? `${fmtMs(into.upload.medianMs)} (min ${fmtMs(into.upload.minMs)})` : '-'}`);
  }

  /**
   * What host samples need (timing.ts): ours submits with the engine's flush and counts dispatches in its stats,
   * TF.js WebGPU submits its command encoder; the wasm backend runs synchronously and gets neither.
   */
  function withHostHooks(label: string, s: Side): Side {
    if (label === 'ours') {
      const e = ctx.engine;
      s.submit ??= () => e.flush();
      s.dispatches ??= { reset: () => e.resetStats(), count: () => [...e.stats.dispatches.values()].reduce((a, n) => a + n, 0) };
    } else if (label === 'tfjs') {
      s.submit ??= () => ctx.tfjs.submitWebgpu();
    }
    return s;
  }

  /**
   * Builds a side and runs it once from the initial state: the compared values, and every pipeline compiled. The
   * side is disposed again if that fails.
   */
  async function firstRun(label: string, into: SideResult, make: () => Side): Promise<{ s: Side; first: number; out: Float32Array[] }> {
    const t0 = performance.now();
    // Ours: which GEMM variant served each product of the first run (a replay dispatches the same kernels).
    const probing = label === 'ours';
    if (probing) startGemmProbes(ctx.engine);
    let s: Side;
    try {
      s = withHostHooks(label, make());
    } catch (e) {
      if (probing) stopGemmProbes(ctx.engine);
      throw e;
    }
    try {
      let out: Float32Array[];
      try {
        out = await s.result();
        await s.finish();
      } finally {
        if (probing) {
          const counts: Record<string, number> = {};
          for (const p of stopGemmProbes(ctx.engine)) {
            const v = chooseGemmVariant(ctx.engine, p.shape);
            counts[v] = (counts[v] ?? 0) + 1;
          }
          res.gemmVariants = counts;
        }
      }
      const first = performance.now() - t0;
      into.firstMs = first;
      const gemms = probing && res.gemmVariants && Object.keys(res.gemmVariants).length ? `; GEMMs by ${Object.entries(res.gemmVariants).map(([v, n]) => `${v}×${n}`).join(', ')}` : '';
      o.log(`${def.name}: ${label} first run ${fmtMs(first)} (upload + compile + run + read)${gemms}`);
      return { s, first, out };
    } catch (e) {
      s.dispose();
      throw e;
    }
  }

  async function side(
    label: string,
    into: SideResult,
    make: () => Side,
    after?: (s: Side) => Promise<void>,
    timing: TimingOptions = o.timing,
  ): Promise<Float32Array[] | undefined> {
    let s: Side | null = null;
    try {
      const r = await firstRun(label, into, make);
      s = r.s;
      const out = r.out;
      into.timing = await measure(s, timing, r.first);
      o.log(`${def.name}: ${label} median ${fmtMs(into.timing.medianMs)} over ${into.timing.samplesMs.length}×${into.timing.inner}${hostNote(into.timing)}`);
      const peak = await measurePeak(label, s);
      if (peak !== undefined) into.peakBytes = peak;
      if (label === 'ours') await measureOursFloor(s, into);
      await after?.(s);
      return out;
    } catch (e) {
      into.error = errorText(e);
      o.log(`${def.name}: ${label} failed: ${into.error}`);
      return undefined;
    } finally {
      try {
        s?.dispose();
        if (label === 'ours') await ctx.engine.sync();
      } catch (e) {
        into.error ??= errorText(e);
      }
    }
  }
}

/** TF.js's own per-kernel timing (timestamp queries on WebGPU), summed by kernel name. */
async function profileTfjs(ctx: BenchContext, s: Side): Promise<KernelTiming[]> {
  const info = await ctx.tfjs.tf.profile(async () => {
    s.enqueue();
    await s.finish();
  });
  const totals = new Map<string, KernelTiming>();
  // tf.profile also lists the op wrappers (`…__op`) that dispatch the kernels: count kernels only.
  for (const k of info.kernels.filter((k) => !k.name.endsWith('__op'))) {
    const t = totals.get(k.name) ?? { name: k.name, calls: 0, totalMs: 0 };
    t.calls++;
    if (typeof k.kernelTimeMs === 'number') t.totalMs += k.kernelTimeMs;
    totals.set(k.name, t);
  }
  return [...totals.values()].sort((a, b) => b.totalMs - a.totalMs);
}

export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message.split('\n')[0]!;
  const m = (e as { message?: unknown })?.message;
  return typeof m === 'string' ? m : String(e);
}

function hostNote(t: Timing): string {
  if (!t.host) return '';
  return `; host ${fmtMs(t.host.medianMs)} over ${t.host.samplesMs.length}${t.host.dispatches != null ? `, ${t.host.dispatches} dispatches` : ''}`;
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

export function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms >= 10 ? 1 : 3)} ms`;
}
