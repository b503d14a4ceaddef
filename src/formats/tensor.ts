import { type HostDType, type HostTensor, type NamedArrays, WeightFormatError } from './types.js';

/** Element count of a shape; throws for negative, fractional or overflowing dimensions. */
export function numel(shape: readonly number[], file?: string, tensor?: string): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new WeightFormatError(`invalid dimension ${String(d)} in shape [${shape.join(', ')}]`, file, tensor);
    n *= d;
    if (!Number.isSafeInteger(n)) throw new WeightFormatError(`shape [${shape.join(', ')}] has too many elements`, file, tensor);
  }
  return n;
}

/** The storage kind of a host tensor's data (float kinds are always held as f32). */
export function dtypeOf(t: HostTensor): HostDType {
  const d = t.data;
  if (d instanceof Float32Array) return 'f32';
  if (d instanceof Int32Array) return 'i32';
  if (d instanceof Uint32Array) return 'u32';
  if (d instanceof Uint8Array) return 'u8';
  if (d instanceof BigInt64Array) return 'i64';
  throw new WeightFormatError('unsupported host array type');
}

/** Bytes per element of each in-memory host kind. */
export const HOST_ITEM_SIZE: Record<HostDType, number> = { f32: 4, f16: 2, f64: 8, i32: 4, i64: 8, u8: 1, u32: 4 };

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Throws on a big-endian host: the formats here store little-endian data and view it without swapping. */
export function requireLittleEndianHost(): void {
  if (!LITTLE_ENDIAN_HOST) throw new WeightFormatError('big-endian hosts are not supported');
}

/** A copy of `bytes[begin, end)` in a fresh, aligned ArrayBuffer. */
export function copyBytes(bytes: Uint8Array, begin: number, end: number): ArrayBuffer {
  const out = new Uint8Array(end - begin);
  out.set(bytes.subarray(begin, end));
  return out.buffer;
}

/** The tensor's data as little-endian bytes (a view, no copy). */
export function tensorBytes(t: HostTensor): Uint8Array {
  requireLittleEndianHost();
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** Checks that the data length matches the shape. */
export function checkTensor(name: string, t: HostTensor, file?: string): void {
  const n = numel(t.shape, file, name);
  if (t.data.length !== n) {
    throw new WeightFormatError(`tensor '${name}' has shape [${t.shape.join(', ')}] (${n} elements) but ${t.data.length} values`, file, name);
  }
}

/** Total number of values over all tensors. */
export function parameterCount(tensors: NamedArrays): number {
  let n = 0;
  for (const t of tensors.values()) n += t.data.length;
  return n;
}

/** IEEE half → float. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Converts little-endian f16 bytes to float32. */
export function f16BytesToF32(buf: ArrayBuffer): Float32Array {
  const h = new Uint16Array(buf);
  const out = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) out[i] = halfToFloat(h[i]!);
  return out;
}

/** Converts little-endian bfloat16 bytes to float32 (the upper half of the float32 bit pattern). */
export function bf16BytesToF32(buf: ArrayBuffer): Float32Array {
  const h = new Uint16Array(buf);
  const bits = new Uint32Array(h.length);
  for (let i = 0; i < h.length; i++) bits[i] = h[i]! << 16;
  return new Float32Array(bits.buffer);
}

export interface ShapeMismatch {
  name: string;
  expected: number[];
  found: number[];
}

export interface ShapeReport {
  ok: boolean;
  missing: string[];
  unexpected: string[];
  mismatched: ShapeMismatch[];
}

/** Compares the tensors found in a file with the names and shapes a model expects. */
export function compareShapes(expected: Map<string, number[]>, found: NamedArrays): ShapeReport {
  const missing: string[] = [];
  const mismatched: ShapeMismatch[] = [];
  for (const [name, shape] of expected) {
    const t = found.get(name);
    if (!t) missing.push(name);
    else if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      mismatched.push({ name, expected: [...shape], found: [...t.shape] });
    }
  }
  const unexpected = [...found.keys()].filter((n) => !expected.has(n));
  return { ok: missing.length === 0 && unexpected.length === 0 && mismatched.length === 0, missing, unexpected, mismatched };
}

/**
 * Checks `found` against the expected names and shapes; throws one WeightFormatError that lists every missing
 * tensor, every unexpected one (unless allowed) and every shape mismatch by name. Returns the report when it passes.
 */
export function checkAgainst(
  expected: Map<string, number[]>,
  found: NamedArrays,
  file?: string,
  opts: { allowUnexpected?: boolean } = {},
): ShapeReport {
  const r = compareShapes(expected, found);
  const problems: string[] = [];
  const list = (xs: string[]): string => (xs.length > 8 ? `${xs.slice(0, 8).join(', ')} … (${xs.length} in all)` : xs.join(', '));
  if (r.missing.length) problems.push(`missing tensors: ${list(r.missing)}`);
  if (r.unexpected.length && !opts.allowUnexpected) problems.push(`unexpected tensors: ${list(r.unexpected)}`);
  for (const m of r.mismatched) problems.push(`tensor '${m.name}': expected shape [${m.expected.join(', ')}], found [${m.found.join(', ')}]`);
  if (problems.length) {
    const only = r.mismatched.length === 1 && problems.length === 1 ? r.mismatched[0]!.name : undefined;
    throw new WeightFormatError(problems.join('; '), file, only);
  }
  return r;
}

/** Number of NaN/±Inf values and the index of the first one (-1 when none). Integer tensors are always finite. */
export function countNonFinite(t: HostTensor): { count: number; first: number } {
  if (!(t.data instanceof Float32Array)) return { count: 0, first: -1 };
  let count = 0;
  let first = -1;
  const d = t.data;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i]!)) {
      if (first < 0) first = i;
      count++;
    }
  }
  return { count, first };
}

/** Throws a WeightFormatError naming the first tensor that holds a NaN or an infinity. */
export function assertFinite(tensors: NamedArrays | HostTensor, file?: string): void {
  const entries: [string | undefined, HostTensor][] = tensors instanceof Map ? [...tensors] : [[undefined, tensors]];
  for (const [name, t] of entries) {
    const { count, first } = countNonFinite(t);
    if (count) {
      const what = name ? `tensor '${name}'` : 'tensor';
      throw new WeightFormatError(`${what} holds ${count} non-finite value(s), the first ${String(t.data[first])} at flat index ${first}`, file, name);
    }
  }
}

/** "3,3,64,128"-style shape text for messages and listings. */
export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
