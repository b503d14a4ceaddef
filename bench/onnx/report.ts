// The ONNX cases in the bench's report: one entry per case in the JSON's `onnx.cases`, a fixed-width table and a
// Markdown table. Headline: ratio = ORT Web WebGPU / ours in the same Chromium page (same adapter).
import type { OnnxCaseResult, OnnxEnvironment, OnnxSideName } from './run.js';

/** The order sides are listed and compared in; a pair's difference is relative to the later one (PyTorch last). */
export const COMPARED = ['ours_node', 'ours_node_eager', 'ours_browser', 'ours_browser_eager', 'ort_node', 'ort_webgpu', 'ort_wasm', 'pytorch'] as const;
export type Compared = (typeof COMPARED)[number];

export interface OnnxCaseReport {
  name: string;
  full_name: string;
  group: 'onnx';
  model: string;
  batch: number;
  shape: string;
  /** Median milliseconds per forward (warm, after the first run), per side; null where it did not run. */
  ms: Record<OnnxSideName, number | null>;
  /** Fastest sample, per side. */
  min_ms: Record<OnnxSideName, number | null>;
  /** Timed samples per side (each the mean of `inner` forwards). */
  samples: Record<OnnxSideName, number>;
  inner: Record<OnnxSideName, number>;
  /** Build (import or session creation) + pipeline compilation + one forward + readback, per side. */
  first_run_ms: Record<OnnxSideName, number | null>;
  /** ort_webgpu / ours_browser (same page, same adapter): above 1 means ours is faster. The headline. */
  ratio: number | null;
  /** ort_webgpu / ours_browser_eager. */
  ratio_eager: number | null;
  /** ort_wasm / ours_browser, ort_node / ours_node. */
  ratio_wasm: number | null;
  ratio_ort_node: number | null;
  images_per_s: Record<OnnxSideName, number | null>;
  /**
   * Every pair of sides (and PyTorch's logits.npy): the largest over the batch's images of ‖a − b‖₂ / ‖b‖₂ of that
   * image's logits, b the later of the two in COMPARED. null where a side has no output.
   */
  diffs: { a: Compared; b: Compared; diff: number | null }[];
  /** The largest of `diffs`, and the largest against PyTorch. */
  max_diff: number | null;
  max_diff_pytorch: number | null;
  tolerance: number;
  check: 'ok' | 'MISMATCH' | 'error';
  errors?: Partial<Record<OnnxSideName, string>>;
}

export interface OnnxSection extends OnnxEnvironment {
  cases: OnnxCaseReport[];
}

const round = (x: number | null | undefined, digits: number): number | null => (x == null || !Number.isFinite(x) ? null : Number(x.toPrecision(digits)));

/** max over rows of ‖a_r − b_r‖₂ / ‖b_r‖₂; Infinity on NaN/∞ or a length mismatch. */
export function maxRowNormRelDiff(a: Float32Array, b: Float32Array, rows: number): number {
  if (a.length !== b.length || rows <= 0 || a.length % rows) return Infinity;
  const per = a.length / rows;
  let worst = 0;
  for (let r = 0; r < rows; r++) {
    let num = 0;
    let den = 0;
    for (let i = r * per; i < (r + 1) * per; i++) {
      const d = a[i]! - b[i]!;
      if (!Number.isFinite(d)) return Infinity;
      num += d * d;
      den += b[i]! * b[i]!;
    }
    const e = num === 0 ? 0 : den > 0 ? Math.sqrt(num / den) : Infinity;
    if (e > worst) worst = e;
  }
  return worst;
}

export function onnxCaseReport(r: OnnxCaseResult): OnnxCaseReport {
  const names = Object.keys(r.sides) as OnnxSideName[];
  const per = <T>(f: (n: OnnxSideName) => T): Record<OnnxSideName, T> => Object.fromEntries(names.map((n) => [n, f(n)])) as Record<OnnxSideName, T>;
  const med = per((n) => round(r.sides[n].timing?.medianMs, 5));
  const outputs = new Map<Compared, Float32Array>();
  for (const c of COMPARED) {
    const out = c === 'pytorch' ? r.reference : r.sides[c].output;
    if (out) outputs.set(c, out);
  }
  const diffs: OnnxCaseReport['diffs'] = [];
  for (let i = 0; i < COMPARED.length; i++) {
    for (let j = i + 1; j < COMPARED.length; j++) {
      const a = outputs.get(COMPARED[i]!);
      const b = outputs.get(COMPARED[j]!);
      if (!a || !b) continue;
      const d = maxRowNormRelDiff(a, b, r.def.batch);
      diffs.push({ a: COMPARED[i]!, b: COMPARED[j]!, diff: Number.isFinite(d) ? round(d, 3) : null });
    }
  }
  const finiteDiffs = diffs.map((d) => d.diff ?? Infinity);
  const maxDiff = finiteDiffs.length ? Math.max(...finiteDiffs) : null;
  const vsPt = diffs.filter((d) => d.b === 'pytorch').map((d) => d.diff ?? Infinity);
  const errors = Object.fromEntries(names.filter((n) => r.sides[n].error && r.sides[n].error !== 'disabled').map((n) => [n, r.sides[n].error!]));
  const ratio = (num: OnnxSideName, den: OnnxSideName): number | null => (med[num] && med[den] ? round(med[num]! / med[den]!, 4) : null);
  const oursFailed = ['ours_node', 'ours_browser'].some((n) => r.sides[n as OnnxSideName].error && r.sides[n as OnnxSideName].error !== 'disabled');
  return {
    name: r.def.name,
    full_name: r.def.fullName,
    group: 'onnx',
    model: r.def.model,
    batch: r.def.batch,
    shape: r.def.shape,
    ms: med,
    min_ms: per((n) => round(r.sides[n].timing?.minMs, 5)),
    samples: per((n) => r.sides[n].timing?.samplesMs.length ?? 0),
    inner: per((n) => r.sides[n].timing?.inner ?? 0),
    first_run_ms: per((n) => round(r.sides[n].firstMs, 4)),
    ratio: ratio('ort_webgpu', 'ours_browser'),
    ratio_eager: ratio('ort_webgpu', 'ours_browser_eager'),
    ratio_wasm: ratio('ort_wasm', 'ours_browser'),
    ratio_ort_node: ratio('ort_node', 'ours_node'),
    images_per_s: per((n) => (med[n] ? round((r.def.images * 1000) / med[n]!, 4) : null)),
    diffs,
    max_diff: maxDiff == null ? null : round(maxDiff, 3),
    max_diff_pytorch: vsPt.length ? round(Math.max(...vsPt), 3) : null,
    tolerance: r.def.tolerance,
    check: oursFailed ? 'error' : maxDiff != null && maxDiff <= r.def.tolerance ? 'ok' : 'MISMATCH',
    ...(Object.keys(errors).length ? { errors } : {}),
  };
}

function fmtMs(x: number | null): string {
  if (x == null) return '-';
  if (x >= 1000) return `${(x / 1000).toFixed(2)} s`;
  return `${x.toPrecision(3)} ms`;
}
const fmtRatio = (x: number | null): string => (x == null ? '-' : `${x.toFixed(x >= 10 ? 1 : 2)}x`);
const fmtDiff = (x: number | null): string => (x == null ? '-' : x === 0 ? '0' : x.toExponential(1));
const withN = (c: OnnxCaseReport, s: OnnxSideName): string => (c.ms[s] == null ? '-' : `${fmtMs(c.ms[s])} (${c.samples[s]})`);

const HEAD = ['case', 'ours chromium', 'ORT webgpu', 'ratio', 'ours eager', 'ORT wasm', 'ours node', 'ORT node', 'max diff', 'vs PyTorch', 'check'];
function rows(sec: OnnxSection): string[][] {
  return sec.cases.map((c) => [
    c.name,
    withN(c, 'ours_browser'),
    withN(c, 'ort_webgpu'),
    fmtRatio(c.ratio),
    withN(c, 'ours_browser_eager'),
    withN(c, 'ort_wasm'),
    withN(c, 'ours_node'),
    withN(c, 'ort_node'),
    fmtDiff(c.max_diff),
    fmtDiff(c.max_diff_pytorch),
    c.check,
  ]);
}

export function formatOnnxTable(sec: OnnxSection): string {
  const rs = rows(sec);
  const widths = HEAD.map((h, i) => Math.max(h.length, ...rs.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((s, i) => (i === 0 ? s.padEnd(widths[i]!) : s.padStart(widths[i]!))).join('  ');
  const notes: string[] = [];
  for (const c of sec.cases) for (const [k, v] of Object.entries(c.errors ?? {})) notes.push(`${c.name}: ${k}: ${v}`);
  if (sec.browser_error) notes.push(`chromium: ${sec.browser_error}`);
  const b = sec.browser;
  return [
    `ONNX cases: median ms per forward (samples); ours chromium/eager, ORT webgpu and ORT wasm (${sec.wasm_threads} threads) in one headless Chromium page${b ? ` (WebGPU adapter ${b.vendor} ${b.architecture}, ORT Web ${sec.ort_web_version})` : ''}; ours node on Dawn, ORT node ${sec.ort_node_version ?? ''} CPU provider`,
    'ratio = ORT webgpu / ours chromium (same adapter; above 1: ours faster); ours replayed (captured once), eager: recorded every forward',
    'max diff = largest per-image ‖a − b‖/‖b‖ of the logits over every pair of sides and PyTorch; vs PyTorch: the largest against logits.npy',
    '',
    line(HEAD),
    line(widths.map((w) => '-'.repeat(w))),
    ...rs.map(line),
    ...(notes.length ? ['', ...notes] : []),
  ].join('\n');
}

export function formatOnnxMarkdown(sec: OnnxSection): string {
  return [
    `| ${HEAD.join(' | ')} |`,
    `|---|${HEAD.slice(1, -1).map(() => '---:').join('|')}|---|`,
    ...rows(sec).map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}
