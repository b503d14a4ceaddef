/**
 * Float64 reference geometry of a 2-D window over NHWC (kernel, strides, pads [top, bottom, left, right], dilations),
 * shared by the pooling and depthwise references: the output size (ONNX's rule, ceil_mode included) and, per output
 * row or column, the input positions of its taps.
 */
import type { Window2d, WindowGeometry } from '../kernels/window.js';

export type { Window2d };

/** An input [n, h, w, c], its output size oh × ow and per output row / column the input rows / columns of its window's taps. */
export interface RefWindows extends Pick<WindowGeometry, 'n' | 'h' | 'w' | 'c' | 'oh' | 'ow'> {
  /** rows[oy][ky], cols[ox][kx]: positions in the padding lie outside 0 … size − 1. */
  rows: number[][];
  cols: number[][];
}

/** ONNX's output size on one axis: floor or ceil, and with ceil a last window that starts past the input and its leading pad is dropped. */
export function refWindowOutSize(inSize: number, k: number, s: number, d: number, p0: number, p1: number, ceil: boolean): number {
  const span = inSize + p0 + p1 - d * (k - 1) - 1;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (out - 1) * s >= inSize + p0) out--;
  return Math.max(0, out);
}

/** Per output position o < out on one axis: the input positions o·s − p0 + j·d of its k taps (j = 0 … k − 1). */
export function refAxisTaps(out: number, k: number, s: number, d: number, p0: number): number[][] {
  return Array.from({ length: out }, (_, o) => Array.from({ length: k }, (_, j) => o * s - p0 + j * d));
}

/** The windows of `win` over `shape` [N, H, W, C]; `ceil` as ONNX's ceil_mode. */
export function refWindows(shape: readonly number[], win: Window2d, ceil: boolean): RefWindows {
  const [n, h, w, c] = shape as [number, number, number, number];
  const axis = (size: number, j: 0 | 1): number[][] => {
    const [k, s, d, p0, p1] = [win.kernel[j], win.strides[j], win.dilations[j], win.pads[2 * j]!, win.pads[2 * j + 1]!];
    return refAxisTaps(refWindowOutSize(size, k, s, d, p0, p1, ceil), k, s, d, p0);
  };
  const rows = axis(h, 0);
  const cols = axis(w, 1);
  return { n, h, w, c, oh: rows.length, ow: cols.length, rows, cols };
}
