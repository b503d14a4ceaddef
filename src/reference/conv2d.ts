/**
 * Float64 reference of the 2-D convolution as Keras defines it: NHWC input, HWIO kernel, stride 1 or 2, padding
 * 'same' (output ceil(H/s), total padding max((out−1)·s + k − H, 0), the smaller half on top/left) or 'valid'
 * (no padding), optional bias and ReLU or ReLU6; and its backward. The oracle for src/kernels/conv2d.ts.
 */

import { activate, activationSlope, type DepthwiseActivation } from './depthwise.js';

type Numbers = ArrayLike<number>;

/** The activation after the convolution: true / false stand for 'relu' / 'linear'. */
export type RefConvActivation = boolean | DepthwiseActivation;

const actOf = (a: RefConvActivation): DepthwiseActivation => (a === true ? 'relu' : a === false ? 'linear' : a);

export interface RefConvShape {
  n: number;
  h: number;
  w: number;
  cin: number;
  kh: number;
  kw: number;
  cout: number;
  stride: number;
  padding: 'same' | 'valid';
}

export interface RefConvGeometry extends RefConvShape {
  oh: number;
  ow: number;
  padTop: number;
  padLeft: number;
}

function axis(size: number, k: number, s: number, padding: 'same' | 'valid'): { out: number; pad: number } {
  if (padding === 'valid') return { out: Math.floor((size - k) / s) + 1, pad: 0 };
  const out = Math.ceil(size / s);
  return { out, pad: Math.floor(Math.max((out - 1) * s + k - size, 0) / 2) };
}

export function refConvGeometry(s: RefConvShape): RefConvGeometry {
  const v = axis(s.h, s.kh, s.stride, s.padding);
  const h = axis(s.w, s.kw, s.stride, s.padding);
  if (v.out < 1 || h.out < 1) throw new Error(`conv2d reference: input ${s.h}×${s.w} too small for a ${s.kh}×${s.kw} 'valid' kernel`);
  return { ...s, oh: v.out, ow: h.out, padTop: v.pad, padLeft: h.pad };
}

/** Calls f(outIndex, inIndex, wIndex) for every (output position, kernel tap, input channel, output channel) in range. */
function forEachTap(g: RefConvGeometry, f: (o: number, i: number, wi: number) => void): void {
  for (let n = 0; n < g.n; n++) {
    for (let oy = 0; oy < g.oh; oy++) {
      for (let ox = 0; ox < g.ow; ox++) {
        const o = ((n * g.oh + oy) * g.ow + ox) * g.cout;
        for (let ky = 0; ky < g.kh; ky++) {
          const iy = oy * g.stride + ky - g.padTop;
          if (iy < 0 || iy >= g.h) continue;
          for (let kx = 0; kx < g.kw; kx++) {
            const ix = ox * g.stride + kx - g.padLeft;
            if (ix < 0 || ix >= g.w) continue;
            for (let ci = 0; ci < g.cin; ci++) {
              const i = ((n * g.h + iy) * g.w + ix) * g.cin + ci;
              const wi = ((ky * g.kw + kx) * g.cin + ci) * g.cout;
              f(o, i, wi);
            }
          }
        }
      }
    }
  }
}

/** The pre-activation x ⊛ w + b. */
function preActivation(x: Numbers, w: Numbers, b: Numbers | null, g: RefConvGeometry): Float64Array {
  const z = new Float64Array(g.n * g.oh * g.ow * g.cout);
  forEachTap(g, (o, i, wi) => {
    const xv = x[i]!;
    for (let co = 0; co < g.cout; co++) z[o + co] += xv * w[wi + co]!;
  });
  if (b) for (let o = 0; o < z.length; o++) z[o] += b[o % g.cout]!;
  return z;
}

export function refConv2d(x: Numbers, w: Numbers, b: Numbers | null, g: RefConvGeometry, act: RefConvActivation): Float64Array {
  const z = preActivation(x, w, b, g);
  const a = actOf(act);
  if (a !== 'linear') for (let o = 0; o < z.length; o++) z[o] = activate(z[o]!, a);
  return z;
}

/**
 * Gradients of refConv2d for the output gradient gy; with ReLU it flows only where the pre-activation is positive,
 * with ReLU6 where it lies in (0, 6).
 */
export function refConv2dBackward(
  x: Numbers,
  w: Numbers,
  b: Numbers | null,
  gy: Numbers,
  g: RefConvGeometry,
  act: RefConvActivation,
): { gx: Float64Array; gw: Float64Array; gb: Float64Array } {
  const gz = Float64Array.from(gy);
  const a = actOf(act);
  if (a !== 'linear') {
    const z = preActivation(x, w, b, g);
    for (let o = 0; o < gz.length; o++) gz[o] = gz[o]! * activationSlope(z[o]!, a);
  }
  const gx = new Float64Array(x.length);
  const gw = new Float64Array(w.length);
  const gb = new Float64Array(g.cout);
  forEachTap(g, (o, i, wi) => {
    const xv = x[i]!;
    let s = 0;
    for (let co = 0; co < g.cout; co++) {
      const gv = gz[o + co]!;
      s += gv * w[wi + co]!;
      gw[wi + co] += gv * xv;
    }
    gx[i] += s;
  });
  for (let o = 0; o < gz.length; o++) gb[o % g.cout] += gz[o]!;
  return { gx, gw, gb };
}
