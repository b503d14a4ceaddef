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

/** Float64 reference of NHWC padding [top, bottom, left, right]: 'constant' with `value`, or 'edge' (replicate). */
export function refPad2d(
  x: ArrayLike<number>,
  shape: readonly number[],
  pads: readonly [number, number, number, number],
  mode: 'constant' | 'edge',
  value = 0,
): { y: Float64Array; shape: number[] } {
  const [n, h, w, c] = shape as [number, number, number, number];
  const [top, bottom, left, right] = pads;
  const ho = h + top + bottom;
  const wo = w + left + right;
  const y = new Float64Array(n * ho * wo * c);
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < ho; oy++)
      for (let ox = 0; ox < wo; ox++) {
        const iy = oy - top;
        const ix = ox - left;
        const inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
        const sy = Math.min(Math.max(iy, 0), h - 1);
        const sx = Math.min(Math.max(ix, 0), w - 1);
        for (let ch = 0; ch < c; ch++) {
          y[((b * ho + oy) * wo + ox) * c + ch] = mode === 'edge' || inside ? x[((b * h + sy) * w + sx) * c + ch]! : value;
        }
      }
  return { y, shape: [n, ho, wo, c] };
}

/** Gradient of refPad2d: each output cell's gradient goes to the input pixel it came from (none for constant cells). */
export function refPad2dBackward(gy: ArrayLike<number>, xShape: readonly number[], pads: readonly [number, number, number, number], mode: 'constant' | 'edge'): Float64Array {
  const [n, h, w, c] = xShape as [number, number, number, number];
  const [top, bottom, left, right] = pads;
  const ho = h + top + bottom;
  const wo = w + left + right;
  const gx = new Float64Array(n * h * w * c);
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < ho; oy++)
      for (let ox = 0; ox < wo; ox++) {
        const iy = oy - top;
        const ix = ox - left;
        if (mode === 'constant' && !(iy >= 0 && iy < h && ix >= 0 && ix < w)) continue;
        const sy = Math.min(Math.max(iy, 0), h - 1);
        const sx = Math.min(Math.max(ix, 0), w - 1);
        for (let ch = 0; ch < c; ch++) gx[((b * h + sy) * w + sx) * c + ch] += gy[((b * ho + oy) * wo + ox) * c + ch]!;
      }
  return gx;
}
