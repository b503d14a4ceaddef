/**
 * Per-adapter GEMM tuning (platform-neutral). The GEMMs of a real step are recorded as probes (gemm-variant.ts
 * `startGemmProbes` / `stopGemmProbes`); `tuneGemms` groups them by shape class, times every candidate variant of
 * each class once on this device within a bounded budget — GPU time from timestamp queries where the device has
 * them, else wall clock around `onSubmittedWorkDone` — and applies the winners with `setGemmTuning`.
 *
 * The winners are cached per adapter (vendor, architecture, device, description) through a `TuneStore`: a JSON file
 * under the cache folder in Node (tuner-node.ts), `localStorage` in the browser (`LocalStorageTuneStore`). A cache
 * written on another adapter is never used; a corrupt one is reported through the logger and rebuilt.
 */
import type { AdapterSummary } from '../engine/device.js';
import type { Engine } from '../engine/engine.js';
import type { Tensor } from '../engine/tensor.js';
import {
  gemmCandidates,
  gemmTuning,
  heuristicVariant,
  isGemmVariant,
  setGemmTuning,
  type GemmProbe,
  type GemmShape,
  type GemmVariant,
} from './gemm-variant.js';
import { adapterLanes } from './matmul.js';

/** Where a tuning cache lives: one text document per adapter. */
export interface TuneStore {
  /** Shown in messages (a file path, a localStorage key). */
  readonly location: string;
  /** The stored text, or null when there is none. */
  load(): string | null | Promise<string | null>;
  save(text: string): void | Promise<void>;
}

/** Where warnings go (the CLI prints them); injected, so this file never prints. */
export interface TuneLogger {
  warn(message: string): void;
  info?(message: string): void;
}

export const TUNE_CACHE_FORMAT = 'webgpu-transfer/gemm-tuning';
export const TUNE_CACHE_VERSION = 1;

/** The adapter's identity as the cache records it. */
export interface AdapterIdentity {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
}

export function adapterIdentity(info: Pick<AdapterSummary, 'vendor' | 'architecture' | 'device' | 'description'>): AdapterIdentity {
  return { vendor: info.vendor ?? '', architecture: info.architecture ?? '', device: info.device ?? '', description: info.description ?? '' };
}

/** The cache key of an adapter: vendor, architecture, device and driver description. */
export function adapterKey(info: Pick<AdapterSummary, 'vendor' | 'architecture' | 'device' | 'description'>): string {
  const a = adapterIdentity(info);
  return [a.vendor, a.architecture, a.device, a.description].join('|');
}

function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** A file-name-safe form of the adapter key: a readable slug plus a hash of the whole key (no two adapters collide). */
export function adapterSlug(info: Pick<AdapterSummary, 'vendor' | 'architecture' | 'device' | 'description'>): string {
  const key = adapterKey(info);
  const slug = key
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .replace(/-+$/, '');
  return `${slug || 'adapter'}-${fnv1a(key)}`;
}

/** One candidate's time: milliseconds per dispatch (null when it failed, with the error). */
export interface CandidateTime {
  variant: GemmVariant;
  ms: number | null;
  error?: string;
}

/** One shape class as stored in the cache. */
export interface TuneEntry {
  shape: GemmShape;
  variant: GemmVariant;
  ms: number | null;
  candidates: CandidateTime[];
  /** How the candidates were timed. */
  method: TimingMethod;
}

export type TimingMethod = 'timestamp' | 'wall' | 'injected';

export interface TuneCacheFile {
  format: typeof TUNE_CACHE_FORMAT;
  version: number;
  adapter: AdapterIdentity;
  updated: string;
  entries: Record<string, TuneEntry>;
}

/** What a store held for this adapter. */
export type TuneCacheState =
  | { state: 'none'; location: string; entries: Map<string, TuneEntry> }
  | { state: 'ok'; location: string; entries: Map<string, TuneEntry> }
  | { state: 'corrupt' | 'other-adapter' | 'stale'; location: string; entries: Map<string, TuneEntry>; reason: string };

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 1;
const FAMILIES: readonly GemmShape['family'][] = ['matmul', 'batched_matmul', 'conv2d_fwd', 'conv2d_grad_input', 'conv2d_grad_filter'];

function parseEntry(v: unknown): TuneEntry | string {
  if (!isObj(v)) return 'an entry is not an object';
  const s = v.shape;
  if (!isObj(s) || !FAMILIES.includes(s.family as GemmShape['family']) || !isCount(s.M) || !isCount(s.N) || !isCount(s.K) || !isCount(s.batch)) {
    return 'an entry has no valid shape';
  }
  if (typeof v.variant !== 'string' || !isGemmVariant(v.variant)) return `unknown variant ${JSON.stringify(v.variant)}`;
  if (!Array.isArray(v.candidates)) return 'an entry has no candidates';
  const candidates: CandidateTime[] = [];
  for (const c of v.candidates as unknown[]) {
    if (!isObj(c) || typeof c.variant !== 'string' || !isGemmVariant(c.variant) || !(c.ms === null || (typeof c.ms === 'number' && Number.isFinite(c.ms)))) {
      return 'an entry has an invalid candidate';
    }
    candidates.push({ variant: c.variant, ms: c.ms as number | null, ...(typeof c.error === 'string' ? { error: c.error } : {}) });
  }
  const method = v.method === 'timestamp' || v.method === 'wall' || v.method === 'injected' ? v.method : 'wall';
  const ms = typeof v.ms === 'number' && Number.isFinite(v.ms) ? v.ms : null;
  return { shape: { family: s.family as GemmShape['family'], M: s.M, N: s.N, K: s.K, batch: s.batch }, variant: v.variant, ms, candidates, method };
}

const oneLine = (s: string): string => {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > 160 ? `${t.slice(0, 157)}…` : t;
};

/** Parses a cache document for `info`'s adapter (never throws: a bad document is a state with a reason). */
export function parseTuneCache(text: string | null, info: Pick<AdapterSummary, 'vendor' | 'architecture' | 'device' | 'description'>, location = ''): TuneCacheState {
  const empty = new Map<string, TuneEntry>();
  if (text === null) return { state: 'none', location, entries: empty };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { state: 'corrupt', location, entries: empty, reason: `not JSON (${oneLine((e as Error).message)})` };
  }
  if (!isObj(doc) || doc.format !== TUNE_CACHE_FORMAT || !isObj(doc.adapter) || !isObj(doc.entries)) {
    return { state: 'corrupt', location, entries: empty, reason: `not a ${TUNE_CACHE_FORMAT} document` };
  }
  if (doc.version !== TUNE_CACHE_VERSION) {
    return { state: 'stale', location, entries: empty, reason: `cache version ${String(doc.version)}, this build writes ${TUNE_CACHE_VERSION}` };
  }
  const theirs = adapterKey(doc.adapter as unknown as AdapterIdentity);
  const ours = adapterKey(info);
  if (theirs !== ours) return { state: 'other-adapter', location, entries: empty, reason: `tuned on another adapter (${theirs}; this one is ${ours})` };
  const entries = new Map<string, TuneEntry>();
  for (const [k, v] of Object.entries(doc.entries)) {
    const entry = parseEntry(v);
    if (typeof entry === 'string') return { state: 'corrupt', location, entries: empty, reason: `${k}: ${entry}` };
    entries.set(k, entry);
  }
  return { state: 'ok', location, entries };
}

/** Reads and parses a store (a failing read is reported as a corrupt cache, never thrown). */
export async function readTuneCache(info: AdapterSummary, store: TuneStore): Promise<TuneCacheState> {
  let text: string | null;
  try {
    text = await store.load();
  } catch (e) {
    return { state: 'corrupt', location: store.location, entries: new Map(), reason: `unreadable (${oneLine((e as Error).message)})` };
  }
  return parseTuneCache(text, info, store.location);
}

export function serializeTuneCache(info: AdapterSummary, entries: ReadonlyMap<string, TuneEntry>): string {
  const doc: TuneCacheFile = {
    format: TUNE_CACHE_FORMAT,
    version: TUNE_CACHE_VERSION,
    adapter: adapterIdentity(info),
    updated: new Date().toISOString(),
    entries: Object.fromEntries([...entries.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

function reportBadCache(s: TuneCacheState, logger: TuneLogger | undefined, action: string): void {
  if (s.state === 'corrupt') logger?.warn(`warning: GEMM tuning cache ${s.location} is corrupt: ${s.reason}; ${action}`);
  else if (s.state === 'other-adapter') logger?.warn(`warning: GEMM tuning cache ${s.location} ignored: ${s.reason}; ${action}`);
  else if (s.state === 'stale') logger?.info?.(`GEMM tuning cache ${s.location} is out of date (${s.reason}); ${action}`);
}

/**
 * Loads this adapter's tuning cache into the engine (at engine start): its winners replace the engine's tuning. With
 * no usable cache the engine's tuning is emptied (the heuristic chooses); a corrupt cache, or one of another
 * adapter, is reported through the logger, never thrown.
 */
export async function loadGemmTuning(e: Engine, store: TuneStore, logger?: TuneLogger): Promise<TuneCacheState> {
  const s = await readTuneCache(e.info, store);
  reportBadCache(s, logger, 'the heuristic chooses GEMM kernels until `webgpu-transfer tune` rebuilds it');
  setGemmTuning(e, new Map([...s.entries].map(([k, v]) => [k, v.variant])));
  return s;
}

/** One shape class of a tuning run. */
export interface TuneRow {
  shapeClass: string;
  /** The first recorded product of the class (what was timed). */
  shape: GemmShape;
  /** How many recorded GEMMs fall in this class. */
  count: number;
  candidates: CandidateTime[];
  winner: GemmVariant;
  /** The winner's time per dispatch (null when not timed). */
  ms: number | null;
  /** Taken from the cache without timing. */
  cached: boolean;
  /** Set when the class was not timed (budget spent, every candidate failed): the winner is the heuristic's. */
  skipped?: string;
  method?: TimingMethod;
}

export interface TuneOptions {
  /** The cache; without one, nothing is read or written. */
  store?: TuneStore;
  logger?: TuneLogger;
  /** Total wall-clock budget of the timing, compilation included (default 10 minutes). */
  budgetMs?: number;
  /** Timed repetitions per candidate at most (default 10); at least one is always run. */
  maxReps?: number;
  /** Wall-clock time one candidate may take at most (default 2 s; the budget may make it less). */
  candidateMs?: number;
  /** The variants to time (default: gemmCandidates for this adapter). */
  candidates?: readonly GemmVariant[];
  /** Time every class again, even those in the cache. */
  retune?: boolean;
  /** Replaces the device timing (tests): milliseconds per dispatch of `variant` on `probe`'s shape. */
  timer?: (probe: GemmProbe, variant: GemmVariant) => Promise<number>;
  /**
   * Drops hopeless candidates (for quick runs, where compiling every candidate of every class would not fit): a
   * variant that has won no class and was more than `ratio`× slower than the winner (or failed) in `after` classes is
   * not timed for the remaining ones (classes go largest first).
   */
  prune?: { after: number; ratio: number };
  /** Called after each class (progress). */
  onRow?: (row: TuneRow, index: number, total: number) => void;
}

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message.split('\n')[0]! : String(e));

/** Fresh operands of the recorded shapes: 0.5 in float tensors, 0 in integer ones (timing does not depend on values). */
function allocate(e: Engine, probe: GemmProbe): Tensor[] {
  const out: Tensor[] = [];
  try {
    for (const b of probe.bindings) out.push(e.keep(e.full(b.shape, b.dtype === 'f32' ? 0.5 : 0, b.dtype)));
  } catch (err) {
    for (const t of out) t.dispose();
    throw err;
  }
  return out;
}

/** A candidate whose first timed dispatch is this many times slower than the best so far is not repeated. */
const HOPELESS = 3;

/**
 * Times `variant` on `probe`'s shape on the device: one untimed dispatch (compilation), then up to `maxReps`
 * dispatches each timed alone (timestamp queries, or wall clock around the queue's completion); the median.
 */
async function timeOnDevice(
  e: Engine,
  probe: GemmProbe,
  variant: GemmVariant,
  tensors: Tensor[],
  maxReps: number,
  candidateMs: number,
  bestMs: number,
): Promise<{ ms: number; method: TimingMethod }> {
  const started = now();
  e.run(probe.call(variant, tensors));
  await e.sync();
  const useTimestamps = e.profiler.supported && !e.profiler.enabled;
  const samples: number[] = [];
  let method: TimingMethod = useTimestamps ? 'timestamp' : 'wall';
  for (let r = 0; r < maxReps; r++) {
    if (r > 0) {
      // Clearly slower than the best so far: more repetitions would not change the outcome.
      if (samples[0]! > HOPELESS * bestMs) break;
      const spent = now() - started;
      const per = spent / (r + 1);
      if (spent + per > candidateMs) break;
    }
    const t0 = now();
    if (useTimestamps) e.profiler.start();
    let gpuMs = 0;
    try {
      e.run(probe.call(variant, tensors));
      await e.sync();
    } finally {
      if (useTimestamps) gpuMs = (await e.profiler.stop()).reduce((a, k) => a + k.totalMs, 0);
    }
    const wall = now() - t0;
    // A timestamp of 0 (unsupported in a pass, or quantised away) falls back to the wall clock.
    if (useTimestamps && gpuMs > 0) samples.push(gpuMs);
    else {
      samples.push(wall);
      method = 'wall';
    }
  }
  return { ms: median(samples), method };
}

/**
 * Tunes the recorded GEMMs: per shape class (largest work first), the cached winner, or every candidate timed and
 * the fastest kept, within `budgetMs` (classes left when it is spent keep the heuristic and are not cached). The
 * winners are applied with `setGemmTuning` (merged with what the engine had) and saved to the store.
 */
export async function tuneGemms(e: Engine, probes: readonly GemmProbe[], opts: TuneOptions = {}): Promise<TuneRow[]> {
  const budgetMs = opts.budgetMs ?? 600_000;
  const maxReps = Math.max(1, opts.maxReps ?? 10);
  const candidateCap = opts.candidateMs ?? 2000;
  const candidates = [...(opts.candidates ?? gemmCandidates(e, adapterLanes(e).L))];
  if (!candidates.length) throw new Error('tuneGemms: no candidate variants');

  const cache = opts.store ? await readTuneCache(e.info, opts.store) : null;
  if (cache) reportBadCache(cache, opts.logger, 'rebuilding it');
  const entries = new Map(cache?.entries ?? []);

  // One representative per class (the first recorded), with the number of GEMMs it stands for.
  const classes = new Map<string, { probe: GemmProbe; count: number; work: number }>();
  for (const p of probes) {
    const c = classes.get(p.shapeClass);
    const work = p.shape.M * p.shape.N * p.shape.K * p.shape.batch;
    if (c) {
      c.count++;
      c.work += work;
    } else classes.set(p.shapeClass, { probe: p, count: 1, work });
  }
  const order = [...classes.entries()].sort((a, b) => b[1].work - a[1].work);

  const rows: TuneRow[] = [];
  const started = now();
  let timed = 0;
  let active = candidates;
  const record = new Map<GemmVariant, { won: number; lost: number }>(candidates.map((v) => [v, { won: 0, lost: 0 }]));
  const toTime = order.filter(([k]) => opts.retune || !entries.has(k)).length;
  for (const [i, [key, { probe, count }]] of order.entries()) {
    const cachedEntry = opts.retune ? undefined : entries.get(key);
    let row: TuneRow;
    if (cachedEntry) {
      row = { shapeClass: key, shape: cachedEntry.shape, count, candidates: cachedEntry.candidates, winner: cachedEntry.variant, ms: cachedEntry.ms, cached: true, method: cachedEntry.method };
    } else {
      const spent = now() - started;
      const left = budgetMs - spent;
      if (left <= 0) {
        row = { shapeClass: key, shape: probe.shape, count, candidates: [], winner: gemmTuning(e).get(key) ?? heuristicVariant(e, probe.shape), ms: null, cached: false, skipped: 'budget spent' };
      } else {
        const share = Math.min(candidateCap, left / Math.max(1, toTime - timed) / active.length);
        row = await tuneClass(e, key, probe, count, active, opts, maxReps, share);
        timed++;
        if (!row.skipped) {
          entries.set(key, { shape: row.shape, variant: row.winner, ms: row.ms, candidates: row.candidates, method: row.method ?? 'wall' });
          if (opts.prune) active = pruned(row, active, record, opts.prune);
        }
      }
    }
    rows.push(row);
    opts.onRow?.(row, i, order.length);
  }

  const winners = new Map(gemmTuning(e));
  for (const [k, v] of entries) winners.set(k, v.variant);
  setGemmTuning(e, winners);
  const changed = rows.some((r) => !r.cached && !r.skipped) || (cache !== null && cache.state !== 'ok' && cache.state !== 'none');
  if (opts.store && changed) await opts.store.save(serializeTuneCache(e.info, entries));
  return rows;
}

/** The candidates left after `row` (see TuneOptions.prune); `record` counts, per variant, classes won and lost badly. */
function pruned(row: TuneRow, active: GemmVariant[], record: Map<GemmVariant, { won: number; lost: number }>, rule: { after: number; ratio: number }): GemmVariant[] {
  for (const c of row.candidates) {
    const r = record.get(c.variant);
    if (!r) continue;
    if (c.variant === row.winner) r.won++;
    else if (c.ms === null || (row.ms !== null && c.ms > rule.ratio * row.ms)) r.lost++;
  }
  const keep = active.filter((v) => {
    const r = record.get(v);
    return !r || r.won > 0 || r.lost < rule.after;
  });
  return keep.length ? keep : active;
}

async function tuneClass(
  e: Engine,
  key: string,
  probe: GemmProbe,
  count: number,
  candidates: GemmVariant[],
  opts: TuneOptions,
  maxReps: number,
  candidateMs: number,
): Promise<TuneRow> {
  const times: CandidateTime[] = [];
  let method: TimingMethod = opts.timer ? 'injected' : 'timestamp';
  let tensors: Tensor[] | null = null;
  // The heuristic's choice first: a good baseline early lets hopeless candidates stop after one repetition.
  const first = heuristicVariant(e, probe.shape);
  const order = candidates.includes(first) ? [first, ...candidates.filter((v) => v !== first)] : candidates;
  let best = Infinity;
  try {
    for (const v of order) {
      try {
        if (opts.timer) {
          times.push({ variant: v, ms: await opts.timer(probe, v) });
        } else {
          tensors ??= allocate(e, probe);
          const r = await timeOnDevice(e, probe, v, tensors, maxReps, candidateMs, best);
          best = Math.min(best, r.ms);
          if (r.method === 'wall') method = 'wall';
          times.push({ variant: v, ms: r.ms });
        }
      } catch (err) {
        if (e.lost) throw err;
        times.push({ variant: v, ms: null, error: errorText(err) });
      }
    }
  } finally {
    for (const t of tensors ?? []) t.dispose();
  }
  const ok = times.filter((t): t is CandidateTime & { ms: number } => t.ms !== null && Number.isFinite(t.ms));
  if (!ok.length) {
    return { shapeClass: key, shape: probe.shape, count, candidates: times, winner: heuristicVariant(e, probe.shape), ms: null, cached: false, skipped: 'every candidate failed', method };
  }
  // The fastest; ties go to the earlier candidate in the list's order.
  const rank = (v: GemmVariant): number => candidates.indexOf(v);
  const win = ok.reduce((a, b) => (b.ms < a.ms || (b.ms === a.ms && rank(b.variant) < rank(a.variant)) ? b : a));
  times.sort((a, b) => rank(a.variant) - rank(b.variant));
  return { shapeClass: key, shape: probe.shape, count, candidates: times, winner: win.variant, ms: win.ms, cached: false, method };
}

/** The browser's store: one localStorage item per adapter. */
export class LocalStorageTuneStore implements TuneStore {
  readonly location: string;

  constructor(
    info: Pick<AdapterSummary, 'vendor' | 'architecture' | 'device' | 'description'>,
    private readonly storage: Pick<Storage, 'getItem' | 'setItem'> = globalThis.localStorage,
  ) {
    this.location = `webgpu-transfer/gemm-tuning/${adapterSlug(info)}`;
  }

  load(): string | null {
    return this.storage.getItem(this.location);
  }

  save(text: string): void {
    this.storage.setItem(this.location, text);
  }
}
