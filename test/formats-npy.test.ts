import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNpy, readNpyHeader, writeNpy } from '../src/formats/npy.js';
import { convertOihwTensors, depthwiseOihwToHwcm, oihwToHwio } from '../src/formats/npy-folder.js';
import { readNpyFolder } from '../src/formats/npy-folder-node.js';
import { parameterCount } from '../src/formats/tensor.js';
import { type HostTensor, WeightFormatError } from '../src/formats/types.js';

const shared = resolve(__dirname, '..', '..', 'shared');
const squeezenet = join(shared, 'weights', 'squeezenet1_1', 'weights');
const mobilenet = join(shared, 'weights', 'mobilenet_v2', 'weights');

/** A .npy file built by hand: any version, any header text, any data. */
function npy(version: 1 | 2 | 3, header: string, data: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(header);
  const prefix = version === 1 ? 10 : 12;
  const out = new Uint8Array(prefix + h.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const dv = new DataView(out.buffer);
  if (version === 1) dv.setUint16(8, h.length, true);
  else dv.setUint32(8, h.length, true);
  out.set(h, prefix);
  out.set(data, prefix + h.length);
  return out;
}
const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function formatError(fn: () => unknown): WeightFormatError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(WeightFormatError);
    return e as WeightFormatError;
  }
  throw new Error('expected a WeightFormatError');
}

describe('.npy', () => {
  it('round-trips each writable dtype; the data starts 64-byte aligned', () => {
    const cases: HostTensor[] = [
      { shape: [2, 4, 4, 3], data: Float32Array.from({ length: 96 }, (_, i) => (i - 48) / 7) },
      { shape: [5], data: new Int32Array([-3, 0, 7, 2 ** 31 - 1, -(2 ** 31)]) },
      { shape: [], data: new Float32Array([42]) },
      { shape: [2, 0], data: new Float32Array(0) },
      { shape: [3], data: new Uint8Array([0, 1, 255]) },
      { shape: [1, 2], data: new Uint32Array([7, 4294967295]) },
      { shape: [2], data: new BigInt64Array([1n, -1n]) },
    ];
    for (const t of cases) {
      const bytes = writeNpy(t);
      const h = readNpyHeader(bytes);
      expect(h.dataStart % 64).toBe(0);
      expect(h.version).toEqual([1, 0]);
      const back = parseNpy(bytes);
      expect(back.shape).toEqual(t.shape);
      expect(back.data.constructor).toBe(t.data.constructor);
      expect(bytesOf(back.data)).toEqual(bytesOf(t.data));
    }
  });

  it('reads 1.0, 2.0 and 3.0 headers and every listed dtype', () => {
    const f8 = new Float64Array([0.5, -2.25, 1e-3]);
    const a = parseNpy(npy(2, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }\n", bytesOf(f8)));
    expect(Array.from(a.data as Float32Array)).toEqual([0.5, -2.25, Math.fround(1e-3)]);
    const i8 = new BigInt64Array([-9n, 9n]);
    const b = parseNpy(npy(3, "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 1) }      \n", bytesOf(i8)));
    expect(b.shape).toEqual([2, 1]);
    expect(b.data).toEqual(i8);
    const u4 = new Uint32Array([1, 2, 3, 4, 5, 6]);
    const c = parseNpy(npy(1, '{"descr": "<u4", "shape": (2,3), "fortran_order": False}\n', bytesOf(u4)));
    expect(c.shape).toEqual([2, 3]);
    expect(c.data).toEqual(u4);
    const d = parseNpy(npy(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (), }\n", new Uint8Array([9])));
    expect(d.shape).toEqual([]);
    expect(d.data).toEqual(new Uint8Array([9]));
    const e = parseNpy(npy(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2L,), }\n", bytesOf(new Int32Array([-1, 1]))));
    expect(e.data).toEqual(new Int32Array([-1, 1]));
  });

  it('gives clear errors for fortran order, unknown dtypes, bad headers and wrong sizes', () => {
    const f4 = bytesOf(new Float32Array([1, 2, 3, 4]));
    expect(formatError(() => parseNpy(npy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }\n", f4), 'w.npy')).message).toMatch(
      /^w\.npy: fortran_order True is not supported/,
    );
    expect(formatError(() => parseNpy(npy(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }\n", f4), 'w.npy')).message).toMatch(/unsupported .npy dtype '>f4'/);
    expect(formatError(() => parseNpy(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }\n", f4), 'w.npy')).message).toMatch(
      /truncated .npy data: shape \[5\] <f4 needs 20 bytes, found 16/,
    );
    expect(formatError(() => parseNpy(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n", f4), 'w.npy')).message).toMatch(/oversized/);
    expect(formatError(() => parseNpy(npy(1, "{'descr': '<f4', 'shape': (4,), }\n", f4))).message).toMatch(/exactly descr, fortran_order, shape/);
    expect(formatError(() => parseNpy(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'x': 1}\n", f4))).message).toMatch(/exactly/);
    expect(formatError(() => parseNpy(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,)\n", f4))).message).toMatch(/malformed/);
    expect(formatError(() => parseNpy(npy(1, "{'descr': '<f4', 'fortran_order': Fals, 'shape': (4,)}\n", f4))).message).toMatch(/malformed/);
    expect(formatError(() => parseNpy(npy(4 as 1, "{}", f4))).message).toMatch(/unsupported .npy version 4/);
    expect(formatError(() => parseNpy(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]))).message).toMatch(/magic/);
    const t = writeNpy({ shape: [4], data: new Float32Array(4) });
    expect(formatError(() => parseNpy(t.subarray(0, 40), 'cut.npy')).message).toMatch(/cut\.npy: truncated .npy file: header claims/);
  });

  it('converts OIHW kernels to HWIO and depthwise kernels to [H, W, C, 1]', () => {
    const [O, I, H, W] = [5, 3, 2, 4];
    const oihw = Float32Array.from({ length: O * I * H * W }, (_, k) => k * 0.25 - 3);
    const t = oihwToHwio({ shape: [O, I, H, W], data: oihw });
    expect(t.shape).toEqual([H, W, I, O]);
    for (const [o, i, h, w] of [[0, 0, 0, 0], [4, 2, 1, 3], [2, 1, 0, 3], [3, 0, 1, 2]] as const) {
      expect(t.data[((h * W + w) * I + i) * O + o]).toBe(oihw[((o * I + i) * H + h) * W + w]);
    }
    const C = 6;
    const dw = Float32Array.from({ length: C * 9 }, (_, k) => k);
    const d = depthwiseOihwToHwcm({ shape: [C, 1, 3, 3], data: dw });
    expect(d.shape).toEqual([3, 3, C, 1]);
    for (const [c, h, w] of [[0, 0, 0], [5, 2, 2], [3, 1, 0]] as const) expect(d.data[(h * 3 + w) * C + c]).toBe(dw[c * 9 + h * 3 + w]);
    const m = depthwiseOihwToHwcm({ shape: [C, 1, 3, 3], data: dw }, 2);
    expect(m.shape).toEqual([3, 3, 3, 2]);
    // Output channel c·M + m of the grouped conv is [.., c, m] in HWCM.
    expect(m.data[(1 * 3 + 2) * 6 + 2 * 2 + 1]).toBe(dw[(2 * 2 + 1) * 9 + 1 * 3 + 2]);
    expect(() => oihwToHwio({ shape: [3, 3], data: new Float32Array(9) })).toThrow(WeightFormatError);
    expect(() => depthwiseOihwToHwcm({ shape: [4, 2, 3, 3], data: new Float32Array(72) })).toThrow(/\[C·M, 1, H, W\]/);
  });

  describe.skipIf(!existsSync(squeezenet))('real SqueezeNet 1.1 and MobileNetV2 .npy folders', () => {
    it('SqueezeNet: 52 tensors, 1,235,496 parameters, OIHW shapes; HWIO conversion matches by index', async () => {
      const w = await readNpyFolder(squeezenet);
      expect(w.size).toBe(52);
      expect(parameterCount(w)).toBe(1_235_496);
      expect([...w.keys()].slice(0, 4)).toEqual(['squeezenet0_conv0_bias', 'squeezenet0_conv0_weight', 'squeezenet0_conv1_bias', 'squeezenet0_conv1_weight']);
      expect(w.get('squeezenet0_conv0_weight')!.shape).toEqual([64, 3, 3, 3]);
      expect(w.get('squeezenet0_conv1_weight')!.shape).toEqual([16, 64, 1, 1]);
      expect(w.get('squeezenet0_conv3_weight')!.shape).toEqual([64, 16, 3, 3]);
      expect(w.get('squeezenet0_conv25_weight')!.shape).toEqual([1000, 512, 1, 1]);
      expect(w.get('squeezenet0_conv25_bias')!.shape).toEqual([1000]);
      for (const t of w.values()) expect(t.data).toBeInstanceOf(Float32Array);

      // Elements read straight from the file bytes (offset = header + 4·flat OIHW index) land at their HWIO index.
      const raw = new Uint8Array(await readFile(join(squeezenet, 'squeezenet0_conv3_weight.npy')));
      const start = readNpyHeader(raw).dataStart;
      const dv = new DataView(raw.buffer, raw.byteOffset);
      const hwio = convertOihwTensors(w).get('squeezenet0_conv3_weight')!;
      expect(hwio.shape).toEqual([3, 3, 16, 64]);
      for (const [o, i, h, x] of [[0, 0, 0, 0], [63, 15, 2, 2], [17, 9, 1, 0], [40, 3, 0, 2]] as const) {
        const fromFile = dv.getFloat32(start + 4 * (((o * 16 + i) * 3 + h) * 3 + x), true);
        expect(hwio.data[((h * 3 + x) * 16 + i) * 64 + o]).toBe(fromFile);
      }
      expect(convertOihwTensors(w).get('squeezenet0_conv3_bias')).toBe(w.get('squeezenet0_conv3_bias'));
    });

    it('MobileNetV2: 52 convolutions hold 2,206,816 parameters; depthwise kernels are [C, 1, 3, 3]', async () => {
      const w = await readNpyFolder(mobilenet);
      const convs = new Map([...w].filter(([n]) => n.startsWith('conv_')));
      expect([...convs.keys()].filter((n) => n.endsWith('_weight')).length).toBe(52);
      expect(parameterCount(convs)).toBe(2_206_816);
      expect(w.get('conv_2_weight')!.shape).toEqual([32, 1, 3, 3]);
      const d = depthwiseOihwToHwcm(w.get('conv_2_weight')!);
      expect(d.shape).toEqual([3, 3, 32, 1]);
      expect(d.data[(2 * 3 + 1) * 32 + 7]).toBe(w.get('conv_2_weight')!.data[7 * 9 + 2 * 3 + 1]);
    });
  });
});
