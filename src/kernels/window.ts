/**
 * What the NHWC spatial kernels share (pools, depthwise convolutions, pads): decoding a flat invocation index into
 * (n, y, x, c), and the geometry of a 2-D window — kernel [kh, kw], strides, pads [top, bottom, left, right],
 * dilations — with the WGSL that lays it over the input (forward) and inverts it (gradient of the input).
 */

import { flatIndex } from './common.js';

/** A window laid over the H and W of an NHWC tensor. */
export interface Window2d {
  kernel: readonly [number, number];
  strides: readonly [number, number];
  /** [top, bottom, left, right] rows / columns of padding. */
  pads: readonly [number, number, number, number];
  dilations: readonly [number, number];
}

/** An input [n, h, w, c], its window and the output size oh × ow. */
export interface WindowGeometry {
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
  pb: number;
  pl: number;
  pr: number;
  oh: number;
  ow: number;
}

/** ONNX's output size on one axis, with ceil_mode's rule that the last window starts inside the input or the leading pad. */
export function windowOutputSize(inSize: number, k: number, s: number, d: number, padBegin: number, padEnd: number, ceilMode: boolean): number {
  const span = inSize + padBegin + padEnd - d * (k - 1) - 1;
  if (span < 0) return 0;
  let out = (ceilMode ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceilMode && (out - 1) * s >= inSize + padBegin) out--;
  return out;
}

/** Checks the window (`what` names the op in errors) and sizes its output over `shape` [N, H, W, C]. */
export function windowGeometry(shape: readonly number[], win: Window2d, ceilMode: boolean, what: string): WindowGeometry {
  if (shape.length !== 4) throw new Error(`${what}: expects an NHWC tensor, got shape [${shape.join(', ')}]`);
  const [n, h, w, c] = shape as [number, number, number, number];
  const ints = (vs: readonly number[], len: number, min: number): boolean => vs.length === len && vs.every((v) => Number.isInteger(v) && v >= min);
  if (!ints(win.kernel, 2, 1)) throw new Error(`${what}: kernel must be two integers ≥ 1, got [${win.kernel.join(', ')}]`);
  if (!ints(win.strides, 2, 1)) throw new Error(`${what}: strides must be two integers ≥ 1, got [${win.strides.join(', ')}]`);
  if (!ints(win.dilations, 2, 1)) throw new Error(`${what}: dilations must be two integers ≥ 1, got [${win.dilations.join(', ')}]`);
  if (!ints(win.pads, 4, 0)) throw new Error(`${what}: pads must be four integers ≥ 0 [top, bottom, left, right], got [${win.pads.join(', ')}]`);
  const [kh, kw] = win.kernel;
  const [sh, sw] = win.strides;
  const [dh, dw] = win.dilations;
  const [pt, pb, pl, pr] = win.pads;
  const oh = windowOutputSize(h, kh, sh, dh, pt, pb, ceilMode);
  const ow = windowOutputSize(w, kw, sw, dw, pl, pr, ceilMode);
  if (oh < 1 || ow < 1) throw new Error(`${what}: input [${shape.join(', ')}] is smaller than the ${kh}×${kw} window (pads [${win.pads.join(', ')}], dilations ${dh}, ${dw})`);
  return { n, h, w, c, kh, kw, sh, sw, dh, dw, pt, pb, pl, pr, oh, ow };
}

/** The pipeline-cache key part of a geometry (every field the generators below read). */
export function windowKey(g: WindowGeometry): string {
  return `${g.n},${g.h},${g.w},${g.c},k${g.kh}x${g.kw},s${g.sh}x${g.sw},d${g.dh}x${g.dw},p${g.pt},${g.pb},${g.pl},${g.pr},o${g.oh}x${g.ow}`;
}

/**
 * WGSL decoding the flat NHWC index `i` (channels innermost, `c` of them per pixel) of a [·, h, w, c] tensor into
 * `let` bindings named by `names` [batch, row, column, channel]; `coord` wraps the row and column expressions
 * (e.g. a cast to i32, an offset).
 */
export function decodeNhwc(
  i: string,
  h: number,
  w: number,
  c: number,
  names: readonly [string, string, string, string],
  coord = (v: string, _axis: 'y' | 'x'): string => v,
): string {
  const [n, y, x, ch] = names;
  return `let ${ch} = ${i} % ${c}u;
  let ${x} = ${coord(`(${i} / ${c}u) % ${w}u`, 'x')};
  let ${y} = ${coord(`(${i} / ${c * w}u) % ${h}u`, 'y')};
  let ${n} = ${i} / ${c * w * h}u;`;
}

/**
 * WGSL declaring, for output position (oy, ox), the window origin iy0 / ix0 and per kernel row / column whether it
 * lies inside the input (r0.. / c0..). A row or column that is inside for every output position is the literal
 * `true` (the compiler drops the test).
 */
export function windowBounds(g: WindowGeometry, oy: string, ox: string): string {
  const lines = [`let iy0 = i32(${oy} * ${g.sh}u) - ${g.pt};`, `let ix0 = i32(${ox} * ${g.sw}u) - ${g.pl};`];
  for (let k = 0; k < g.kh; k++) {
    const lo = -g.pt + k * g.dh;
    const hi = (g.oh - 1) * g.sh - g.pt + k * g.dh;
    lines.push(`let r${k} = ${lo >= 0 && hi < g.h ? 'true' : `u32(iy0 + ${k * g.dh}) < ${g.h}u`};`);
  }
  for (let k = 0; k < g.kw; k++) {
    const lo = -g.pl + k * g.dw;
    const hi = (g.ow - 1) * g.sw - g.pl + k * g.dw;
    lines.push(`let c${k} = ${lo >= 0 && hi < g.w ? 'true' : `u32(ix0 + ${k * g.dw}) < ${g.w}u`};`);
  }
  return lines.join('\n  ');
}

/** The flat index (in units of `cv` per pixel) of tap (ky, kx) of the window at (iy0, ix0), from `base` = its image's first element + c. */
export function windowTap(g: WindowGeometry, cv: number, ky: number, kx: number): string {
  return `base + (u32(iy0 + ${ky * g.dh}) * ${g.w}u + u32(ix0 + ${kx * g.dw})) * ${cv}u`;
}

/**
 * WGSL for input (iy, ix): per kernel row / column k, the output row oy{k} / column ox{k} whose window puts tap k
 * there (output row oy reads input row oy·s − pad + k·d, so oy = (iy + pad − k·d) / s when that is a whole number
 * inside the output), and whether there is one (oyok{k} / oxok{k}).
 */
export function windowInverse(g: WindowGeometry): string {
  const axis = (name: string, i: string, k: number, pad: number, dil: number, stride: number, lim: number): string => {
    const t = `${name}t${k}`;
    const head = `let ${t} = ${i} + ${pad - k * dil};`;
    if (stride === 1) return `${head} let ${name}${k} = u32(max(${t}, 0)); let ${name}ok${k} = ${t} >= 0 && ${name}${k} < ${lim}u;`;
    return `${head} let ${name}${k} = u32(max(${t}, 0)) / ${stride}u; let ${name}ok${k} = ${t} >= 0 && u32(${t}) % ${stride}u == 0u && ${name}${k} < ${lim}u;`;
  };
  const lines: string[] = [];
  for (let k = 0; k < g.kh; k++) lines.push(axis('oy', 'iy', k, g.pt, g.dh, g.sh, g.oh));
  for (let k = 0; k < g.kw; k++) lines.push(axis('ox', 'ix', k, g.pl, g.dw, g.sw, g.ow));
  return lines.join('\n  ');
}

/** Every tap (ky, kx) of the window in row-major order with its index ky·kw + kx: the generators unroll over these. */
export function windowTaps(g: WindowGeometry): { ky: number; kx: number; k: number }[] {
  const taps: { ky: number; kx: number; k: number }[] = [];
  for (let ky = 0; ky < g.kh; ky++) for (let kx = 0; kx < g.kw; kx++) taps.push({ ky, kx, k: ky * g.kw + kx });
  return taps;
}

/** The flat NHWC index of output (n, oy{ky}, ox{kx}) + c in a backward kernel after windowInverse. */
export function inverseOutput(g: WindowGeometry, cv: number, ky: number, kx: number): string {
  return `((n * ${g.oh}u + oy${ky}) * ${g.ow}u + ox${kx}) * ${cv}u + c`;
}

/**
 * WGSL opening a kernel (over a grid made for workgroup size `wg`) with one invocation `i` per output element,
 * `cv` of them per pixel: decodes i into (n, oy, ox, c) (the row / column named `oy` / `ox`), sets `base` (the
 * input image's first element + c) and the window's bounds.
 */
export function overWindowOutputs(g: WindowGeometry, cv: number, wg: number, oy: string, ox: string): string {
  return `let i = ${flatIndex(wg)};
  if (i >= ${g.n * g.oh * g.ow * cv}u) { return; }
  ${decodeNhwc('i', g.oh, g.ow, cv, ['n', oy, ox, 'c'])}
  let base = n * ${g.h * g.w * cv}u + c;
  ${windowBounds(g, oy, ox)}`;
}

/**
 * WGSL opening a gradient kernel with one invocation `i` per input element, `cv` of them per pixel: decodes i into
 * (n, iy, ix, c) and inverts the window (windowInverse).
 */
export function overWindowInputs(g: WindowGeometry, cv: number, wg: number): string {
  return `let i = ${flatIndex(wg)};
  if (i >= ${g.n * g.h * g.w * cv}u) { return; }
  ${decodeNhwc('i', g.h, g.w, cv, ['n', 'iy', 'ix', 'c'], (v) => `i32(${v})`)}
  ${windowInverse(g)}`;
}
