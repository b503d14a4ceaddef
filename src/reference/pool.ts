/** Float64 reference of max pooling (NHWC, no padding, floor or ceil rounding), ONNX MaxPool / AveragePool (below) and global average pooling. */
import { refAxisTaps, refWindows, type RefWindows, type Window2d } from './window.js';

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

/** The windows of the pooling without padding, clipped at the border. */
function clippedWindows(shape: readonly number[], opts: RefPoolOptions): RefWindows {
  const [n, h, w, c] = shape as [number, number, number, number];
  const [, oh, ow] = refPoolShape(shape, opts);
  const { size, stride } = opts;
  const cells = (out: number, inSize: number): number[][] => refAxisTaps(out, size, stride, 1, 0).map((ps) => ps.filter((p) => p < inSize));
  return { n, h, w, c, oh, ow, rows: cells(oh, h), cols: cells(ow, w) };
}

/**
 * Calls `visit(o, cells, all)` for every output pixel in row-major order: o is its flat index at channel 0, cells the
 * flat input indices (channel 0; add the channel) of its window's cells inside the input in row-major window order,
 * all how many cells its window has in all (padding included).
 */
function eachWindow(g: RefWindows, visit: (o: number, cells: number[], all: number) => void): void {
  const { n, h, w, c, oh, ow, rows, cols } = g;
  for (let b = 0; b < n; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        const cells: number[] = [];
        for (const iy of rows[i]!) for (const ix of cols[j]!) if (iy >= 0 && iy < h && ix >= 0 && ix < w) cells.push(((b * h + iy) * w + ix) * c);
        visit(((b * oh + i) * ow + j) * c, cells, rows[i]!.length * cols[j]!.length);
      }
}

/** Per output: the maximum over its window's input cells and the flat input index of the first one (−1 when none). */
function maxOverWindows(x: ArrayLike<number>, g: RefWindows): { y: Float64Array; argmax: Int32Array; shape: number[] } {
  const y = new Float64Array(g.n * g.oh * g.ow * g.c);
  const argmax = new Int32Array(y.length);
  eachWindow(g, (o, cells) => {
    for (let ch = 0; ch < g.c; ch++) {
      let best = -Infinity;
      let at = -1;
      for (const cell of cells) {
        const idx = cell + ch;
        if (at < 0 || x[idx]! > best) {
          best = x[idx]!;
          at = idx;
        }
      }
      y[o + ch] = best;
      argmax[o + ch] = at;
    }
  });
  return { y, argmax, shape: [g.n, g.oh, g.ow, g.c] };
}

/**
 * Max pooling; `argmax` holds, per output, the flat input index of the window's maximum. Windows are clipped at
 * the border; ties keep the first maximum in row-major window order.
 */
export function refMaxPool(x: ArrayLike<number>, shape: readonly number[], opts: RefPoolOptions): { y: Float64Array; argmax: Int32Array; shape: number[] } {
  return maxOverWindows(x, clippedWindows(shape, opts));
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
export interface RefPool2dWindow extends Window2d {
  ceilMode: boolean;
}

/** The ONNX windows: each keeps its cells inside the padded extent (−pad … size + pad). */
function window2d(shape: readonly number[], win: RefPool2dWindow): RefWindows {
  const g = refWindows(shape, win, win.ceilMode);
  const [pt, pb, pl, pr] = win.pads;
  const inside = (ps: number[], p0: number, p1: number, size: number): number[] => ps.filter((p) => p >= -p0 && p < size + p1);
  return { ...g, rows: g.rows.map((ps) => inside(ps, pt, pb, g.h)), cols: g.cols.map((ps) => inside(ps, pl, pr, g.w)) };
}

/** ONNX MaxPool: padded cells never win; `argmax` is the flat input index of the first maximum in row-major window order. */
export function refMaxPool2d(x: ArrayLike<number>, shape: readonly number[], win: RefPool2dWindow): { y: Float64Array; argmax: Int32Array; shape: number[] } {
  const r = maxOverWindows(x, window2d(shape, win));
  if (r.argmax.includes(-1)) throw new Error('refMaxPool2d: a window holds no input cell');
  return r;
}

/** ONNX AveragePool: the mean over the window's input cells, or with count_include_pad over its cells inside the padded extent. */
export function refAvgPool2d(x: ArrayLike<number>, shape: readonly number[], win: RefPool2dWindow, countIncludePad: boolean): { y: Float64Array; shape: number[] } {
  const g = window2d(shape, win);
  const y = new Float64Array(g.n * g.oh * g.ow * g.c);
  eachWindow(g, (o, cells, all) => {
    const count = countIncludePad ? all : cells.length;
    for (let ch = 0; ch < g.c; ch++) {
      let sum = 0;
      for (const cell of cells) sum += x[cell + ch]!;
      y[o + ch] = sum / count;
    }
  });
  return { y, shape: [g.n, g.oh, g.ow, g.c] };
}

export function refAvgPool2dBackward(gy: ArrayLike<number>, shape: readonly number[], win: RefPool2dWindow, countIncludePad: boolean): Float64Array {
  const g = window2d(shape, win);
  const gx = new Float64Array(g.n * g.h * g.w * g.c);
  eachWindow(g, (o, cells, all) => {
    const count = countIncludePad ? all : cells.length;
    for (let ch = 0; ch < g.c; ch++) for (const cell of cells) gx[cell + ch] += gy[o + ch]! / count;
  });
  return gx;
}
