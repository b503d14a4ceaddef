// The safetensors format: u64 little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {string: string}}, then the data buffer,
// offsets relative to its start, every byte indexed exactly once.
import { type HostTensor, type NamedArrays, WeightFormatError } from './types.js';
import { bf16BytesToF32, checkTensor, copyBytes, dtypeOf, f16BytesToF32, numel, requireLittleEndianHost, tensorBytes } from './tensor.js';

export type SafetensorsDType = 'F32' | 'F16' | 'BF16' | 'F64' | 'I32' | 'I64' | 'U8' | 'U32';

const ITEM_SIZE: Record<SafetensorsDType, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I32: 4, I64: 8, U8: 1, U32: 4 };
/** The spec caps the header at 100 MB. */
const MAX_HEADER = 100_000_000;

export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** Absolute byte range in the file. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
  dataStart: number;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads and validates the header: dtypes, shapes, offsets in range, sizes matching shapes, no overlaps or holes. */
export function readSafetensorsHeader(bytes: Uint8Array, file?: string): SafetensorsHeader {
  if (bytes.length < 8) throw new WeightFormatError(`truncated safetensors file: ${bytes.length} bytes, the header length alone takes 8`, file);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = dv.getUint32(0, true);
  const hi = dv.getUint32(4, true);
  const headerLen = hi * 4294967296 + lo;
  if (hi !== 0 || headerLen > MAX_HEADER) throw new WeightFormatError(`safetensors header length ${headerLen} exceeds the ${MAX_HEADER}-byte limit`, file);
  if (headerLen < 2) throw new WeightFormatError(`safetensors header length ${headerLen} is too small for a JSON object`, file);
  if (8 + headerLen > bytes.length) {
    throw new WeightFormatError(`truncated safetensors file: header claims ${headerLen} bytes but only ${bytes.length - 8} follow`, file);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    throw new WeightFormatError(`safetensors header is not valid UTF-8 JSON (${(e as Error).message})`, file);
  }
  if (!isObject(header)) throw new WeightFormatError('safetensors header is not a JSON object', file);

  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isObject(v)) throw new WeightFormatError('__metadata__ is not an object of strings', file);
      for (const [k, s] of Object.entries(v)) {
        if (typeof s !== 'string') throw new WeightFormatError(`__metadata__ value for '${k}' is not a string`, file);
        metadata[k] = s;
      }
      continue;
    }
    if (!isObject(v)) throw new WeightFormatError(`header entry for tensor '${name}' is not an object`, file, name);
    const { dtype, shape, data_offsets: offs } = v;
    if (typeof dtype !== 'string' || !(dtype in ITEM_SIZE)) {
      throw new WeightFormatError(`tensor '${name}' has unsupported dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(ITEM_SIZE).join(', ')})`, file, name);
    }
    if (!Array.isArray(shape)) throw new WeightFormatError(`tensor '${name}' has no shape array`, file, name);
    const n = numel(shape as number[], file, name);
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && (o as number) >= 0)) {
      throw new WeightFormatError(`tensor '${name}' has invalid data_offsets ${JSON.stringify(offs)}`, file, name);
    }
    const [b, e] = offs as [number, number];
    if (b > e) throw new WeightFormatError(`tensor '${name}' has data_offsets [${b}, ${e}] with begin after end`, file, name);
    if (e > dataLen) {
      throw new WeightFormatError(`tensor '${name}' data_offsets [${b}, ${e}] run past the data buffer (${dataLen} bytes): truncated file?`, file, name);
    }
    const size = ITEM_SIZE[dtype as SafetensorsDType];
    if (e - b !== n * size) {
      throw new WeightFormatError(
        `tensor '${name}': shape [${(shape as number[]).join(', ')}] ${dtype} needs ${n * size} bytes, data_offsets span ${e - b}`,
        file,
        name,
      );
    }
    entries.push({ name, dtype: dtype as SafetensorsDType, shape: [...(shape as number[])], begin: dataStart + b, end: dataStart + e });
  }
  entries.sort((x, y) => x.begin - y.begin || x.end - y.end);
  let pos = dataStart;
  for (const en of entries) {
    if (en.begin < pos) throw new WeightFormatError(`tensor '${en.name}' overlaps the data of the tensor before it`, file, en.name);
    if (en.begin > pos) throw new WeightFormatError(`data buffer has a hole of ${en.begin - pos} bytes before tensor '${en.name}'`, file, en.name);
    pos = en.end;
  }
  if (pos !== bytes.length) throw new WeightFormatError(`data buffer has ${bytes.length - pos} trailing bytes no tensor indexes`, file);
  return { entries, metadata, dataStart };
}

function decode(bytes: Uint8Array, en: SafetensorsEntry): HostTensor['data'] {
  const buf = copyBytes(bytes, en.begin, en.end);
  switch (en.dtype) {
    case 'F32':
      return new Float32Array(buf);
    case 'F16':
      return f16BytesToF32(buf);
    case 'BF16':
      return bf16BytesToF32(buf);
    case 'F64':
      return Float32Array.from(new Float64Array(buf));
    case 'I32':
      return new Int32Array(buf);
    case 'I64':
      return new BigInt64Array(buf);
    case 'U8':
      return new Uint8Array(buf);
    case 'U32':
      return new Uint32Array(buf);
  }
}

/** Parses a safetensors file. Tensors come in data order; F16/BF16/F64 are converted to float32. */
export function parseSafetensors(bytes: Uint8Array, file?: string): { tensors: NamedArrays; metadata: Record<string, string> } {
  requireLittleEndianHost();
  const { entries, metadata } = readSafetensorsHeader(bytes, file);
  const tensors: NamedArrays = new Map();
  for (const en of entries) tensors.set(en.name, { shape: en.shape, data: decode(bytes, en) });
  return { tensors, metadata };
}

const WRITE_DTYPE = { f32: 'F32', i32: 'I32', u32: 'U32', u8: 'U8', i64: 'I64' } as const;

/** Writes tensors (in map order) and string metadata as safetensors; the header is space-padded to 8-byte alignment. */
export function writeSafetensors(tensors: NamedArrays, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw new WeightFormatError(`metadata value for '${k}' is not a string`);
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw new WeightFormatError(`'__metadata__' is reserved and cannot name a tensor`, undefined, name);
    checkTensor(name, t);
    const kind = dtypeOf(t);
    const dtype = WRITE_DTYPE[kind as keyof typeof WRITE_DTYPE];
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, padded % 4294967296, true);
  dv.setUint32(4, Math.floor(padded / 4294967296), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  let pos = 8 + padded;
  for (const t of tensors.values()) {
    out.set(tensorBytes(t), pos);
    pos += t.data.byteLength;
  }
  return out;
}
