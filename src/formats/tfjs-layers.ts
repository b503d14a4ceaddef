// TensorFlow.js layers models: model.json (topology + weightsManifest) and binary shards. Within each manifest
// group the shard files are concatenated in order and the weights are laid out back to back in manifest order,
// so one weight may span several shards.
import { type HostTensor, type NamedArrays, WeightFormatError } from './types.js';
import { halfToFloat, numel, requireLittleEndianHost } from './tensor.js';
import { gitBlobSha1 } from './checksum.js';

export type TfjsDType = 'float32' | 'int32' | 'bool' | 'uint8';
export type TfjsQuantDType = 'uint8' | 'uint16' | 'float16';

export interface TfjsWeightSpec {
  name: string;
  shape: number[];
  dtype: TfjsDType;
  quantization?: { dtype: TfjsQuantDType; scale?: number; min?: number };
  /** Byte range inside the group's concatenated shards. */
  byteOffset: number;
  byteLength: number;
}

export interface TfjsGroup {
  paths: string[];
  weights: TfjsWeightSpec[];
  byteLength: number;
}

export interface TfjsManifest {
  format?: string;
  generatedBy?: string;
  convertedBy?: string;
  groups: TfjsGroup[];
  totalBytes: number;
  totalValues: number;
}

const DTYPE_SIZE: Record<TfjsDType, number> = { float32: 4, int32: 4, bool: 1, uint8: 1 };
const QUANT_SIZE: Record<TfjsQuantDType, number> = { uint8: 1, uint16: 2, float16: 2 };

/** Largest partially covered tensor that is returned with NaN holes (1 GiB). */
const MAX_PARTIAL_BYTES = 1 << 30;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses and validates model.json's weightsManifest (the topology is not needed to read weights). */
export function parseTfjsModelJson(json: Uint8Array | string, file?: string): TfjsManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(typeof json === 'string' ? json : new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (e) {
    throw new WeightFormatError(`model.json is not valid UTF-8 JSON (${(e as Error).message})`, file);
  }
  if (!isObject(doc)) throw new WeightFormatError('model.json is not a JSON object', file);
  const wm = doc.weightsManifest;
  if (!Array.isArray(wm)) throw new WeightFormatError('model.json has no weightsManifest array', file);
  const names = new Set<string>();
  const allPaths = new Set<string>();
  let totalBytes = 0;
  let totalValues = 0;
  const groups: TfjsGroup[] = wm.map((g, gi) => {
    if (!isObject(g) || !Array.isArray(g.paths) || !Array.isArray(g.weights)) {
      throw new WeightFormatError(`weightsManifest[${gi}] needs arrays 'paths' and 'weights'`, file);
    }
    const paths = g.paths.map((p) => {
      if (typeof p !== 'string' || !p) throw new WeightFormatError(`weightsManifest[${gi}].paths holds a non-string or empty entry`, file);
      if (allPaths.has(p)) throw new WeightFormatError(`shard '${p}' is listed twice`, file);
      allPaths.add(p);
      return p;
    });
    let offset = 0;
    const weights = g.weights.map((w, wi): TfjsWeightSpec => {
      if (!isObject(w) || typeof w.name !== 'string' || !Array.isArray(w.shape) || typeof w.dtype !== 'string') {
        throw new WeightFormatError(`weightsManifest[${gi}].weights[${wi}] needs name, shape and dtype`, file);
      }
      const name = w.name;
      if (names.has(name)) throw new WeightFormatError(`weight '${name}' is listed twice`, file, name);
      names.add(name);
      if (!(w.dtype in DTYPE_SIZE)) throw new WeightFormatError(`weight '${name}' has unsupported dtype '${w.dtype}'`, file, name);
      const shape = w.shape as number[];
      const n = numel(shape, file, name);
      let itemSize = DTYPE_SIZE[w.dtype as TfjsDType];
      let quantization: TfjsWeightSpec['quantization'];
      if (w.quantization !== undefined) {
        const q = w.quantization;
        if (!isObject(q) || typeof q.dtype !== 'string' || !(q.dtype in QUANT_SIZE)) {
          throw new WeightFormatError(`weight '${name}' has an unsupported quantization ${JSON.stringify(q)}`, file, name);
        }
        const dtype = q.dtype as TfjsQuantDType;
        if (dtype !== 'float16' && (typeof q.scale !== 'number' || typeof q.min !== 'number')) {
          throw new WeightFormatError(`weight '${name}': ${dtype} quantization needs numeric scale and min`, file, name);
        }
        if (w.dtype !== 'float32') throw new WeightFormatError(`weight '${name}': only float32 weights are read quantized`, file, name);
        quantization = { dtype, ...(typeof q.scale === 'number' ? { scale: q.scale } : {}), ...(typeof q.min === 'number' ? { min: q.min } : {}) };
        itemSize = QUANT_SIZE[dtype];
      }
      const spec: TfjsWeightSpec = { name, shape: [...shape], dtype: w.dtype as TfjsDType, byteOffset: offset, byteLength: n * itemSize };
      if (quantization) spec.quantization = quantization;
      offset += spec.byteLength;
      totalValues += n;
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(totalValues)) throw new WeightFormatError('weightsManifest sizes overflow', file);
      return spec;
    });
    totalBytes += offset;
    return { paths, weights, byteLength: offset };
  });
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const m: TfjsManifest = { groups, totalBytes, totalValues };
  if (str(doc.format)) m.format = str(doc.format);
  if (str(doc.generatedBy)) m.generatedBy = str(doc.generatedBy);
  if (str(doc.convertedBy)) m.convertedBy = str(doc.convertedBy);
  return m;
}

/** Parses `name sha1` lines (blank lines and '#' comments skipped) into a map from shard name to lowercase hex. */
export function parseHashList(text: string, file?: string): Map<string, string> {
  const out = new Map<string, string>();
  text.split(/\r?\n/).forEach((line, k) => {
    const s = line.trim();
    if (!s || s.startsWith('#')) return;
    const m = /^(\S+)\s+([0-9a-fA-F]{40})$/.exec(s);
    if (!m) throw new WeightFormatError(`line ${k + 1} is not '<shard> <40-hex sha1>': ${JSON.stringify(s.slice(0, 80))}`, file);
    out.set(m[1]!, m[2]!.toLowerCase());
  });
  return out;
}

export interface TfjsLoadOptions {
  /** Expected git-blob SHA-1 of each shard; when given, every shard that is present must match its entry. */
  hashes?: Map<string, string>;
  /** Return what the present shards fully cover instead of failing on missing shards. */
  allowPartial?: boolean;
  /** Sizes of shards that are absent, when known, to place the present ones (otherwise inferred where possible). */
  shardSizes?: Map<string, number>;
  /** model.json's name, for messages. */
  file?: string;
}

export interface TfjsMissingTensor {
  name: string;
  shape: number[];
  missingBytes: number;
  totalBytes: number;
}

export interface TfjsPartialTensor {
  /** Present values in place; missing float values are NaN, missing integers 0. */
  tensor: HostTensor;
  /** Half-open flat element ranges that the present shards cover. */
  covered: [number, number][];
}

export interface TfjsCoverage {
  missingShards: string[];
  /** Present shards whose position in the group could not be determined (sizes of missing shards unknown). */
  unplacedShards: string[];
  missingTensors: TfjsMissingTensor[];
  partialTensors: Map<string, TfjsPartialTensor>;
  coveredBytes: number;
  totalBytes: number;
}

export interface TfjsLoadResult {
  tensors: NamedArrays;
  coverage: TfjsCoverage;
  /** Shards whose hash matched. */
  verified: string[];
}

/** Byte range of each present shard inside its group, from known sizes counted from the front or from the back. */
function placeShards(group: TfjsGroup, sizes: (number | undefined)[]): (number | undefined)[] {
  const n = group.paths.length;
  const unknown = sizes.filter((s) => s === undefined).length;
  const filled = [...sizes];
  if (unknown === 1) {
    const known = sizes.reduce<number>((a, s) => a + (s ?? 0), 0);
    filled[sizes.indexOf(undefined)] = group.byteLength - known;
  }
  const starts: (number | undefined)[] = new Array(n).fill(undefined);
  let pos: number | undefined = 0;
  for (let i = 0; i < n; i++) {
    starts[i] = pos;
    pos = pos === undefined || filled[i] === undefined ? undefined : pos + filled[i]!;
  }
  let end: number | undefined = group.byteLength;
  for (let i = n - 1; i >= 0; i--) {
    if (end === undefined || filled[i] === undefined) break;
    end -= filled[i]!;
    starts[i] ??= end;
  }
  return starts;
}

function decodeWeight(spec: TfjsWeightSpec, raw: Uint8Array, fill: boolean[] | null): HostTensor['data'] {
  const n = spec.byteLength / (spec.quantization ? QUANT_SIZE[spec.quantization.dtype] : DTYPE_SIZE[spec.dtype]);
  const buf = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength) as ArrayBuffer;
  let data: HostTensor['data'];
  const q = spec.quantization;
  if (q) {
    const src = q.dtype === 'uint8' ? new Uint8Array(buf) : new Uint16Array(buf);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = q.dtype === 'float16' ? halfToFloat(src[i]!) : src[i]! * q.scale! + q.min!;
    data = out;
  } else if (spec.dtype === 'float32') data = new Float32Array(buf);
  else if (spec.dtype === 'int32') data = new Int32Array(buf);
  else data = new Uint8Array(buf);
  if (fill && data instanceof Float32Array) for (let i = 0; i < n; i++) if (!fill[i]) data[i] = NaN;
  return data;
}

/**
 * Assembles the weights of a parsed manifest from shard bytes keyed by the manifest's paths. Verifies hashes
 * when given. Without allowPartial, any missing shard is an error naming all of them; with it, the result holds
 * the fully covered tensors and `coverage` says what is missing (partially covered tensors come with NaN holes).
 */
export async function loadTfjsLayers(manifest: TfjsManifest, shards: Map<string, Uint8Array>, opts: TfjsLoadOptions = {}): Promise<TfjsLoadResult> {
  requireLittleEndianHost();
  const file = opts.file;
  const verified: string[] = [];
  const missingShards = manifest.groups.flatMap((g) => g.paths.filter((p) => !shards.has(p)));
  if (missingShards.length && !opts.allowPartial) {
    throw new WeightFormatError(`missing ${missingShards.length} of ${manifest.groups.reduce((a, g) => a + g.paths.length, 0)} shards: ${missingShards.join(', ')}`, file);
  }
  if (opts.hashes) {
    for (const g of manifest.groups) {
      for (const p of g.paths) {
        const bytes = shards.get(p);
        if (!bytes) continue;
        const want = opts.hashes.get(p) ?? opts.hashes.get(p.slice(p.lastIndexOf('/') + 1));
        if (!want) throw new WeightFormatError(`no expected hash for shard '${p}' in the hash list`, file);
        const got = await gitBlobSha1(bytes);
        if (got !== want) throw new WeightFormatError(`shard '${p}' fails verification: git-blob SHA-1 ${got}, expected ${want} (${bytes.length} bytes)`, file);
        verified.push(p);
      }
    }
  }
  const tensors: NamedArrays = new Map();
  const coverage: TfjsCoverage = { missingShards, unplacedShards: [], missingTensors: [], partialTensors: new Map(), coveredBytes: 0, totalBytes: manifest.totalBytes };
  for (const g of manifest.groups) {
    const sizes = g.paths.map((p) => shards.get(p)?.length ?? opts.shardSizes?.get(p));
    if (!missingShards.length) {
      const have = sizes.reduce<number>((a, s) => a + s!, 0);
      if (have !== g.byteLength) {
        throw new WeightFormatError(`shards ${g.paths.join(', ')} hold ${have} bytes, the manifest's weights need ${g.byteLength}`, file);
      }
    }
    const starts = placeShards(g, sizes);
    const pieces: { start: number; bytes: Uint8Array }[] = [];
    g.paths.forEach((p, i) => {
      const bytes = shards.get(p);
      if (!bytes) return;
      const start = starts[i];
      if (start === undefined || start < 0 || start + bytes.length > g.byteLength) coverage.unplacedShards.push(p);
      else pieces.push({ start, bytes });
    });
    for (const spec of g.weights) {
      const lo = spec.byteOffset;
      const hi = lo + spec.byteLength;
      const byteRanges: [number, number][] = [];
      for (const pc of pieces) {
        const a = Math.max(lo, pc.start);
        const b = Math.min(hi, pc.start + pc.bytes.length);
        if (a < b) byteRanges.push([a - lo, b - lo]);
      }
      const coveredBytes = byteRanges.reduce((s, [a, b]) => s + b - a, 0);
      coverage.coveredBytes += coveredBytes;
      const complete = coveredBytes === spec.byteLength;
      if (!complete) {
        coverage.missingTensors.push({ name: spec.name, shape: [...spec.shape], missingBytes: spec.byteLength - coveredBytes, totalBytes: spec.byteLength });
      }
      // A partial tensor is materialised only up to a sane size: a manifest may claim anything.
      if (!coveredBytes || (!complete && spec.byteLength > MAX_PARTIAL_BYTES)) continue;
      const raw = new Uint8Array(spec.byteLength);
      for (const pc of pieces) {
        const a = Math.max(lo, pc.start);
        const b = Math.min(hi, pc.start + pc.bytes.length);
        if (a < b) raw.set(pc.bytes.subarray(a - pc.start, b - pc.start), a - lo);
      }
      if (complete) {
        tensors.set(spec.name, { shape: [...spec.shape], data: decodeWeight(spec, raw, null) });
        continue;
      }
      const item = spec.quantization ? QUANT_SIZE[spec.quantization.dtype] : DTYPE_SIZE[spec.dtype];
      const n = spec.byteLength / item;
      const have = new Array<boolean>(n).fill(false);
      const covered: [number, number][] = [];
      for (const [a, b] of byteRanges.sort((x, y) => x[0] - y[0])) {
        const ea = Math.ceil(a / item);
        const eb = Math.floor(b / item);
        if (ea >= eb) continue;
        for (let i = ea; i < eb; i++) have[i] = true;
        const last = covered[covered.length - 1];
        if (last && last[1] === ea) last[1] = eb;
        else covered.push([ea, eb]);
      }
      coverage.partialTensors.set(spec.name, { tensor: { shape: [...spec.shape], data: decodeWeight(spec, raw, have) }, covered });
    }
  }
  return { tensors, coverage, verified };
}
