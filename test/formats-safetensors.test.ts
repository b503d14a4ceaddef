import { describe, expect, it } from 'vitest';
import { parseSafetensors, readSafetensorsHeader, writeSafetensors } from '../src/formats/safetensors.js';
import { type HostTensor, type NamedArrays, WeightFormatError } from '../src/formats/types.js';

/** Builds a safetensors file by hand from a header object and a data buffer, independent of the writer. */
function build(header: unknown, data: Uint8Array, pad = 0): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(pad));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function expectFormatError(fn: () => unknown, ...patterns: RegExp[]): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(WeightFormatError);
  for (const p of patterns) expect((caught as Error).message).toMatch(p);
}

describe('safetensors', () => {
  it('round-trips every writable dtype with metadata, exactly', () => {
    const tensors: NamedArrays = new Map<string, HostTensor>([
      ['block1_conv1/kernel', { shape: [3, 3, 3, 4], data: Float32Array.from({ length: 108 }, (_, i) => Math.sin(i) * 1e-3) }],
      ['scalar', { shape: [], data: new Float32Array([Math.PI]) }],
      ['empty', { shape: [0, 5], data: new Float32Array(0) }],
      ['i32', { shape: [2, 2], data: new Int32Array([-1, 2, -2147483648, 2147483647]) }],
      ['u32', { shape: [3], data: new Uint32Array([0, 1, 4294967295]) }],
      ['u8', { shape: [5], data: new Uint8Array([0, 1, 127, 128, 255]) }],
      ['i64', { shape: [2], data: new BigInt64Array([-(2n ** 63n), 2n ** 62n]) }],
    ]);
    const meta = { format: 'pt', source: 'unit test' };
    const bytes = writeSafetensors(tensors, meta);
    // Header length is 8-byte aligned as the reference implementation writes it.
    const headerLen = new DataView(bytes.buffer).getUint32(0, true);
    expect((8 + headerLen) % 8).toBe(0);
    const back = parseSafetensors(bytes, 'rt.safetensors');
    expect(back.metadata).toEqual(meta);
    expect([...back.tensors.keys()]).toEqual([...tensors.keys()]);
    for (const [name, t] of tensors) {
      const b = back.tensors.get(name)!;
      expect(b.shape).toEqual(t.shape);
      expect(b.data.constructor).toBe(t.data.constructor);
      expect(bytesOf(b.data)).toEqual(bytesOf(t.data));
    }
  });

  it('reads F16, BF16, F64 (as float32) and I64 from a hand-built file', () => {
    const f16 = new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x3555]); // 1, -2, 65504, 2^-24, inf, ≈1/3
    const bf16 = new Uint16Array([0x3f80, 0xc0a0]); // 1, -5
    const f64 = new Float64Array([0.1, -1e300]);
    const i64 = new BigInt64Array([-5n]);
    const parts = [bytesOf(f16), bytesOf(bf16), bytesOf(f64), bytesOf(i64)];
    const data = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    const offs: [number, number][] = [];
    for (const p of parts) {
      data.set(p, o);
      offs.push([o, o + p.length]);
      o += p.length;
    }
    // F64 needs 8-byte alignment in a real buffer; the parser copies, so an odd offset must work too.
    const file = build(
      {
        h: { dtype: 'F16', shape: [2, 3], data_offsets: offs[0] },
        b: { dtype: 'BF16', shape: [2], data_offsets: offs[1] },
        d: { dtype: 'F64', shape: [2], data_offsets: offs[2] },
        q: { dtype: 'I64', shape: [1], data_offsets: offs[3] },
      },
      data,
      3,
    );
    const { tensors, metadata } = parseSafetensors(file);
    expect(metadata).toEqual({});
    expect(Array.from(tensors.get('h')!.data as Float32Array)).toEqual([1, -2, 65504, 2 ** -24, Infinity, Math.fround(0.333251953125)]);
    expect(Array.from(tensors.get('b')!.data as Float32Array)).toEqual([1, -5]);
    expect(Array.from(tensors.get('d')!.data as Float32Array)).toEqual([Math.fround(0.1), -Infinity]);
    expect(tensors.get('q')!.data).toEqual(new BigInt64Array([-5n]));
    expect(tensors.get('h')!.shape).toEqual([2, 3]);
  });

  it('orders tensors by data offset, whatever the header key order', () => {
    const data = bytesOf(new Float32Array([1, 2, 3]));
    const file = build({ z: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, a: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, data);
    const { tensors } = parseSafetensors(file);
    expect([...tensors.keys()]).toEqual(['z', 'a']);
    expect(Array.from(tensors.get('a')!.data as Float32Array)).toEqual([2, 3]);
  });

  it('rejects wrong, truncated and inconsistent files with messages naming the file and tensor', () => {
    const data = bytesOf(new Float32Array([1, 2, 3, 4]));
    const good = { w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] } };
    const f = 'bad.safetensors';
    expectFormatError(() => parseSafetensors(new Uint8Array(5), f), /bad\.safetensors/, /truncated/);
    const ok = build(good, data);
    expect(parseSafetensors(ok).tensors.get('w')!.shape).toEqual([2, 2]);
    expectFormatError(() => parseSafetensors(ok.subarray(0, ok.length - 1), f), /bad\.safetensors/, /'w'/, /run past|truncated/);
    expectFormatError(() => parseSafetensors(ok.subarray(0, 20), f), /header claims \d+ bytes/);
    expectFormatError(() => parseSafetensors(build({ w: { dtype: 'F32', shape: [3, 2], data_offsets: [0, 16] } }, data), f), /'w'/, /\[3, 2\]/, /needs 24 bytes, data_offsets span 16/);
    expectFormatError(
      () => parseSafetensors(build({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 12] }, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, data), f),
      /'b'/,
      /overlaps/,
    );
    expectFormatError(() => parseSafetensors(build({ a: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, data), f), /hole of 8 bytes/);
    expectFormatError(() => parseSafetensors(build({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, data), f), /8 trailing bytes/);
    expectFormatError(() => parseSafetensors(build({ a: { dtype: 'F32', shape: [2], data_offsets: [12, 8] } }, data), f), /begin after end/);
    expectFormatError(() => parseSafetensors(build({ a: { dtype: 'C64', shape: [2], data_offsets: [0, 16] } }, data), f), /unsupported dtype "C64"/);
    expectFormatError(() => parseSafetensors(build({ a: { dtype: 'F32', shape: [-4], data_offsets: [0, 16] } }, data), f), /invalid dimension -4/);
    expectFormatError(() => parseSafetensors(build({ a: { dtype: 'F32', shape: [4], data_offsets: [0.5, 16] } }, data), f), /invalid data_offsets/);
    expectFormatError(() => parseSafetensors(build({ __metadata__: { n: 3 }, ...good }, data), f), /__metadata__ value for 'n' is not a string/);
    expectFormatError(() => parseSafetensors(build([1, 2], data), f), /not a JSON object/);
    const broken = build(good, data);
    broken[9] = 0x7d; // '}' where a quote was: JSON syntax error
    expectFormatError(() => parseSafetensors(broken, f), /not valid UTF-8 JSON/);
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setUint32(4, 1, true);
    expectFormatError(() => parseSafetensors(huge, f), /exceeds/);
  });

  it('exposes the validated header without decoding data', () => {
    const bytes = writeSafetensors(new Map([['x', { shape: [2], data: new Float32Array([5, 6]) }]]), { a: 'b' });
    const h = readSafetensorsHeader(bytes);
    expect(h.entries).toEqual([{ name: 'x', dtype: 'F32', shape: [2], begin: h.dataStart, end: h.dataStart + 8 }]);
    expect(h.metadata).toEqual({ a: 'b' });
  });

  it('refuses to write a tensor whose data does not match its shape', () => {
    expect(() => writeSafetensors(new Map([['x', { shape: [3], data: new Float32Array(2) }]]))).toThrow(/'x' has shape \[3\] \(3 elements\) but 2 values/);
    expect(() => writeSafetensors(new Map([['__metadata__', { shape: [1], data: new Float32Array(1) }]]))).toThrow(WeightFormatError);
  });
});
