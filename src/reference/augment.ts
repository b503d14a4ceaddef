/**
 * Float64 reference of the augmentation warp: for each output pixel (row r, column c) of image n, sample the input at
 * (a00·r + a01·c + a02, a10·r + a11·c + a12) bilinearly, with points outside the image taking the nearest edge pixel
 * (scipy.ndimage.affine_transform with order=1, mode='nearest', as Keras uses it). NHWC layout.
 */
export function affineWarpRef(
  x: ArrayLike<number>,
  shape: readonly [n: number, h: number, w: number, c: number],
  matrices: ArrayLike<number>,
): Float64Array {
  const [n, h, w, ch] = shape;
  if (x.length !== n * h * w * ch) throw new Error(`affineWarpRef: ${x.length} values for shape [${shape.join(', ')}]`);
  if (matrices.length !== n * 6) throw new Error(`affineWarpRef: ${matrices.length} matrix values for ${n} images`);
  const out = new Float64Array(n * h * w * ch);
  const clamp = (v: number, hi: number) => (v < 0 ? 0 : v > hi ? hi : v);
  for (let b = 0; b < n; b++) {
    const [a00, a01, a02, a10, a11, a12] = Array.from({ length: 6 }, (_, k) => matrices[b * 6 + k]!) as [number, number, number, number, number, number];
    const base = b * h * w * ch;
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        const sr = a00 * r + a01 * c + a02;
        const sc = a10 * r + a11 * c + a12;
        const r0 = Math.floor(sr);
        const c0 = Math.floor(sc);
        const fr = sr - r0;
        const fc = sc - c0;
        const ra = clamp(r0, h - 1);
        const rb = clamp(r0 + 1, h - 1);
        const ca = clamp(c0, w - 1);
        const cb = clamp(c0 + 1, w - 1);
        for (let k = 0; k < ch; k++) {
          const v00 = x[base + (ra * w + ca) * ch + k]!;
          const v01 = x[base + (ra * w + cb) * ch + k]!;
          const v10 = x[base + (rb * w + ca) * ch + k]!;
          const v11 = x[base + (rb * w + cb) * ch + k]!;
          out[base + (r * w + c) * ch + k] = (1 - fr) * ((1 - fc) * v00 + fc * v01) + fr * ((1 - fc) * v10 + fc * v11);
        }
      }
    }
  }
  return out;
}
