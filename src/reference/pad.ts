/** Float64 reference of NHWC padding [top, bottom, left, right] on H and W: 'constant' with a value (zeros: Keras ZeroPadding2D), or 'edge' (replicate), and its backward. */

type Pads = readonly [number, number, number, number];

/**
 * Calls `visit(o, src, inside)` for every pixel of the padded tensor in row-major order: o is its flat index at
 * channel 0, src that of the input pixel it copies under 'edge' (the nearest one; itself when inside) and inside
 * whether it lies in the input. Returns the padded shape.
 */
function eachPadded(shape: readonly number[], pads: Pads, visit: (o: number, src: number, inside: boolean) => void): number[] {
  const [n, h, w, c] = shape as [number, number, number, number];
  const [top, bottom, left, right] = pads;
  const ho = h + top + bottom;
  const wo = w + left + right;
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < ho; oy++)
      for (let ox = 0; ox < wo; ox++) {
        const iy = oy - top;
        const ix = ox - left;
        const sy = Math.min(Math.max(iy, 0), h - 1);
        const sx = Math.min(Math.max(ix, 0), w - 1);
        visit(((b * ho + oy) * wo + ox) * c, ((b * h + sy) * w + sx) * c, iy >= 0 && iy < h && ix >= 0 && ix < w);
      }
  return [n, ho, wo, c];
}

/** Float64 reference of NHWC padding [top, bottom, left, right]: 'constant' with `value`, or 'edge' (replicate). */
export function refPad2d(x: ArrayLike<number>, shape: readonly number[], pads: Pads, mode: 'constant' | 'edge', value = 0): { y: Float64Array; shape: number[] } {
  const c = shape[3]!;
  const [top, bottom, left, right] = pads;
  const y = new Float64Array(shape[0]! * (shape[1]! + top + bottom) * (shape[2]! + left + right) * c);
  const outShape = eachPadded(shape, pads, (o, src, inside) => {
    for (let ch = 0; ch < c; ch++) y[o + ch] = mode === 'edge' || inside ? x[src + ch]! : value;
  });
  return { y, shape: outShape };
}

/** Gradient of refPad2d: each output cell's gradient goes to the input pixel it came from (none for constant cells). */
export function refPad2dBackward(gy: ArrayLike<number>, xShape: readonly number[], pads: Pads, mode: 'constant' | 'edge'): Float64Array {
  const c = xShape[3]!;
  const gx = new Float64Array(xShape.reduce((a, d) => a * d, 1));
  eachPadded(xShape, pads, (o, src, inside) => {
    if (mode === 'constant' && !inside) return;
    for (let ch = 0; ch < c; ch++) gx[src + ch] += gy[o + ch]!;
  });
  return gx;
}

/** Zero padding (Keras ZeroPadding2D). */
export function refZeroPad(x: ArrayLike<number>, shape: readonly number[], pads: Pads): { y: Float64Array; shape: number[] } {
  return refPad2d(x, shape, pads, 'constant', 0);
}

/** Gradient of refZeroPad: the interior of the gradient. */
export function refZeroPadBackward(gy: ArrayLike<number>, xShape: readonly number[], pads: Pads): Float64Array {
  return refPad2dBackward(gy, xShape, pads, 'constant');
}
