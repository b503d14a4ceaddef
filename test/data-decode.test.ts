import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeBmp } from '../src/data/bmp.js';
import { SharpImageDecoder } from '../src/data/decoder-node.js';
import { BadImageError } from '../src/data/errors.js';
import { nearestIndices, resizeRgb } from '../src/data/resize.js';
import { precheckImage, sniffImageFormat } from '../src/data/sniff.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));

interface ResizeFixture {
  source: { height: number; width: number; pixels: string };
  cases: { height: number; width: number; interpolation: 'nearest' | 'bilinear'; pixels: string }[];
  nearestIndices: { in: number; out: number; indices: number[] }[];
}
interface FormatsFixture {
  files: { name: string; bytes: string; width: number; height: number; rgb: string }[];
}
const resizeFx = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures/pil-resize.json'), 'utf8')) as ResizeFixture;
const formatsFx = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures/pil-formats.json'), 'utf8')) as FormatsFixture;

describe("resizing like Pillow (Keras' load_img)", () => {
  it('picks the same source columns as Pillow NEAREST, including its rounding at exact ties (200 → 150)', () => {
    for (const c of resizeFx.nearestIndices) expect(Array.from(nearestIndices(c.in, c.out)), `${c.in} → ${c.out}`).toEqual(c.indices);
  });

  it('reproduces Pillow NEAREST and BILINEAR resizes byte for byte', () => {
    const src = { height: resizeFx.source.height, width: resizeFx.source.width, data: hex(resizeFx.source.pixels) };
    for (const c of resizeFx.cases) {
      const out = resizeRgb(src, [c.height, c.width], c.interpolation);
      expect(Buffer.from(out).toString('hex'), `${c.interpolation} ${c.height}×${c.width}`).toBe(c.pixels);
    }
  });

  it('returns a copy when the size already matches, and rejects bad sizes', () => {
    const src = { height: 2, width: 2, data: Uint8Array.from({ length: 12 }, (_, i) => i) };
    const out = resizeRgb(src, [2, 2], 'bilinear');
    expect(out).toEqual(src.data);
    expect(out).not.toBe(src.data);
    expect(() => resizeRgb(src, [0, 3], 'nearest')).toThrow(/target size/);
  });
});

describe('decoding formats to RGB like Pillow convert("RGB")', () => {
  const decoder = new SharpImageDecoder();
  for (const f of formatsFx.files) {
    it(f.name, async () => {
      const img = await decoder.decodeRaw(hex(f.bytes), f.name);
      expect([img.width, img.height]).toEqual([f.width, f.height]);
      expect(Buffer.from(img.data).toString('hex')).toBe(f.rgb);
    });
  }

  it('decodes BMP without sharp (which has no BMP loader)', () => {
    const bmp = formatsFx.files.find((f) => f.name === 'rgb24.bmp')!;
    expect(Buffer.from(decodeBmp(hex(bmp.bytes)).data).toString('hex')).toBe(bmp.rgb);
  });
});

describe('damaged JPEG data', () => {
  it('is rejected as corrupt by default and accepted with failOn: truncated (as Pillow would)', async () => {
    const jpeg = new Uint8Array(readFileSync(join(import.meta.dirname, '../../shared/data/cats_and_dogs_small/train/cats/cat.0.jpg')));
    const damaged = jpeg.slice();
    damaged.fill(7, 3000, 3500);
    const err = await new SharpImageDecoder().decodeRaw(damaged, 'damaged.jpg').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadImageError);
    expect((err as BadImageError).reason).toMatch(/^corrupt JPEG file \(/);
    const img = await new SharpImageDecoder({ failOn: 'truncated' }).decodeRaw(damaged, 'damaged.jpg');
    expect([img.width, img.height]).toEqual([200, 200]);
    await expect(new SharpImageDecoder({ failOn: 'truncated' }).decodeRaw(jpeg.subarray(0, jpeg.length >> 1), 'cut.jpg')).rejects.toThrow(/^cut\.jpg: truncated JPEG file/);
  });
});

describe('bad image bytes', () => {
  const decoder = new SharpImageDecoder();
  const jpeg = hex(formatsFx.files.find((f) => f.name === 'orientation6.jpg')!.bytes);

  it('sniffs formats by content', () => {
    expect(sniffImageFormat(jpeg)).toBe('jpeg');
    expect(sniffImageFormat(new TextEncoder().encode('hello'))).toBeNull();
    expect(precheckImage(new Uint8Array(0))).toEqual({ reason: 'empty file (0 bytes)' });
  });

  const cases: [string, Uint8Array, RegExp][] = [
    ['empty.jpg', new Uint8Array(0), /empty file \(0 bytes\)/],
    ['text.jpg', new TextEncoder().encode('this is not an image\n'), /not an image: content is not JPEG.*"this is not/],
    ['truncated.jpg', jpeg.subarray(0, Math.floor(jpeg.length / 2)), /truncated JPEG file/],
    ['short.bmp', hex(formatsFx.files.find((f) => f.name === 'rgb24.bmp')!.bytes).subarray(0, 60), /truncated BMP file \(truncated BMP pixel data/],
  ];
  for (const [name, bytes, reason] of cases) {
    it(`reports ${name} with its name and reason`, async () => {
      const err = await decoder.decode(bytes, `/data/${name}`, [4, 4], 'nearest').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BadImageError);
      expect((err as BadImageError).path).toBe(`/data/${name}`);
      expect((err as BadImageError).reason).toMatch(reason);
      expect((err as Error).message.startsWith(`/data/${name}: `)).toBe(true);
    });
  }
});
