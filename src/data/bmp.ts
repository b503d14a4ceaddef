import type { RawImage } from './types.js';

/**
 * A small Windows BMP decoder (the prebuilt sharp has no BMP loader): uncompressed 1/4/8-bit palette, 16/24/32-bit
 * (BI_RGB and BI_BITFIELDS), bottom-up or top-down. Alpha is dropped, as Pillow's convert('RGB') does.
 * Throws an Error whose message is the reason the file cannot be read.
 */
export function decodeBmp(b: Uint8Array): RawImage {
  if (b.length < 26 || b[0] !== 0x42 || b[1] !== 0x4d) throw new Error('not a BMP file');
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const dataOffset = v.getUint32(10, true);
  const headerSize = v.getUint32(14, true);
  let width: number;
  let rawHeight: number;
  let bpp: number;
  let compression = 0;
  let paletteCount = 0;
  if (headerSize === 12) {
    width = v.getUint16(18, true);
    rawHeight = v.getInt16(20, true);
    bpp = v.getUint16(24, true);
  } else {
    if (b.length < 14 + 40) throw new Error('truncated BMP header');
    width = v.getInt32(18, true);
    rawHeight = v.getInt32(22, true);
    bpp = v.getUint16(28, true);
    compression = v.getUint32(30, true);
    paletteCount = v.getUint32(46, true);
  }
  const topDown = rawHeight < 0;
  const height = Math.abs(rawHeight);
  if (width <= 0 || height <= 0 || width > 65535 || height > 65535) throw new Error(`invalid BMP size ${width}×${rawHeight}`);

  let masks: [number, number, number] | null = null;
  if (compression === 3 || compression === 6) {
    // BI_BITFIELDS / BI_ALPHABITFIELDS: masks follow a 40-byte header, or sit inside a V4/V5 header.
    if (b.length < 14 + 40 + 12) throw new Error('truncated BMP header');
    masks = [v.getUint32(54, true), v.getUint32(58, true), v.getUint32(62, true)];
  } else if (compression !== 0) {
    throw new Error(`unsupported BMP compression ${compression === 1 ? 'RLE8' : compression === 2 ? 'RLE4' : compression}`);
  }
  if (![1, 4, 8, 16, 24, 32].includes(bpp)) throw new Error(`unsupported BMP bit depth ${bpp}`);

  let palette: Uint8Array | null = null;
  if (bpp <= 8) {
    const entries = paletteCount || 1 << bpp;
    const entrySize = headerSize === 12 ? 3 : 4;
    const start = 14 + headerSize;
    if (start + entries * entrySize > b.length) throw new Error('truncated BMP palette');
    palette = new Uint8Array(256 * 3);
    for (let i = 0; i < Math.min(entries, 256); i++) {
      const p = start + i * entrySize;
      palette[i * 3] = b[p + 2]!;
      palette[i * 3 + 1] = b[p + 1]!;
      palette[i * 3 + 2] = b[p]!;
    }
  }
  if (!masks && bpp === 16) masks = [0x7c00, 0x03e0, 0x001f];

  const stride = Math.ceil((width * bpp) / 32) * 4;
  if (dataOffset + stride * height > b.length) {
    throw new Error(`truncated BMP pixel data (${b.length - dataOffset} of ${stride * height} bytes)`);
  }
  const out = new Uint8Array(width * height * 3);
  const fields = masks?.map(maskShape) ?? null;
  for (let y = 0; y < height; y++) {
    const row = dataOffset + (topDown ? y : height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      if (palette) {
        const bit = x * bpp;
        const byte = b[row + (bit >> 3)]!;
        const idx = bpp === 8 ? byte : (byte >> (8 - bpp - (bit & 7))) & ((1 << bpp) - 1);
        out[o] = palette[idx * 3]!;
        out[o + 1] = palette[idx * 3 + 1]!;
        out[o + 2] = palette[idx * 3 + 2]!;
      } else if (bpp === 24 || (bpp === 32 && !fields)) {
        const p = row + x * (bpp >> 3);
        out[o] = b[p + 2]!;
        out[o + 1] = b[p + 1]!;
        out[o + 2] = b[p]!;
      } else {
        const p = row + x * (bpp >> 3);
        const word = bpp === 16 ? v.getUint16(p, true) : v.getUint32(p, true);
        for (let c = 0; c < 3; c++) out[o + c] = extract(word, fields![c]!);
      }
    }
  }
  return { width, height, data: out };
}

interface Field {
  shift: number;
  max: number;
}

function maskShape(mask: number): Field {
  if (mask === 0) return { shift: 0, max: 0 };
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  return { shift, max: mask >>> shift };
}

function extract(word: number, f: Field): number {
  if (f.max === 0) return 0;
  return Math.floor((((word >>> f.shift) & f.max) * 255) / f.max);
}

/** A 24-bit bottom-up BMP of `width` × `height` RGB bytes (what `decodeBmp` reads back exactly). */
export function encodeBmp(rgb: Uint8Array, width: number, height: number): Uint8Array {
  if (rgb.length !== width * height * 3) throw new Error(`encodeBmp: ${rgb.length} bytes for ${width}×${height} RGB`);
  const stride = Math.ceil((width * 3) / 4) * 4;
  const out = new Uint8Array(54 + stride * height);
  const v = new DataView(out.buffer);
  out[0] = 0x42;
  out[1] = 0x4d;
  v.setUint32(2, out.length, true);
  v.setUint32(10, 54, true);
  v.setUint32(14, 40, true);
  v.setInt32(18, width, true);
  v.setInt32(22, height, true);
  v.setUint16(26, 1, true);
  v.setUint16(28, 24, true);
  v.setUint32(34, stride * height, true);
  for (let y = 0; y < height; y++) {
    const row = 54 + (height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      out[row + x * 3] = rgb[i + 2]!;
      out[row + x * 3 + 1] = rgb[i + 1]!;
      out[row + x * 3 + 2] = rgb[i]!;
    }
  }
  return out;
}
