// The JSON report (`--json FILE`) and the plain-text table printed to stdout.
import type { AdapterSummary, KernelTiming } from '../src/engine/index.js';
import type { OnnxSection } from './onnx/report.js';
import type { CaseResult } from './runner.js';
import type { TimingOptions } from './timing.js';

export type Check = 'ok' | 'MISMATCH' | 'unchecked' | 'error' | 'skipped';

export interface CaseReport {
  name: string;
  /** The full-size case this stands for (differs from `name` under --quick). */
  full_name: string;
  group: string;
  batch: number | null;
  shape: string;
  /** Ours replays a captured step (engine.capture) instead of recording it anew each iteration (the `_eager` twin). */
  replay: boolean;
  ours_ms: number | null;
  tfjs_ms: number | null;
  /**
   * Ours: median JS time of one iteration from its start until its commands are submitted (enqueue + the engine's
   * flush), each sample started with the GPU idle; TF.js WebGPU: the same for its enqueue + command-encoder submit.
   */
  host_ms: number | null;
  tfjs_host_ms: number | null;
  /** The fastest of ours' host samples. */
  host_min_ms: number | null;
  /**
   * Ours: the same iteration's commands (same pipelines, bind groups, workgroup counts) encoded into a new encoder
   * and submitted with everything prebuilt (bench/floor.ts): what the WebGPU stack itself costs. Median and minimum.
   */
  host_floor_ms: number | null;
  host_floor_min_ms: number | null;
  /** Ours: writing the iteration's per-step inputs (a new batch) alone until submitted; median and minimum. */
  upload_ms: number | null;
  upload_min_ms: number | null;
  /** host_ms / host_floor_ms. */
  host_over_floor: number | null;
  /**
   * GPU bytes at the peak of one iteration after the timed ones. Ours: the engine's count of live buffers (tensors
   * and captured steps, by buffer capacity; engine.memoryStats). TF.js WebGPU: tf.profile's peakBytes, the most
   * bytes of live tensors tf.memory() counted after any kernel of the iteration (its buffer pool not included).
   */
  peak_bytes: number | null;
  tfjs_peak_bytes: number | null;
  /** Where a case defines it (the fine-tuning step): the fewest bytes an iteration can need (cases/finetune.ts). */
  peak_lower_bound_bytes: number | null;
  /** Ours: dispatches per iteration (engine.stats over one iteration). */
  dispatches: number | null;
  /** tfjs_ms / ours_ms: above 1 means ours is faster. */
  ratio: number | null;
  tfjs_wasm_ms: number | null;
  ratio_wasm: number | null;
  /** GFLOP/s achieved by ours (and by TF.js WebGPU). */
  gflops: number | null;
  tfjs_gflops: number | null;
  images_per_s: number | null;
  tfjs_images_per_s: number | null;
  /** max|ours − tfjs| / max|tfjs| over every compared output; null when not computed or not finite. */
  max_rel_diff: number | null;
  max_rel_diff_wasm: number | null;
  /** Per compared output, where a case says how to compare each (the fine-tuning step: loss, then its gradients). */
  output_diffs?: { output: string; metric: 'max' | 'norm'; diff: number | null; tolerance: number }[];
  tolerance: number;
  check: Check;
  samples: { ours: number; tfjs: number; wasm: number };
  /** How many host samples host_ms and tfjs_host_ms are medians of. */
  host_samples: { ours: number; tfjs: number };
  /** The first run of each side: upload + pipeline compilation + one iteration + readback (not in the medians). */
  first_run_ms: { ours: number | null; tfjs: number | null; wasm: number | null };
  errors?: { ours?: string; tfjs?: string; wasm?: string };
  skipped?: string;
  profile?: { kernel: string; calls: number; ms: number }[];
  tfjs_profile?: { kernel: string; calls: number; ms: number }[];
  /** Ours: the GEMM kernel variants used (distinct, sorted), and how many GEMMs of the first run each served. */
  gemm_variants: string[];
  gemm_counts: Record<string, number>;
}

export interface Report {
  adapter: { vendor: string; architecture: string; description: string; device: string };
  device: { shared_with_tfjs: boolean; fallback_adapter: boolean; max_storage_binding_bytes: number };
  date: string;
  /** CPU count and 1-minute load average before and after the run: timings from a busy host are not comparable. */
  host: { cpus: number; load_start: number; load_end: number };
  node: string;
  tfjs_version: string;
  quick: boolean;
  /** Ours and TF.js WebGPU sampled in alternation (false: one after the other, with --sequential). */
  interleaved: boolean;
  timing: TimingOptions;
  /** The per-adapter GEMM tuning cache the run loaded (`webgpu-transfer tune`); state 'none'/'off': the heuristic. */
  gemm_tuning: { file: string; state: string; entries: number } | null;
  cases: CaseReport[];
  /** The opt-in ONNX cases (ours against ONNX Runtime; bench/onnx/report.ts), when any ran. */
  onnx?: OnnxSection;
}

const finite = (x: number | null | undefined): number | null => (x != null && Number.isFinite(x) ? x : null);
const round = (x: number | null, digits: number): number | null => (x == null ? null : Number(x.toPrecision(digits)));

export function checkOf(r: CaseResult): Check {
  if (r.skipped) return 'skipped';
  if (r.ours.error) return 'error';
  if (r.maxRelDiff == null) return 'unchecked';
  const checks = r.def.outputChecks;
  if (checks && r.outputDiffs) return checks.every((c, i) => r.outputDiffs![i]! <= c.tolerance) ? 'ok' : 'MISMATCH';
  return r.maxRelDiff <= r.def.tolerance ? 'ok' : 'MISMATCH';
}

const kernels = (ks: KernelTiming[]): { kernel: string; calls: number; ms: number }[] =>
  ks.map((k) => ({ kernel: k.name, calls: k.calls, ms: round(k.totalMs, 4)! }));

export function caseReport(r: CaseResult): CaseReport {
  const d = r.def;
  const ours = finite(r.ours.timing?.medianMs);
  const tfjs = finite(r.tfjs.timing?.medianMs);
  const wasm = finite(r.wasm.timing?.medianMs);
  const per = (ms: number | null, amount: number | undefined, scale: number): number | null =>
    ms != null && amount ? round(amount / (ms / 1000) / scale, 4) : null;
  const errors = Object.fromEntries(
    (['ours', 'tfjs', 'wasm'] as const).filter((k) => r[k].error && r[k].error !== 'disabled').map((k) => [k, r[k].error!]),
  );
  return {
    name: d.name,
    full_name: d.fullName,
    group: d.group,
    batch: d.batch ?? null,
    shape: d.shape,
    replay: d.replay ?? false,
    ours_ms: round(ours, 5),
    tfjs_ms: round(tfjs, 5),
    host_ms: round(finite(r.ours.timing?.host?.medianMs), 4),
    tfjs_host_ms: round(finite(r.tfjs.timing?.host?.medianMs), 4),
    peak_bytes: finite(r.ours.peakBytes),
    tfjs_peak_bytes: finite(r.tfjs.peakBytes),
    peak_lower_bound_bytes: finite(d.peakLowerBoundBytes),
    host_min_ms: round(finite(r.ours.timing?.host ? Math.min(...r.ours.timing.host.samplesMs) : null), 4),
    host_floor_ms: round(finite(r.ours.hostFloor?.medianMs), 4),
    host_floor_min_ms: round(finite(r.ours.hostFloor?.minMs), 4),
    upload_ms: round(finite(r.ours.upload?.medianMs), 4),
    upload_min_ms: round(finite(r.ours.upload?.minMs), 4),
    host_over_floor: r.ours.timing?.host && r.ours.hostFloor ? round(finite(r.ours.timing.host.medianMs / r.ours.hostFloor.medianMs), 3) : null,
    dispatches: finite(r.ours.timing?.host?.dispatches),
    ratio: ours && tfjs ? round(tfjs / ours, 4) : null,
    tfjs_wasm_ms: round(wasm, 5),
    ratio_wasm: ours && wasm ? round(wasm / ours, 4) : null,
    gflops: per(ours, d.flops, 1e9),
    tfjs_gflops: per(tfjs, d.flops, 1e9),
    images_per_s: per(ours, d.images, 1),
    tfjs_images_per_s: per(tfjs, d.images, 1),
    max_rel_diff: round(finite(r.maxRelDiff), 3),
    max_rel_diff_wasm: round(finite(r.maxRelDiffWasm), 3),
    ...(r.outputDiffs && d.outputChecks
      ? {
          output_diffs: d.outputChecks.map((c, i) => ({ output: c.name, metric: c.metric, diff: round(finite(r.outputDiffs![i]), 3), tolerance: c.tolerance })),
        }
      : {}),
    tolerance: d.tolerance,
    check: checkOf(r),
    samples: {
      ours: r.ours.timing?.samplesMs.length ?? 0,
      tfjs: r.tfjs.timing?.samplesMs.length ?? 0,
      wasm: r.wasm.timing?.samplesMs.length ?? 0,
    },
    host_samples: { ours: r.ours.timing?.host?.samplesMs.length ?? 0, tfjs: r.tfjs.timing?.host?.samplesMs.length ?? 0 },
    first_run_ms: { ours: round(finite(r.ours.firstMs), 4), tfjs: round(finite(r.tfjs.firstMs), 4), wasm: round(finite(r.wasm.firstMs), 4) },
    ...(Object.keys(errors).length ? { errors } : {}),
    ...(r.skipped ? { skipped: r.skipped } : {}),
    ...(r.profile ? { profile: kernels(r.profile) } : {}),
    ...(r.tfjsProfile ? { tfjs_profile: kernels(r.tfjsProfile) } : {}),
    gemm_variants: Object.keys(r.gemmVariants ?? {}).sort(),
    gemm_counts: { ...(r.gemmVariants ?? {}) },
  };
}

export function buildReport(
  info: AdapterSummary,
  meta: {
    sharedDevice: boolean;
    tfjsVersion: string;
    quick: boolean;
    interleaved: boolean;
    timing: TimingOptions;
    cpus: number;
    loadStart: number;
    loadEnd: number;
    gemmTuning?: { file: string; state: string; entries: number };
  },
  results: CaseResult[],
): Report {
  return {
    adapter: { vendor: info.vendor, architecture: info.architecture, description: info.description, device: info.device },
    device: {
      shared_with_tfjs: meta.sharedDevice,
      fallback_adapter: info.isFallbackAdapter,
      max_storage_binding_bytes: info.limits.maxStorageBufferBindingSize ?? 0,
    },
    date: new Date().toISOString(),
    host: { cpus: meta.cpus, load_start: round(meta.loadStart, 3)!, load_end: round(meta.loadEnd, 3)! },
    node: process.version,
    tfjs_version: meta.tfjsVersion,
    quick: meta.quick,
    interleaved: meta.interleaved,
    timing: meta.timing,
    gemm_tuning: meta.gemmTuning ?? null,
    cases: results.map(caseReport),
  };
}

function ms(x: number | null): string {
  if (x == null) return '-';
  if (x >= 1000) return `${(x / 1000).toFixed(2)} s`;
  return `${x.toPrecision(3)} ms`;
}
function num(x: number | null, digits = 3): string {
  return x == null ? '-' : x >= 1000 ? x.toFixed(0) : x.toPrecision(digits);
}
function ratio(x: number | null): string {
  return x == null ? '-' : `${x.toFixed(x >= 10 ? 1 : 2)}x`;
}
/** Bytes as MB (10⁶), as the table shows them. */
function mb(x: number | null): string {
  return x == null ? '-' : (x / 1e6).toFixed(x >= 1e8 ? 0 : 1);
}
function diff(x: number | null): string {
  return x == null ? '-' : x === 0 ? '0' : x.toExponential(1);
}

/** A fixed-width table, one row per case; errors and skips as footnotes. */
export function formatTable(rep: Report): string {
  const head = ['case', 'ours', 'tfjs webgpu', 'ratio', 'tfjs wasm', 'GFLOP/s', 'img/s', 'host ms', 'floor ms', 'upload', 'disp', 'peak MB', 'max_rel_diff', 'check'];
  const rows = rep.cases.map((c) => [
    c.name,
    ms(c.ours_ms),
    ms(c.tfjs_ms),
    ratio(c.ratio),
    ms(c.tfjs_wasm_ms),
    c.gflops == null ? '-' : `${num(c.gflops)} / ${num(c.tfjs_gflops)}`,
    c.images_per_s == null ? '-' : `${num(c.images_per_s)} / ${num(c.tfjs_images_per_s)}`,
    c.host_ms == null && c.tfjs_host_ms == null ? '-' : `${num(c.host_ms)} / ${num(c.tfjs_host_ms)}`,
    c.host_floor_ms == null ? '-' : `${num(c.host_floor_ms)} (${ratio(c.host_over_floor)})`,
    num(c.upload_ms),
    c.dispatches == null ? '-' : String(c.dispatches),
    c.peak_bytes == null && c.tfjs_peak_bytes == null ? '-' : `${mb(c.peak_bytes)} / ${mb(c.tfjs_peak_bytes)}`,
    diff(c.max_rel_diff),
    c.check,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((s, i) => (i === 0 ? s.padEnd(widths[i]!) : s.padStart(widths[i]!))).join('  ');
  const notes: string[] = [];
  for (const c of rep.cases) {
    if (c.skipped) notes.push(`${c.name}: skipped: ${c.skipped}`);
    for (const [k, v] of Object.entries(c.errors ?? {})) notes.push(`${c.name}: ${k}: ${v}`);
    const bound = peakNote(c);
    if (bound) notes.push(bound);
  }
  const a = rep.adapter;
  return [
    `adapter: ${a.vendor} ${a.architecture} (${a.description}); TF.js ${rep.tfjs_version} ${rep.device.shared_with_tfjs ? 'on the same GPUDevice' : 'on its own device, same adapter'}${rep.quick ? '; --quick (reduced sizes)' : ''}; ${rep.interleaved ? 'samples of ours and TF.js WebGPU interleaved' : 'sides timed one after the other'}`,
    `host: ${rep.host.cpus} CPUs, load average ${rep.host.load_start.toFixed(1)} at the start, ${rep.host.load_end.toFixed(1)} at the end`,
    'ratio = tfjs webgpu / ours (above 1: ours faster); GFLOP/s, img/s and host ms: ours / tfjs webgpu',
    'host ms = JS time of one iteration until submitted (GPU idle); disp = our dispatches per iteration; *_eager: ours re-recorded every iteration, else replayed',
    'floor ms = our iteration\'s commands encoded + submitted with everything prebuilt (in brackets: host ms / floor); upload = writing its per-step inputs alone',
    'peak MB = GPU bytes at the peak of one iteration, ours (live buffers) / tfjs webgpu (tf.memory() bytes, via tf.profile)',
    '',
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    ...(notes.length ? ['', ...notes] : []),
  ].join('\n');
}

/** The peak against the case's lower bound and against TF.js, where the case has a bound. */
function peakNote(c: CaseReport): string | null {
  if (c.peak_lower_bound_bytes == null || c.peak_bytes == null) return null;
  const vsTfjs = c.tfjs_peak_bytes ? `, ${(c.peak_bytes / c.tfjs_peak_bytes).toFixed(2)}× TF.js's ${mb(c.tfjs_peak_bytes)} MB` : '';
  return `${c.name}: peak ${mb(c.peak_bytes)} MB = ${(c.peak_bytes / c.peak_lower_bound_bytes).toFixed(2)}× the lower bound ${mb(c.peak_lower_bound_bytes)} MB${vsTfjs}`;
}

export function formatProfile(rep: Report, top = 10): string {
  const out: string[] = [];
  const list = (who: string, name: string, ks: { kernel: string; calls: number; ms: number }[] | undefined): void => {
    if (!ks?.length) return;
    const total = ks.reduce((a, k) => a + k.ms, 0);
    out.push('', `${name} — ${who}: GPU time per kernel over one iteration (timestamp queries), total ${ms(total)}`);
    for (const k of ks.slice(0, top)) {
      out.push(`  ${k.kernel.padEnd(40)} ${String(k.calls).padStart(5)} calls  ${ms(k.ms).padStart(10)}  ${((100 * k.ms) / (total || 1)).toFixed(1).padStart(5)}%`);
    }
  };
  for (const c of rep.cases) {
    list('ours', c.name, c.profile);
    list('TF.js WebGPU', c.name, c.tfjs_profile);
  }
  return out.join('\n');
}

/** A Markdown table of the same numbers, for bench/README.md. */
export function formatMarkdown(rep: Report): string {
  const rows = rep.cases.map(
    (c) =>
      `| ${c.name} | ${ms(c.ours_ms)} | ${ms(c.tfjs_ms)} | ${ratio(c.ratio)} | ${ms(c.tfjs_wasm_ms)} | ${num(c.gflops)} | ${num(c.images_per_s)} | ${num(c.host_ms)} | ${num(c.host_floor_ms)} | ${num(c.upload_ms)} | ${c.dispatches ?? '-'} | ${mb(c.peak_bytes)} | ${mb(c.tfjs_peak_bytes)} | ${diff(c.max_rel_diff)} | ${c.check} |`,
  );
  return [
    '| case | ours | TF.js WebGPU | ratio | TF.js wasm | ours GFLOP/s | ours img/s | ours host ms | host floor ms | upload ms | dispatches | ours peak MB | TF.js peak MB | max_rel_diff | check |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...rows,
  ].join('\n');
}
