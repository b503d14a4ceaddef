/**
 * Float64 reference of the general 2-D convolution, NHWC, filters HWIO [KH, KW, Cin, Cout]: any strides, dilations,
 * explicit zero pads [top, bottom, left, right], optional bias and ReLU. The oracle for src/kernels/conv2d-direct.ts.
 * Output size per axis: ⌊(in + padBegin + padEnd − d·(k − 1) − 1) / s⌋ + 1.
 */

type Numbers = ArrayLike<number>;

export interface RefConvGeneralWindow {
  strides: readonly [number, number];
  dilations: readonly [number, number];
  /** [top, bottom, left, right] */
  pads: readonly [number, number, number, number];
}

export interface RefConvGeneralGeometry {
  n: number;
  h: number;
  w: number;
  cin: number;
  kh: number;
  kw: number;
  cout: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  pt: number;
  pl: number;
  oh: number;
  ow: number;
}

export function refConvGeneralGeometry(xShape: readonly number[], wShape: readonly number[], win: RefConvGeneralWindow): RefConvGeneralGeometry {
  const [n, h, w, cin] = xShape as [number, number, number, number];
  const [kh, kw, wcin, cout] = wShape as [number, number, number, number];
  if (xShape.length !== 4 || wShape.length !== 4 || wcin !== cin) throw new Error(`conv2d general reference: x [${xShape.join(', ')}] and w [${wShape.join(', ')}] do not match`);
  const [sh, sw] = win.strides;
  const [dh, dw] = win.dilations;
  const [pt, pb, pl, pr] = win.pads;
  const oh = Math.floor((h + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((w + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  if (oh < 1 || ow < 1) throw new Error(`conv2d general reference: input [${xShape.join(', ')}] is smaller than the window`);
  return { n, h, w, cin, kh, kw, cout, sh, sw, dh, dw, pt, pl, oh, ow };
}

/** Calls visit(xBase, wBase, oBase) for every (output position, tap inside the input): the flat offsets of channel 0. */
function eachTap(g: RefConvGeneralGeometry, visit: (xb: number, wb: number, ob: number) => void): void {
  for (let b = 0; b < g.n; b++)
    for (let oy = 0; oy < g.oh; oy++)
      for (let ox = 0; ox < g.ow; ox++) {
        const ob = ((b * g.oh + oy) * g.ow + ox) * g.cout;
        for (let ky = 0; ky < g.kh; ky++) {
          const iy = oy * g.sh + ky * g.dh - g.pt;
          if (iy < 0 || iy >= g.h) continue;
          for (let kx = 0; kx < g.kw; kx++) {
            const ix = ox * g.sw + kx * g.dw - g.pl;
            if (ix < 0 || ix >= g.w) continue;
            visit(((b * g.h + iy) * g.w + ix) * g.cin, (ky * g.kw + kx) * g.cin * g.cout, ob);
          }
        }
      }
}

/** Pre-activation z = conv(x, w) + b, [N, OH, OW, Cout]. */
export function refConvGeneralPreactivation(x: Numbers, w: Numbers, b: Numbers | null, g: RefConvGeneralGeometry): Float64Array {
  const z = new Float64Array(g.n * g.oh * g.ow * g.cout);
  if (b) for (let o = 0; o < z.length; o++) z[o] = b[o % g.cout]!;
  eachTap(g, (xb, wb, ob) => {
    for (let ci = 0; ci < g.cin; ci++) {
      const xv = x[xb + ci]!;
      const wr = wb + ci * g.cout;
      for (let co = 0; co < g.cout; co++) z[ob + co] += xv * w[wr + co]!;
    }
  });
  return z;
}

export function refConvGeneral(x: Numbers, w: Numbers, b: Numbers | null, g: RefConvGeneralGeometry, relu: boolean): Float64Array {
  const z = refConvGeneralPreactivation(x, w, b, g);
  if (relu) for (let i = 0; i < z.length; i++) z[i] = Math.max(z[i]!, 0);
  return z;
}

/** dL/dx, dL/dw, dL/db of refConvGeneral given dL/dy (the ReLU's slope is 0 at z ≤ 0). */
export function refConvGeneralBackward(
  x: Numbers,
  w: Numbers,
  b: Numbers | null,
  gy: Numbers,
  g: RefConvGeneralGeometry,
  relu: boolean,
): { gx: Float64Array; gw: Float64Array; gb: Float64Array } {
  const z = refConvGeneralPreactivation(x, w, b, g);
  if (gy.length !== z.length) throw new Error(`conv2d general reference backward: gradient has ${gy.length} values, expected ${z.length}`);
  const gz = Float64Array.from(z, (v, i) => (relu && !(v > 0) ? 0 : gy[i]!));
  const gx = new Float64Array(g.n * g.h * g.w * g.cin);
  const gw = new Float64Array(g.kh * g.kw * g.cin * g.cout);
  const gb = new Float64Array(g.cout);
  for (let o = 0; o < gz.length; o++) gb[o % g.cout] += gz[o]!;
  eachTap(g, (xb, wb, ob) => {
    for (let ci = 0; ci < g.cin; ci++) {
      const xv = x[xb + ci]!;
      const wr = wb + ci * g.cout;
      let sx = 0;
      for (let co = 0; co < g.cout; co++) {
        const gv = gz[ob + co]!;
        sx += gv * w[wr + co]!;
        gw[wr + co] += gv * xv;
      }
      gx[xb + ci] += sx;
    }
  });
  return { gx, gw, gb };
}
