/** Float64 reference of max pooling (NHWC, no padding, floor or ceil rounding) and global average pooling. */

export interface RefPoolOptions {
  size: number;
  stride: number;
  ceilMode?: boolean;
}

function outSize(inSize: number, size: number, stride: number, ceilMode: boolean): number {
  const span = inSize - size;
  return (ceilMode ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
}

export function refPoolShape(shape: readonly number[], opts: RefPoolOptions): [number, number, number, number] {
  const [n, h, w, c] = shape as [number, number, number, number];
  return [n, outSize(h, opts.size, opts.stride, !!opts.ceilMode), outSize(w, opts.size, opts.stride, !!opts.ceilMode), c];
}

/**
 * Max pooling; `argmax` holds, per output, the flat input index of the window's maximum. Windows are clipped at
 * the border; ties keep the first maximum in row-major window order.
 */
export function refMaxPool(x: ArrayLike<number>, shape: readonly number[], opts: RefPoolOptions): { y: Float64Array; argmax: Int32Array; shape: number[] } {
  const [n, h, w, c] = shape as [number, number, number, number];
  const [, oh, ow] = refPoolShape(shape, opts);
  const { size, stride } = opts;
  const y = new Float64Array(n * oh * ow * c);
  const argmax = new Int32Array(y.length);
  let o = 0;
  for (let b = 0; b < n; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let ch = 0; ch < c; ch++, o++) {
          let best = -Infinity;
          let at = -1;
          for (let di = 0; di < size && i * stride + di < h; di++)
            for (let dj = 0; dj < size && j * stride + dj < w; dj++) {
              const idx = ((b * h + i * stride + di) * w + j * stride + dj) * c + ch;
              if (at < 0 || x[idx]! > best) {
                best = x[idx]!;
                at = idx;
              }
            }
          y[o] = best;
          argmax[o] = at;
        }
  return { y, argmax, shape: [n, oh, ow, c] };
}

/** Routes each output gradient to the input its window's maximum came from. */
export function refMaxPoolBackward(gy: ArrayLike<number>, argmax: Int32Array, inputSize: number): Float64Array {
  const gx = new Float64Array(inputSize);
  for (let o = 0; o < argmax.length; o++) gx[argmax[o]!]! += gy[o]!;
  return gx;
}

export function refGlobalAvgPool(x: ArrayLike<number>, shape: readonly number[]): Float64Array {
  const [n, h, w, c] = shape as [number, number, number, number];
  const y = new Float64Array(n * c);
  for (let b = 0; b < n; b++)
    for (let p = 0; p < h * w; p++) for (let ch = 0; ch < c; ch++) y[b * c + ch]! += x[(b * h * w + p) * c + ch]!;
  return y.map((v) => v / (h * w));
}

export function refGlobalAvgPoolBackward(gy: ArrayLike<number>, shape: readonly number[]): Float64Array {
  const [n, h, w, c] = shape as [number, number, number, number];
  const gx = new Float64Array(n * h * w * c);
  for (let i = 0; i < gx.length; i++) gx[i] = gy[Math.floor(i / (h * w * c)) * c + (i % c)]! / (h * w);
  return gx;
}
