/**
 * Float64 reference of the depthwise convolution (groups = channels, one filter per channel), NHWC: any kernel
 * KH×KW, strides, explicit pads [top, bottom, left, right] (zeros), dilations, optional bias and a ReLU / ReLU6
 * epilogue. The defaults (3×3, pads 1, dilation 1) are MobileNetV2's depthwise layer. The oracle for
 * src/kernels/depthwise.ts. Filter layout [KH, KW, C, 1] (Keras DepthwiseConv2D, multiplier 1).
 */
import { refWindows, type RefWindows } from './window.js';

export type DepthwiseActivation = 'linear' | 'relu' | 'relu6';

/** How the window is laid over the input; every field optional (3×3, stride 1, pads 1, dilation 1). */
export interface DepthwiseWindow {
  stride?: number | readonly [number, number];
  kernel?: readonly [number, number];
  /** [top, bottom, left, right] */
  pads?: readonly [number, number, number, number];
  dilation?: number | readonly [number, number];
}

/** An input [n, h, w, c], its filter's KH × KW, the output size ho × wo and each output row's / column's taps. */
export interface DepthwiseGeometry extends RefWindows {
  kh: number;
  kw: number;
  ho: number;
  wo: number;
}

type Numbers = ArrayLike<number>;

export const DEPTHWISE_K = 3;
export const DEPTHWISE_PAD = 1;

const pair = (v: number | readonly [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

export function depthwiseGeometry(xShape: readonly number[], win: DepthwiseWindow | number = {}): DepthwiseGeometry {
  const o: DepthwiseWindow = typeof win === 'number' ? { stride: win } : win;
  if (xShape.length !== 4) throw new Error(`depthwise conv: input must be NHWC, got [${xShape.join(', ')}]`);
  const kernel = o.kernel ?? [DEPTHWISE_K, DEPTHWISE_K];
  const pads = o.pads ?? [DEPTHWISE_PAD, DEPTHWISE_PAD, DEPTHWISE_PAD, DEPTHWISE_PAD];
  const g = refWindows(xShape, { kernel, strides: pair(o.stride ?? 1), pads, dilations: pair(o.dilation ?? 1) }, false);
  if (g.oh < 1 || g.ow < 1) throw new Error(`depthwise conv: input [${xShape.join(', ')}] too small`);
  return { ...g, kh: kernel[0], kw: kernel[1], ho: g.oh, wo: g.ow };
}

/**
 * Calls `visit(o, ch, taps)` for every output element o (row-major NHWC) with its channel and its window's taps
 * inside the input, as [flat input index, flat filter index] pairs of channel 0 (add ch) in row-major window order.
 */
function eachOutput(g: DepthwiseGeometry, visit: (o: number, ch: number, taps: readonly (readonly [number, number])[]) => void): void {
  const { n, h, w, c, kw, rows, cols } = g;
  let o = 0;
  for (let b0 = 0; b0 < n; b0++)
    for (let oy = 0; oy < g.oh; oy++)
      for (let ox = 0; ox < g.ow; ox++) {
        const taps: [number, number][] = [];
        rows[oy]!.forEach((iy, ky) => {
          if (iy < 0 || iy >= h) return;
          cols[ox]!.forEach((ix, kx) => {
            if (ix >= 0 && ix < w) taps.push([((b0 * h + iy) * w + ix) * c, (ky * kw + kx) * c]);
          });
        });
        for (let ch = 0; ch < c; ch++, o++) visit(o, ch, taps);
      }
}

/** Applies the activation to a pre-activation value. */
export function activate(z: number, act: DepthwiseActivation): number {
  if (act === 'relu') return z > 0 ? z : 0;
  if (act === 'relu6') return z < 0 ? 0 : z > 6 ? 6 : z;
  return z;
}

/** The activation's derivative, from the pre-activation (0 at the kinks, like the GPU kernels). */
export function activationSlope(z: number, act: DepthwiseActivation): number {
  if (act === 'relu') return z > 0 ? 1 : 0;
  if (act === 'relu6') return z > 0 && z < 6 ? 1 : 0;
  return 1;
}

/** Pre-activation output z = depthwise(x, w) + b, [N, Ho, Wo, C]. */
export function depthwisePreactivation(
  x: Numbers,
  xShape: readonly number[],
  w: Numbers,
  b: Numbers | null,
  win: DepthwiseWindow | number = {},
): { z: Float64Array; shape: number[] } {
  const g = depthwiseGeometry(xShape, win);
  const { n, c, kh, kw, ho, wo } = g;
  if (w.length !== kh * kw * c) throw new Error(`depthwise conv: filter has ${w.length} values, expected ${kh}·${kw}·${c}`);
  const z = new Float64Array(n * ho * wo * c);
  eachOutput(g, (o, ch, taps) => {
    let s = b ? b[ch]! : 0;
    for (const [xi, wi] of taps) s += x[xi + ch]! * w[wi + ch]!;
    z[o] = s;
  });
  return { z, shape: [n, ho, wo, c] };
}

export function depthwiseForward(
  x: Numbers,
  xShape: readonly number[],
  w: Numbers,
  b: Numbers | null,
  opts: DepthwiseWindow & { activation?: DepthwiseActivation } = {},
): { y: Float64Array; shape: number[] } {
  const act = opts.activation ?? 'linear';
  const { z, shape } = depthwisePreactivation(x, xShape, w, b, opts);
  for (let i = 0; i < z.length; i++) z[i] = activate(z[i]!, act);
  return { y: z, shape };
}

/**
 * Gradients of depthwiseForward given dL/dy: dL/dx [N,H,W,C], dL/dw [KH,KW,C,1] and dL/db [C].
 */
export function depthwiseBackward(
  x: Numbers,
  xShape: readonly number[],
  w: Numbers,
  b: Numbers | null,
  gy: Numbers,
  opts: DepthwiseWindow & { activation?: DepthwiseActivation } = {},
): { gx: Float64Array; gw: Float64Array; gb: Float64Array } {
  const act = opts.activation ?? 'linear';
  const g = depthwiseGeometry(xShape, opts);
  const { z } = depthwisePreactivation(x, xShape, w, b, opts);
  if (gy.length !== z.length) throw new Error(`depthwise backward: gradient has ${gy.length} values, expected ${z.length}`);
  const gx = new Float64Array(g.n * g.h * g.w * g.c);
  const gw = new Float64Array(g.kh * g.kw * g.c);
  const gb = new Float64Array(g.c);
  eachOutput(g, (o, ch, taps) => {
    const gz = gy[o]! * activationSlope(z[o]!, act);
    if (gz === 0) return;
    gb[ch] += gz;
    for (const [x0, w0] of taps) {
      gx[x0 + ch] += gz * w[w0 + ch]!;
      gw[w0 + ch] += gz * x[x0 + ch]!;
    }
  });
  return { gx, gw, gb };
}
