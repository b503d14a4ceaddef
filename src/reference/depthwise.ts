/**
 * Float64 reference of the depthwise 3×3 convolution (groups = channels, one filter per channel), NHWC,
 * symmetric padding 1, stride 1 or 2, optional bias and a ReLU / ReLU6 epilogue. The oracle for
 * src/kernels/depthwise.ts. Filter layout [3, 3, C, 1] (Keras DepthwiseConv2D, multiplier 1).
 */

export type DepthwiseActivation = 'linear' | 'relu' | 'relu6';

export interface DepthwiseGeometry {
  n: number;
  h: number;
  w: number;
  c: number;
  stride: 1 | 2;
  ho: number;
  wo: number;
}

type Numbers = ArrayLike<number>;

export const DEPTHWISE_K = 3;
export const DEPTHWISE_PAD = 1;

export function depthwiseGeometry(xShape: readonly number[], stride: 1 | 2): DepthwiseGeometry {
  if (xShape.length !== 4) throw new Error(`depthwise conv: input must be NHWC, got [${xShape.join(', ')}]`);
  const [n, h, w, c] = xShape as [number, number, number, number];
  const ho = Math.floor((h + 2 * DEPTHWISE_PAD - DEPTHWISE_K) / stride) + 1;
  const wo = Math.floor((w + 2 * DEPTHWISE_PAD - DEPTHWISE_K) / stride) + 1;
  if (ho < 1 || wo < 1) throw new Error(`depthwise conv: input [${xShape.join(', ')}] too small`);
  return { n, h, w, c, stride, ho, wo };
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
export function depthwisePreactivation(x: Numbers, xShape: readonly number[], w: Numbers, b: Numbers | null, stride: 1 | 2): { z: Float64Array; shape: number[] } {
  const g = depthwiseGeometry(xShape, stride);
  const { n, h, w: wd, c, ho, wo } = g;
  if (w.length !== 9 * c) throw new Error(`depthwise conv: filter has ${w.length} values, expected 3·3·${c}`);
  const z = new Float64Array(n * ho * wo * c);
  for (let b0 = 0; b0 < n; b0++)
    for (let oy = 0; oy < ho; oy++)
      for (let ox = 0; ox < wo; ox++)
        for (let ch = 0; ch < c; ch++) {
          let s = b ? b[ch]! : 0;
          for (let ky = 0; ky < 3; ky++) {
            const iy = oy * stride - DEPTHWISE_PAD + ky;
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < 3; kx++) {
              const ix = ox * stride - DEPTHWISE_PAD + kx;
              if (ix < 0 || ix >= wd) continue;
              s += x[((b0 * h + iy) * wd + ix) * c + ch]! * w[(ky * 3 + kx) * c + ch]!;
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
  opts: { stride?: 1 | 2; activation?: DepthwiseActivation } = {},
): { y: Float64Array; shape: number[] } {
  const act = opts.activation ?? 'linear';
  const { z, shape } = depthwisePreactivation(x, xShape, w, b, opts.stride ?? 1);
  for (let i = 0; i < z.length; i++) z[i] = activate(z[i]!, act);
  return { y: z, shape };
}

/**
 * Gradients of depthwiseForward given dL/dy: dL/dx [N,H,W,C], dL/dw [3,3,C,1] and dL/db [C].
 */
export function depthwiseBackward(
  x: Numbers,
  xShape: readonly number[],
  w: Numbers,
  b: Numbers | null,
  gy: Numbers,
  opts: { stride?: 1 | 2; activation?: DepthwiseActivation } = {},
): { gx: Float64Array; gw: Float64Array; gb: Float64Array } {
  const stride = opts.stride ?? 1;
  const act = opts.activation ?? 'linear';
  const g = depthwiseGeometry(xShape, stride);
  const { n, h, w: wd, c, ho, wo } = g;
  const { z } = depthwisePreactivation(x, xShape, w, b, stride);
  if (gy.length !== z.length) throw new Error(`depthwise backward: gradient has ${gy.length} values, expected ${z.length}`);
  const gx = new Float64Array(n * h * wd * c);
  const gw = new Float64Array(9 * c);
  const gb = new Float64Array(c);
  for (let b0 = 0; b0 < n; b0++)
    for (let oy = 0; oy < ho; oy++)
      for (let ox = 0; ox < wo; ox++)
        for (let ch = 0; ch < c; ch++) {
          const o = ((b0 * ho + oy) * wo + ox) * c + ch;
          const gz = gy[o]! * activationSlope(z[o]!, act);
          if (gz === 0) continue;
          gb[ch] += gz;
          for (let ky = 0; ky < 3; ky++) {
            const iy = oy * stride - DEPTHWISE_PAD + ky;
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < 3; kx++) {
              const ix = ox * stride - DEPTHWISE_PAD + kx;
              if (ix < 0 || ix >= wd) continue;
              const xi = ((b0 * h + iy) * wd + ix) * c + ch;
              const wi = (ky * 3 + kx) * c + ch;
              gx[xi] += gz * w[wi]!;
              gw[wi] += gz * x[xi]!;
            }
          }
        }
  return { gx, gw, gb };
}
