import type { ImageSize, Interpolation, RawImage } from './types.js';

/**
 * RGB resizing that reproduces Pillow's `Image.resize` bit for bit, because Keras' `load_img` resizes with Pillow.
 * (sharp's 'nearest' kernel samples other source pixels, so we resize the full-size decode ourselves.)
 */

/**
 * Pillow's NEAREST (ImagingScaleAffine): the source coordinate starts at scale/2 and is advanced by repeated addition
 * in double precision, then truncated. This is floor((i + 0.5)·in/out) except where rounding of the running sum lands
 * just below an integer (e.g. 23 of 150 columns when shrinking 200 → 150), where Pillow picks the lower pixel.
 */
export function nearestIndices(inSize: number, outSize: number): Int32Array {
  const idx = new Int32Array(outSize);
  const scale = inSize / outSize;
  let pos = scale * 0.5;
  for (let i = 0; i < outSize; i++) {
    const v = pos < 0 ? -1 : Math.trunc(pos);
    idx[i] = Math.min(Math.max(v, 0), inSize - 1);
    pos += scale;
  }
  return idx;
}

export function resizeNearest(src: RawImage, height: number, width: number): Uint8Array {
  const xs = nearestIndices(src.width, width);
  const ys = nearestIndices(src.height, height);
  const out = new Uint8Array(height * width * 3);
  const s = src.data;
  let o = 0;
  for (let y = 0; y < height; y++) {
    const row = ys[y]! * src.width;
    for (let x = 0; x < width; x++) {
      const p = (row + xs[x]!) * 3;
      out[o++] = s[p]!;
      out[o++] = s[p + 1]!;
      out[o++] = s[p + 2]!;
    }
  }
  return out;
}

/** Pillow's 8-bit fixed point: coefficients scaled by 2^22, sums rounded by adding half and shifting. */
const PRECISION_BITS = 22;

interface Coeffs {
  ksize: number;
  /** Per output index: first source index and tap count. */
  bounds: Int32Array;
  /** outSize × ksize fixed-point weights. */
  kk: Int32Array;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for the triangle (bilinear) filter, support 1 scaled when shrinking. */
function bilinearCoeffs(inSize: number, outSize: number): Coeffs {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 1.0 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  const ss = 1.0 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const t = Math.abs((x + xmin - center + 0.5) * ss);
      const v = t < 1 ? 1 - t : 0;
      w[x] = v;
      ww += v;
    }
    for (let x = 0; x < ksize; x++) {
      const k = x < xmax ? (ww !== 0 ? w[x]! / ww : w[x]!) : 0;
      kk[xx * ksize + x] = k < 0 ? Math.trunc(-0.5 + k * (1 << PRECISION_BITS)) : Math.trunc(0.5 + k * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

function clip8(v: number): number {
  const x = v >> PRECISION_BITS;
  return x < 0 ? 0 : x > 255 ? 255 : x;
}

/** Pillow's BILINEAR resize of an RGB image (antialiased when shrinking): a horizontal pass, then a vertical one. */
export function resizeBilinear(src: RawImage, height: number, width: number): Uint8Array {
  const needH = width !== src.width;
  const needV = height !== src.height;
  const vert = bilinearCoeffs(src.height, height);
  const horiz = bilinearCoeffs(src.width, width);
  let data = src.data;
  let cols = src.width;
  const rowOffset = needH ? vert.bounds[0]! : 0;
  if (needH) {
    // Only the source rows the vertical pass reads.
    const first = vert.bounds[0]!;
    const last = vert.bounds[height * 2 - 2]! + vert.bounds[height * 2 - 1]!;
    const rows = last - first;
    const tmp = new Uint8Array(rows * width * 3);
    const { ksize, bounds, kk } = horiz;
    const half = 1 << (PRECISION_BITS - 1);
    for (let y = 0; y < rows; y++) {
      const inRow = (y + first) * src.width * 3;
      for (let xx = 0; xx < width; xx++) {
        const xmin = bounds[xx * 2]!;
        const n = bounds[xx * 2 + 1]!;
        let s0 = half;
        let s1 = half;
        let s2 = half;
        for (let x = 0; x < n; x++) {
          const k = kk[xx * ksize + x]!;
          const p = inRow + (x + xmin) * 3;
          s0 += data[p]! * k;
          s1 += data[p + 1]! * k;
          s2 += data[p + 2]! * k;
        }
        const o = (y * width + xx) * 3;
        tmp[o] = clip8(s0);
        tmp[o + 1] = clip8(s1);
        tmp[o + 2] = clip8(s2);
      }
    }
    data = tmp;
    cols = width;
  }
  if (!needV) return needH ? data : data.slice();
  const out = new Uint8Array(height * cols * 3);
  const { ksize, bounds, kk } = vert;
  const half = 1 << (PRECISION_BITS - 1);
  for (let yy = 0; yy < height; yy++) {
    const ymin = bounds[yy * 2]! - rowOffset;
    const n = bounds[yy * 2 + 1]!;
    for (let xx = 0; xx < cols; xx++) {
      let s0 = half;
      let s1 = half;
      let s2 = half;
      for (let y = 0; y < n; y++) {
        const k = kk[yy * ksize + y]!;
        const p = ((y + ymin) * cols + xx) * 3;
        s0 += data[p]! * k;
        s1 += data[p + 1]! * k;
        s2 += data[p + 2]! * k;
      }
      const o = (yy * cols + xx) * 3;
      out[o] = clip8(s0);
      out[o + 1] = clip8(s1);
      out[o + 2] = clip8(s2);
    }
  }
  return out;
}

/** Resizes to `size` ([height, width]); returns a copy of the pixels when the size already matches (as Pillow does). */
export function resizeRgb(src: RawImage, size: ImageSize | null, interpolation: Interpolation): Uint8Array {
  if (src.data.length !== src.width * src.height * 3) {
    throw new Error(`resize: ${src.data.length} bytes for a ${src.width}×${src.height} RGB image`);
  }
  if (!size || (size[0] === src.height && size[1] === src.width)) return src.data.slice();
  const [height, width] = size;
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new Error(`resize: invalid target size [${height}, ${width}]`);
  }
  return interpolation === 'nearest' ? resizeNearest(src, height, width) : resizeBilinear(src, height, width);
}
