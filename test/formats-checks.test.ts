import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256Hex, tensorsSha256 } from '../src/formats/checksum.js';
import { detectWeightsFormat } from '../src/formats/detect.js';
import { writeNpy } from '../src/formats/npy.js';
import { writeSafetensors } from '../src/formats/safetensors.js';
import { assertFinite, checkAgainst, compareShapes, countNonFinite, halfToFloat } from '../src/formats/tensor.js';
import { type HostTensor, type NamedArrays, WeightFormatError } from '../src/formats/types.js';

const found: NamedArrays = new Map([
  ['a/kernel', { shape: [3, 3, 3, 8], data: new Float32Array(216) }],
  ['a/bias', { shape: [8], data: new Float32Array(8) }],
  ['extra', { shape: [1], data: new Float32Array(1) }],
]);

describe('checks on named tensors', () => {
  it('compareShapes reports missing, unexpected and mismatched tensors by name', () => {
    const expected = new Map([
      ['a/kernel', [3, 3, 3, 16]],
      ['a/bias', [8]],
      ['b/bias', [4]],
    ]);
    expect(compareShapes(expected, found)).toEqual({
      ok: false,
      missing: ['b/bias'],
      unexpected: ['extra'],
      mismatched: [{ name: 'a/kernel', expected: [3, 3, 3, 16], found: [3, 3, 3, 8] }],
    });
  });

  it('checkAgainst throws one error listing every problem, with the file', () => {
    const expected = new Map([
      ['a/kernel', [3, 3, 3, 16]],
      ['a/bias', [8]],
      ['b/bias', [4]],
    ]);
    let e: unknown;
    try {
      checkAgainst(expected, found, 'w.safetensors');
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(WeightFormatError);
    const msg = (e as Error).message;
    expect(msg).toMatch(/^w\.safetensors: /);
    expect(msg).toContain('missing tensors: b/bias');
    expect(msg).toContain('unexpected tensors: extra');
    expect(msg).toContain("tensor 'a/kernel': expected shape [3, 3, 3, 16], found [3, 3, 3, 8]");
    // Passes when everything matches; unexpected tensors can be allowed.
    const ok = new Map([...found].map(([n, t]) => [n, t.shape]));
    expect(checkAgainst(ok, found).ok).toBe(true);
    ok.delete('extra');
    expect(() => checkAgainst(ok, found, 'w')).toThrow(/unexpected tensors: extra/);
    expect(checkAgainst(ok, found, 'w', { allowUnexpected: true }).unexpected).toEqual(['extra']);
  });

  it('assertFinite names the tensor, the count and the first index of NaN/Inf', () => {
    const t: NamedArrays = new Map([
      ['fine', { shape: [3], data: new Float32Array([1, 2, 3]) }],
      ['ints', { shape: [2], data: new Int32Array([1, 2]) }],
      ['bad', { shape: [4], data: new Float32Array([0, NaN, Infinity, 1]) }],
    ]);
    expect(countNonFinite(t.get('bad')!)).toEqual({ count: 2, first: 1 });
    expect(() => assertFinite(t, 'f.h5')).toThrow(/^f\.h5: tensor 'bad' holds 2 non-finite value\(s\), the first NaN at flat index 1$/);
    t.delete('bad');
    expect(() => assertFinite(t, 'f.h5')).not.toThrow();
    expect(() => assertFinite({ shape: [1], data: new Float32Array([-Infinity]) })).toThrow(/-Infinity at flat index 0/);
  });

  it('halfToFloat decodes normals, subnormals, signed zero and specials', () => {
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xbc00)).toBe(-1);
    expect(halfToFloat(0x0400)).toBe(2 ** -14);
    expect(halfToFloat(0x03ff)).toBe(1023 * 2 ** -24);
    expect(Object.is(halfToFloat(0x8000), -0)).toBe(true);
    expect(halfToFloat(0xfc00)).toBe(-Infinity);
    expect(halfToFloat(0x7e00)).toBeNaN();
  });
});

describe('checksums and format detection', () => {
  it('sha256Hex matches node:crypto; tensorsSha256 ignores order, sees values, names and shapes', async () => {
    const b = new TextEncoder().encode('abc');
    expect(await sha256Hex(b)).toBe(createHash('sha256').update(b).digest('hex'));
    const x = { shape: [2], data: new Float32Array([1, 2]) };
    const y = { shape: [1], data: new Int32Array([5]) };
    const h = await tensorsSha256(new Map<string, HostTensor>([['x', x], ['y', y]]));
    // The documented serialisation, recomputed here with node:crypto.
    const ref = createHash('sha256')
      .update('x\0f32\x002\0')
      .update(new Uint8Array(x.data.buffer))
      .update('y\0i32\x001\0')
      .update(new Uint8Array(y.data.buffer))
      .digest('hex');
    expect(h).toBe(ref);
    expect(await tensorsSha256(new Map<string, HostTensor>([['y', y], ['x', x]]))).toBe(h);
    expect(await tensorsSha256(new Map<string, HostTensor>([['x', { shape: [2], data: new Float32Array([1, 2.0000002]) }], ['y', y]]))).not.toBe(h);
    expect(await tensorsSha256(new Map<string, HostTensor>([['x', { shape: [1, 2], data: x.data }], ['y', y]]))).not.toBe(h);
  });

  it('detects formats by signature first, then by name', () => {
    const st = writeSafetensors(new Map([['w', { shape: [1], data: new Float32Array(1) }]]));
    expect(detectWeightsFormat('weights.bin', st.subarray(0, 16))).toBe('safetensors');
    expect(detectWeightsFormat('x.safetensors', new Uint8Array(0))).toBe('safetensors');
    expect(detectWeightsFormat('x.bin', writeNpy({ shape: [1], data: new Float32Array(1) }).subarray(0, 16))).toBe('npy');
    expect(detectWeightsFormat('x.bin', new Uint8Array([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe('keras-h5');
    expect(detectWeightsFormat('model.json', new TextEncoder().encode('{"format"'))).toBe('tfjs-layers');
    expect(detectWeightsFormat('notes.txt', new TextEncoder().encode('hello world, this'))).toBeNull();
  });
});
