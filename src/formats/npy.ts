// NumPy .npy: magic "\x93NUMPY", version byte pair, header length (u16 in 1.0, u32 in 2.0/3.0), a Python dict
// literal {'descr': …, 'fortran_order': …, 'shape': (…)}, then the raw C-order data.
import { type HostTensor, WeightFormatError } from './types.js';
import { checkTensor, copyBytes, dtypeOf, f16BytesToF32, numel, requireLittleEndianHost, tensorBytes } from './tensor.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

type NpyDescr = '<f4' | '<f8' | '<f2' | '<i4' | '<i8' | '|u1' | '<u1' | '<u4';
const ITEM_SIZE: Record<NpyDescr, number> = { '<f4': 4, '<f8': 8, '<f2': 2, '<i4': 4, '<i8': 8, '|u1': 1, '<u1': 1, '<u4': 4 };

/** numpy itself refuses headers over 10 kB unless told otherwise; 1 MB is generous and keeps a corrupt length harmless. */
const MAX_HEADER = 1 << 20;

type PyValue = string | boolean | number | number[];

/** A strict reader for the dict literal numpy writes (strings, True/False, integers, tuples of integers). */
function parseHeaderDict(text: string, file?: string): Map<string, PyValue> {
  let i = 0;
  const fail = (what: string): never => {
    throw new WeightFormatError(`malformed .npy header (${what} at offset ${i}): ${JSON.stringify(text.slice(0, 120))}`, file);
  };
  const ws = (): void => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const eat = (c: string): boolean => {
    ws();
    if (text[i] === c) {
      i++;
      return true;
    }
    return false;
  };
  const str = (): string => {
    ws();
    const q = text[i];
    if (q !== "'" && q !== '"') return fail('expected a string');
    const end = text.indexOf(q, i + 1);
    if (end < 0) return fail('unterminated string');
    const s = text.slice(i + 1, end);
    i = end + 1;
    return s;
  };
  const int = (): number => {
    ws();
    const m = /^\d+L?/.exec(text.slice(i, i + 24));
    if (!m) return fail('expected an integer');
    i += m[0].length;
    const v = Number(m[0].replace('L', ''));
    if (!Number.isSafeInteger(v)) return fail('integer too large');
    return v;
  };
  const value = (): PyValue => {
    ws();
    const c = text[i];
    if (c === "'" || c === '"') return str();
    if (text.startsWith('True', i)) {
      i += 4;
      return true;
    }
    if (text.startsWith('False', i)) {
      i += 5;
      return false;
    }
    if (c === '(') {
      i++;
      const dims: number[] = [];
      for (;;) {
        if (eat(')')) return dims;
        dims.push(int());
        if (eat(',')) continue;
        if (eat(')')) return dims;
        return fail("expected ',' or ')' in shape tuple");
      }
    }
    return int();
  };
  const out = new Map<string, PyValue>();
  if (!eat('{')) fail("expected '{'");
  for (;;) {
    if (eat('}')) break;
    const k = str();
    if (!eat(':')) fail("expected ':'");
    if (out.has(k)) fail(`duplicate key '${k}'`);
    out.set(k, value());
    if (eat(',')) continue;
    if (eat('}')) break;
    fail("expected ',' or '}'");
  }
  ws();
  if (i !== text.length) fail('trailing characters after the dict');
  return out;
}

export interface NpyHeader {
  version: [number, number];
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  dataStart: number;
}

/** Reads and validates the header (magic, version, dict keys and types). */
export function readNpyHeader(bytes: Uint8Array, file?: string): NpyHeader {
  if (bytes.length < 10) throw new WeightFormatError(`truncated .npy file: ${bytes.length} bytes`, file);
  if (!MAGIC.every((b, k) => bytes[k] === b)) throw new WeightFormatError('not a .npy file (magic \\x93NUMPY missing)', file);
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (major < 1 || major > 3) throw new WeightFormatError(`unsupported .npy version ${major}.${minor} (1.0, 2.0 and 3.0 are read)`, file);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const prefix = major === 1 ? 10 : 12;
  if (bytes.length < prefix) throw new WeightFormatError(`truncated .npy file: ${bytes.length} bytes`, file);
  const headerLen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  if (headerLen > MAX_HEADER) throw new WeightFormatError(`.npy header length ${headerLen} exceeds ${MAX_HEADER} bytes`, file);
  const dataStart = prefix + headerLen;
  if (dataStart > bytes.length) throw new WeightFormatError(`truncated .npy file: header claims ${headerLen} bytes, ${bytes.length - prefix} follow`, file);
  const raw = bytes.subarray(prefix, dataStart);
  let text: string;
  try {
    text = major === 3 ? new TextDecoder('utf-8', { fatal: true }).decode(raw) : Array.from(raw, (c) => String.fromCharCode(c)).join('');
  } catch {
    throw new WeightFormatError('.npy 3.0 header is not valid UTF-8', file);
  }
  const dict = parseHeaderDict(text, file);
  const keys = [...dict.keys()].sort().join(',');
  if (keys !== 'descr,fortran_order,shape') throw new WeightFormatError(`.npy header must have exactly descr, fortran_order, shape; found ${keys || 'none'}`, file);
  const descr = dict.get('descr');
  const fortran = dict.get('fortran_order');
  const shape = dict.get('shape');
  if (typeof descr !== 'string') throw new WeightFormatError(`.npy descr is not a string`, file);
  if (typeof fortran !== 'boolean') throw new WeightFormatError(`.npy fortran_order is not True/False`, file);
  if (!Array.isArray(shape)) throw new WeightFormatError(`.npy shape is not a tuple`, file);
  return { version: [major, minor], descr, fortranOrder: fortran, shape, dataStart };
}

/** Parses a .npy file into a host tensor; float64/float16 become float32. */
export function parseNpy(bytes: Uint8Array, file?: string): HostTensor {
  requireLittleEndianHost();
  const h = readNpyHeader(bytes, file);
  if (!(h.descr in ITEM_SIZE)) {
    throw new WeightFormatError(`unsupported .npy dtype '${h.descr}' (read: ${Object.keys(ITEM_SIZE).join(' ')})`, file);
  }
  if (h.fortranOrder) throw new WeightFormatError('fortran_order True is not supported; save the array in C order (np.ascontiguousarray)', file);
  const descr = h.descr as NpyDescr;
  const n = numel(h.shape, file);
  const need = n * ITEM_SIZE[descr];
  const have = bytes.length - h.dataStart;
  if (have !== need) {
    throw new WeightFormatError(
      `${have < need ? 'truncated' : 'oversized'} .npy data: shape [${h.shape.join(', ')}] ${descr} needs ${need} bytes, found ${have}`,
      file,
    );
  }
  const buf = copyBytes(bytes, h.dataStart, bytes.length);
  let data: HostTensor['data'];
  switch (descr) {
    case '<f4':
      data = new Float32Array(buf);
      break;
    case '<f8':
      data = Float32Array.from(new Float64Array(buf));
      break;
    case '<f2':
      data = f16BytesToF32(buf);
      break;
    case '<i4':
      data = new Int32Array(buf);
      break;
    case '<i8':
      data = new BigInt64Array(buf);
      break;
    case '|u1':
    case '<u1':
      data = new Uint8Array(buf);
      break;
    case '<u4':
      data = new Uint32Array(buf);
      break;
  }
  return { shape: h.shape, data };
}

const DESCR = { f32: '<f4', i32: '<i4', u32: '<u4', u8: '|u1', i64: '<i8' } as const;

/** Writes a .npy (version 1.0, or 2.0 when the header needs it), header padded so the data starts 64-byte aligned. */
export function writeNpy(t: HostTensor): Uint8Array {
  checkTensor('array', t);
  const descr = DESCR[dtypeOf(t) as keyof typeof DESCR];
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  let prefix = 10;
  let total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  if (total - prefix > 0xffff) {
    prefix = 12;
    total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  }
  const headerLen = total - prefix;
  const out = new Uint8Array(total + t.data.byteLength);
  out.set(MAGIC, 0);
  out[6] = prefix === 10 ? 1 : 2;
  out[7] = 0;
  const dv = new DataView(out.buffer);
  if (prefix === 10) dv.setUint16(8, headerLen, true);
  else dv.setUint32(8, headerLen, true);
  for (let k = 0; k < dict.length; k++) out[prefix + k] = dict.charCodeAt(k);
  out.fill(0x20, prefix + dict.length, total - 1);
  out[total - 1] = 0x0a;
  out.set(tensorBytes(t), total);
  return out;
}
