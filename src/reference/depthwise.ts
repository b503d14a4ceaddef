/**
 * Float64 reference of the depthwise convolution (groups = channels, one filter per channel), NHWC: any kernel
 * KH×KW, strides, explicit pads [top, bottom, left, right] (zeros), dilations, optional bias and a ReLU / ReLU6
 * epilogue. The defaults (3×3, pads 1, dilation 1) are MobileNetV2's depthwise layer. The oracle for
 * src/kernels/depthwise.ts. Filter layout [KH, KW, C, 1] (Keras DepthwiseConv2D, multiplier 1).
 */

export type DepthwiseActivation = 'linear' | 'relu' | 'relu6';

/** How the window is laid over the input; every field optional (3×3, stride 1, pads 1, dilation 1). */
export interface DepthwiseWindow {
  stride?: number | readonly [number, number];
  kernel?: readonly [number, number];
  /** [top, bottom, left, right] */
  pads?: readonly [number, number, number, number];
  dilation?: number | readonly [number, number];
}

export interface DepthwiseGeometry {
  n: number;
  h: number;
  w: number;
  c: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  pt: number;
  pl: number;
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
  const [n, h, w, c] = xShape as [number, number, number, number];
  const [kh, kw] = o.kernel ?? [DEPTHWISE_K, DEPTHWISE_K];
  const [sh, sw] = pair(o.stride ?? 1);
  const [dh, dw] = pair(o.dilation ?? 1);
  const [pt, pb, pl, pr] = o.pads ?? [DEPTHWISE_PAD, DEPTHWISE_PAD, DEPTHWISE_PAD, DEPTHWISE_PAD];
  const ho = Math.floor((h + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
  const wo = Math.floor((w + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  if (ho < 1 || wo < 1) throw new Error(`depthwise conv: input [${xShape.join(', ')}] too small`);
  return { n, h, w, c, kh, kw, sh, sw, dh, dw, pt, pl, ho, wo };
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
  const { n, h, w: wd, c, kh, kw, sh, sw, dh, dw, pt, pl, ho, wo } = g;
  if (w.length !== kh * kw * c) throw new Error(`depthwise conv: filter has ${w.length} values, expected ${kh}·${kw}·${c}`);
  const z = new Float64Array(n * ho * wo * c);
  for (let b0 = 0; b0 < n; b0++)
    for (let oy = 0; oy < ho; oy++)
      for (let ox = 0; ox < wo; ox++)
        for (let ch = 0; ch < c; ch++) {
          let s = b ? b[ch]! : 0;
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * sh - pt + ky * dh;
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * sw - pl + kx * dw;
              if (ix < 0 || ix >= wd) continue;
              s += x[((b0 * h + iy) * wd + ix) * c + ch]! * w[(ky * kw + kx) * c + ch]!;
            }
          }
          z[((b0 * ho + oy) * wo + ox) * c + ch] = s;
        }
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
  const { n, h, w: wd, c, kh, kw, sh, sw, dh, dw, pt, pl, ho, wo } = g;
  const { z } = depthwisePreactivation(x, xShape, w, b, opts);
  if (gy.length !== z.length) throw new Error(`depthwise backward: gradient has ${gy.length} values, expected ${z.length}`);
  const gx = new Float64Array(n * h * wd * c);
  const gw = new Float64Array(kh * kw * c);
  const gb = new Float64Array(c);
  for (let b0 = 0; b0 < n; b0++)
    for (let oy = 0; oy < ho; oy++)
      for (let ox = 0; ox < wo; ox++)
        for (let ch = 0; ch < c; ch++) {
          const o = ((b0 * ho + oy) * wo + ox) * c + ch;
          const gz = gy[o]! * activationSlope(z[o]!, act);
          if (gz === 0) continue;
          gb[ch] += gz;
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * sh - pt + ky * dh;
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * sw - pl + kx * dw;
              if (ix < 0 || ix >= wd) continue;
              const xi = ((b0 * h + iy) * wd + ix) * c + ch;
              const wi = (ky * kw + kx) * c + ch;
              gx[xi] += gz * w[wi]!;
              gw[wi] += gz * x[xi]!;
            }
          }
        }
  return { gx, gw, gb };
}
