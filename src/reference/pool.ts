/** Float64 reference of max pooling (NHWC, no padding, floor or ceil rounding), ONNX MaxPool / AveragePool (below) and global average pooling. */

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

/** ONNX MaxPool / AveragePool window: kernel, strides, pads [top, bottom, left, right], dilations, ceil_mode. */
export interface RefPool2dWindow {
  kernel: readonly [number, number];
  strides: readonly [number, number];
  pads: readonly [number, number, number, number];
  dilations: readonly [number, number];
  ceilMode: boolean;
}

/** ONNX's output size: floor or ceil, and with ceil a last window that starts past the input and its leading pad is dropped. */
function onnxOutSize(inSize: number, k: number, s: number, d: number, p0: number, p1: number, ceil: boolean): number {
  const span = inSize + p0 + p1 - d * (k - 1) - 1;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (out - 1) * s >= inSize + p0) out--;
  return out;
}

interface Window2d {
  n: number;
  h: number;
  w: number;
  c: number;
  oh: number;
  ow: number;
  /** Per output row / column: the input rows / columns of its window inside the padded extent (−pad … size + pad). */
  rows: number[][];
  cols: number[][];
}

function window2d(shape: readonly number[], win: RefPool2dWindow): Window2d {
  const [n, h, w, c] = shape as [number, number, number, number];
  const [kh, kw] = win.kernel;
  const [sh, sw] = win.strides;
  const [dh, dw] = win.dilations;
  const [pt, pb, pl, pr] = win.pads;
  const oh = onnxOutSize(h, kh, sh, dh, pt, pb, win.ceilMode);
  const ow = onnxOutSize(w, kw, sw, dw, pl, pr, win.ceilMode);
  const cells = (o: number, k: number, s: number, d: number, p0: number, p1: number, size: number): number[] =>
    Array.from({ length: k }, (_, j) => o * s - p0 + j * d).filter((p) => p >= -p0 && p < size + p1);
  return {
    n,
    h,
    w,
    c,
    oh,
    ow,
    rows: Array.from({ length: oh }, (_, o) => cells(o, kh, sh, dh, pt, pb, h)),
    cols: Array.from({ length: ow }, (_, o) => cells(o, kw, sw, dw, pl, pr, w)),
  };
}

/** ONNX MaxPool: padded cells never win; `argmax` is the flat input index of the first maximum in row-major window order. */
export function refMaxPool2d(x: ArrayLike<number>, shape: readonly number[], win: RefPool2dWindow): { y: Float64Array; argmax: Int32Array; shape: number[] } {
  const { n, h, w, c, oh, ow, rows, cols } = window2d(shape, win);
  const y = new Float64Array(n * oh * ow * c);
  const argmax = new Int32Array(y.length);
  let o = 0;
  for (let b = 0; b < n; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let ch = 0; ch < c; ch++, o++) {
          let best = -Infinity;
          let at = -1;
          for (const iy of rows[i]!) {
            if (iy < 0 || iy >= h) continue;
            for (const ix of cols[j]!) {
              if (ix < 0 || ix >= w) continue;
              const idx = ((b * h + iy) * w + ix) * c + ch;
              if (at < 0 || x[idx]! > best) {
                best = x[idx]!;
                at = idx;
              }
            }
          }
          if (at < 0) throw new Error('refMaxPool2d: a window holds no input cell');
          y[o] = best;
          argmax[o] = at;
        }
  return { y, argmax, shape: [n, oh, ow, c] };
}

/** ONNX AveragePool: the mean over the window's input cells, or with count_include_pad over its cells inside the padded extent. */
export function refAvgPool2d(x: ArrayLike<number>, shape: readonly number[], win: RefPool2dWindow, countIncludePad: boolean): { y: Float64Array; shape: number[] } {
  const { n, h, w, c, oh, ow, rows, cols } = window2d(shape, win);
  const y = new Float64Array(n * oh * ow * c);
  let o = 0;
  for (let b = 0; b < n; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let ch = 0; ch < c; ch++, o++) {
          let sum = 0;
          let count = 0;
          for (const iy of rows[i]!)
            for (const ix of cols[j]!) {
              const inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
              if (inside) sum += x[((b * h + iy) * w + ix) * c + ch]!;
              if (inside || countIncludePad) count++;
            }
          y[o] = sum / count;
        }
  return { y, shape: [n, oh, ow, c] };
}

export function refAvgPool2dBackward(gy: ArrayLike<number>, shape: readonly number[], win: RefPool2dWindow, countIncludePad: boolean): Float64Array {
  const { n, h, w, c, oh, ow, rows, cols } = window2d(shape, win);
  const gx = new Float64Array(n * h * w * c);
  let o = 0;
  for (let b = 0; b < n; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        let count = 0;
        for (const iy of rows[i]!) for (const ix of cols[j]!) if (countIncludePad || (iy >= 0 && iy < h && ix >= 0 && ix < w)) count++;
        for (let ch = 0; ch < c; ch++, o++) {
          for (const iy of rows[i]!)
            for (const ix of cols[j]!) if (iy >= 0 && iy < h && ix >= 0 && ix < w) gx[((b * h + iy) * w + ix) * c + ch] += gy[o]! / count;
        }
      }
  return gx;
}
