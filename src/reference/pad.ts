/** Float64 reference of NHWC zero padding [top, bottom, left, right] and its backward (the interior of the gradient). */
export function refZeroPad(x: ArrayLike<number>, shape: readonly number[], pads: readonly [number, number, number, number]): { y: Float64Array; shape: number[] } {
  const [n, h, w, c] = shape as [number, number, number, number];
  const [top, bottom, left, right] = pads;
  const ho = h + top + bottom;
  const wo = w + left + right;
  const y = new Float64Array(n * ho * wo * c);
  for (let b = 0; b < n; b++)
    for (let iy = 0; iy < h; iy++)
      for (let ix = 0; ix < w; ix++)
        for (let ch = 0; ch < c; ch++) y[((b * ho + iy + top) * wo + ix + left) * c + ch] = x[((b * h + iy) * w + ix) * c + ch]!;
  return { y, shape: [n, ho, wo, c] };
}

export function refZeroPadBackward(gy: ArrayLike<number>, xShape: readonly number[], pads: readonly [number, number, number, number]): Float64Array {
  const [n, h, w, c] = xShape as [number, number, number, number];
  const [top, bottom, left, right] = pads;
  const ho = h + top + bottom;
  const wo = w + left + right;
  const gx = new Float64Array(n * h * w * c);
  for (let b = 0; b < n; b++)
    for (let iy = 0; iy < h; iy++)
      for (let ix = 0; ix < w; ix++)
        for (let ch = 0; ch < c; ch++) gx[((b * h + iy) * w + ix) * c + ch] = gy[((b * ho + iy + top) * wo + ix + left) * c + ch]!;
  return gx;
}
