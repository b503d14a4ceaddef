/**
 * Depthwise 3×3 convolution (one filter per channel), NHWC, symmetric padding 1, stride 1 or 2, optional bias and a
 * fused ReLU / ReLU6 epilogue: forward, gradient of the input, gradient of the filter and bias.
 * Filters are [3, 3, C, 1]. When C is a multiple of 4 every thread handles four channels as a vec4.
 * The gradient kernels take the forward output `y` to mask the activation's slope (y in (0, 6) for ReLU6).
 */
import type { Engine } from '../engine/engine.js';
import type { Tensor } from '../engine/tensor.js';
import { entry1d, flatIndex, grid } from './common.js';

export type DepthwiseActivation = 'linear' | 'relu' | 'relu6';

export interface DepthwiseShape {
  n: number;
  h: number;
  w: number;
  c: number;
  stride: 1 | 2;
  ho: number;
  wo: number;
}

const WG = 64;

export function depthwiseShape(xShape: readonly number[], stride: 1 | 2): DepthwiseShape {
  if (xShape.length !== 4) throw new Error(`depthwise conv: input must be NHWC, got [${xShape.join(', ')}]`);
  if (stride !== 1 && stride !== 2) throw new Error(`depthwise conv: stride must be 1 or 2, got ${String(stride)}`);
  const [n, h, w, c] = xShape as [number, number, number, number];
  const ho = Math.floor((h - 1) / stride) + 1;
  const wo = Math.floor((w - 1) / stride) + 1;
  if (n < 1 || h < 1 || w < 1 || c < 1) throw new Error(`depthwise conv: empty input [${xShape.join(', ')}]`);
  return { n, h, w, c, stride, ho, wo };
}

interface Layout {
  v: 1 | 4;
  cv: number;
  ty: string;
  zero: string;
}

/** The pipeline-cache key part of a shape (ho and wo follow from h, w and stride). */
function shapeKey(s: DepthwiseShape): string {
  return `${s.n},${s.h},${s.w},${s.c},${s.stride}`;
}

function layout(c: number): Layout {
  const v = c % 4 === 0 ? 4 : 1;
  return { v, cv: c / v, ty: v === 4 ? 'vec4<f32>' : 'f32', zero: v === 4 ? 'vec4<f32>(0.0)' : '0.0' };
}

function epilogue(act: DepthwiseActivation, ty: string, z: string): string {
  if (act === 'relu') return `max(${z}, ${ty}(0.0))`;
  if (act === 'relu6') return `clamp(${z}, ${ty}(0.0), ${ty}(6.0))`;
  return z;
}

/** WGSL that sets `g` to the upstream gradient at output index `o`, masked by the activation's slope. */
function maskedGrad(act: DepthwiseActivation, ty: string, zero: string, o: string): string {
  if (act === 'linear') return `let g = gy[${o}];`;
  const yv = `y[${o}]`;
  const cond = act === 'relu' ? `${yv} > ${ty}(0.0)` : `(${yv} > ${ty}(0.0)) & (${yv} < ${ty}(6.0))`;
  return `let g = select(${zero}, gy[${o}], ${cond});`;
}

function bindingList(decls: [string, 'read' | 'read_write', string][]): string {
  return decls.map(([name, access, ty], i) => `@group(0) @binding(${i}) var<storage, ${access}> ${name}: array<${ty}>;`).join('\n');
}

// ------------------------------------------------------------------ forward

/**
 * WGSL computing, for output position (oy, ox), which of the three rows / columns of the 3×3 window lie inside the
 * image: booleans r0..r2 / c0..c2 and the window origin iy0 / ix0 (the 9 taps are unrolled: lavapipe compiles
 * straight-line taps about twice as fast as loops with `continue`).
 */
function windowBounds(s: DepthwiseShape, oy: string, ox: string): string {
  return `let iy0 = i32(${oy} * ${s.stride}u) - 1;
  let ix0 = i32(${ox} * ${s.stride}u) - 1;
  let r0 = iy0 >= 0; let r1 = iy0 + 1 < ${s.h}; let r2 = iy0 + 2 < ${s.h};
  let c0 = ix0 >= 0; let c1 = ix0 + 1 < ${s.w}; let c2 = ix0 + 2 < ${s.w};`;
}

/** The flat NHWC index of input tap (ky, kx) of the window at (iy0, ix0) of image `n`. */
function tapIndex(s: DepthwiseShape, cv: number, ky: number, kx: number): string {
  return `((n * ${s.h}u + u32(iy0 + ${ky})) * ${s.w}u + u32(ix0 + ${kx})) * ${cv}u + c`;
}

function forwardCode(s: DepthwiseShape, act: DepthwiseActivation, hasBias: boolean): string {
  const { ty, cv, zero } = layout(s.c);
  const total = s.n * s.ho * s.wo * cv;
  const decls: [string, 'read' | 'read_write', string][] = [
    ['x', 'read', ty],
    ['wt', 'read', ty],
  ];
  if (hasBias) decls.push(['bias', 'read', ty]);
  decls.push(['y', 'read_write', ty]);
  const taps: string[] = [];
  for (let ky = 0; ky < 3; ky++)
    for (let kx = 0; kx < 3; kx++) taps.push(`if (r${ky} && c${kx}) { acc += x[${tapIndex(s, cv, ky, kx)}] * wt[${(ky * 3 + kx) * cv}u + c]; }`);
  return `${bindingList(decls)}
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${total}u) { return; }
  let c = i % ${cv}u;
  var r = i / ${cv}u;
  let ox = r % ${s.wo}u;
  r = r / ${s.wo}u;
  let oy = r % ${s.ho}u;
  let n = r / ${s.ho}u;
  ${windowBounds(s, 'oy', 'ox')}
  var acc: ${ty} = ${hasBias ? 'bias[c]' : zero};
  ${taps.join('\n  ')}
  y[i] = ${epilogue(act, ty, 'acc')};
}`;
}

/** y = act(depthwise(x, w) + b). x [N,H,W,C], w [3,3,C,1], b [C] or null → y [N,Ho,Wo,C]. */
export function depthwiseForward(e: Engine, x: Tensor, w: Tensor, b: Tensor | null, stride: 1 | 2, act: DepthwiseActivation, out?: Tensor): Tensor {
  const s = depthwiseShape(x.shape, stride);
  checkFilter(w, b, s.c);
  const y = out ?? e.empty([s.n, s.ho, s.wo, s.c], 'f32', 'depthwise_fwd');
  checkOut(y, s.n * s.ho * s.wo * s.c, 'depthwise forward');
  const total = s.n * s.ho * s.wo * layout(s.c).cv;
  e.run({
    name: 'depthwise_fwd',
    key: `depthwise_fwd:${shapeKey(s)},${act},${b !== null ? 1 : 0}`,
    code: () => forwardCode(s, act, b !== null),
    bindings: b ? [x, w, b, y] : [x, w, y],
    workgroups: grid(total, WG),
  });
  return y;
}

function checkOut(t: Tensor, size: number, what: string): void {
  if (t.size !== size || t.dtype !== 'f32') throw new Error(`${what}: output tensor [${t.shape.join(', ')}] ${t.dtype} does not hold ${size} f32 values`);
}

function checkFilter(w: Tensor, b: Tensor | null, c: number): void {
  if (w.size !== 9 * c || w.shape[0] !== 3 || w.shape[1] !== 3) {
    throw new Error(`depthwise conv: filter must be [3, 3, ${c}, 1], got [${w.shape.join(', ')}]`);
  }
  if (b && b.size !== c) throw new Error(`depthwise conv: bias must have ${c} values, got [${b.shape.join(', ')}]`);
}

// ------------------------------------------------------------------ gradient of the input

function gradInputCode(s: DepthwiseShape, act: DepthwiseActivation): string {
  const { ty, cv, zero } = layout(s.c);
  const total = s.n * s.h * s.w * cv;
  const decls: [string, 'read' | 'read_write', string][] = [['gy', 'read', ty]];
  if (act !== 'linear') decls.push(['y', 'read', ty]);
  decls.push(['wt', 'read', ty], ['gx', 'read_write', ty]);
  // Output row oy reads input row oy·stride − 1 + k, so input row iy gets tap k from oy = (iy + 1 − k) / stride when
  // that is a whole number inside the output.
  const axis = (name: string, i: string, k: number, lim: number): string => {
    const t = `${i} + ${1 - k}`;
    if (s.stride === 1) return `let ${name}ok${k} = ${t} >= 0 && ${t} < ${lim}; let ${name}${k} = u32(max(${t}, 0));`;
    return `let ${name}ok${k} = ${t} >= 0 && ((${t}) & 1) == 0 && ((${t}) >> 1u) < ${lim}; let ${name}${k} = u32(max(${t}, 0)) >> 1u;`;
  };
  const bounds: string[] = [];
  for (let k = 0; k < 3; k++) bounds.push(axis('oy', 'iy', k, s.ho), axis('ox', 'ix', k, s.wo));
  const taps: string[] = [];
  for (let ky = 0; ky < 3; ky++)
    for (let kx = 0; kx < 3; kx++) {
      taps.push(`if (oyok${ky} && oxok${kx}) {
    let o = ((n * ${s.ho}u + oy${ky}) * ${s.wo}u + ox${kx}) * ${cv}u + c;
    ${maskedGrad(act, ty, zero, 'o')}
    acc += g * wt[${(ky * 3 + kx) * cv}u + c];
  }`);
    }
  return `${bindingList(decls)}
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${total}u) { return; }
  let c = i % ${cv}u;
  var r = i / ${cv}u;
  let ix = i32(r % ${s.w}u);
  r = r / ${s.w}u;
  let iy = i32(r % ${s.h}u);
  let n = r / ${s.h}u;
  ${bounds.join('\n  ')}
  var acc: ${ty} = ${zero};
  ${taps.join('\n  ')}
  gx[i] = acc;
}`;
}

/** dL/dx for y = act(depthwise(x, w) + b), given dL/dy and (for a non-linear activation) y. */
export function depthwiseGradInput(
  e: Engine,
  gy: Tensor,
  y: Tensor | null,
  w: Tensor,
  xShape: readonly number[],
  stride: 1 | 2,
  act: DepthwiseActivation,
  out?: Tensor,
): Tensor {
  const s = depthwiseShape(xShape, stride);
  checkFilter(w, null, s.c);
  checkOut(gy, s.n * s.ho * s.wo * s.c, 'depthwise grad-input (upstream gradient)');
  if (act !== 'linear' && !y) throw new Error('depthwise grad-input: the forward output is needed to mask the activation');
  const gx = out ?? e.empty(xShape, 'f32', 'depthwise_grad_input');
  checkOut(gx, s.n * s.h * s.w * s.c, 'depthwise grad-input');
  const total = s.n * s.h * s.w * layout(s.c).cv;
  e.run({
    name: 'depthwise_grad_input',
    key: `depthwise_grad_input:${shapeKey(s)},${act}`,
    code: () => gradInputCode(s, act),
    bindings: act === 'linear' ? [gy, w, gx] : [gy, y!, w, gx],
    workgroups: grid(total, WG),
  });
  return gx;
}

// ------------------------------------------------------------------ gradient of the filter and bias

/** Partial sums over slices of the N·Ho·Wo output positions: partial[slice][tap][c], tap 9 = bias. */
function filterPartialCode(s: DepthwiseShape, act: DepthwiseActivation, slices: number, chunk: number, taps: number): string {
  const { ty, cv, zero } = layout(s.c);
  const positions = s.n * s.ho * s.wo;
  const decls: [string, 'read' | 'read_write', string][] = [['gy', 'read', ty]];
  if (act !== 'linear') decls.push(['y', 'read', ty]);
  decls.push(['x', 'read', ty], ['partial', 'read_write', ty]);
  const accs = Array.from({ length: taps }, (_, t) => `var a${t}: ${ty} = ${zero};`);
  const body: string[] = [];
  for (let ky = 0; ky < 3; ky++)
    for (let kx = 0; kx < 3; kx++) body.push(`if (r${ky} && c${kx}) { a${ky * 3 + kx} += g * x[${tapIndex(s, cv, ky, kx)}]; }`);
  if (taps === 10) body.push('a9 += g;');
  const stores = Array.from({ length: taps }, (_, t) => `partial[(slice * ${taps}u + ${t}u) * ${cv}u + c] = a${t};`);
  return `${bindingList(decls)}
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${slices * cv}u) { return; }
  let c = i % ${cv}u;
  let slice = i / ${cv}u;
  ${accs.join('\n  ')}
  let p0 = slice * ${chunk}u;
  let p1 = min(p0 + ${chunk}u, ${positions}u);
  for (var p = p0; p < p1; p++) {
    let ox = p % ${s.wo}u;
    let rest = p / ${s.wo}u;
    let oy = rest % ${s.ho}u;
    let n = rest / ${s.ho}u;
    let o = p * ${cv}u + c;
    ${maskedGrad(act, ty, zero, 'o')}
    ${windowBounds(s, 'oy', 'ox')}
    ${body.join('\n    ')}
  }
  ${stores.join('\n  ')}
}`;
}

function filterReduceCode(s: DepthwiseShape, slices: number, taps: number, writeW: boolean, writeB: boolean): string {
  const { ty, cv, zero } = layout(s.c);
  const decls: [string, 'read' | 'read_write', string][] = [['partial', 'read', ty]];
  if (writeW) decls.push(['gw', 'read_write', ty]);
  if (writeB) decls.push(['gb', 'read_write', ty]);
  const stores: string[] = [];
  if (writeW) stores.push(`if (t < 9u) { gw[t * ${cv}u + c] = acc; }`);
  if (writeB) stores.push(`if (t == 9u) { gb[c] = acc; }`);
  return `${bindingList(decls)}
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${taps * cv}u) { return; }
  let c = i % ${cv}u;
  let t = i / ${cv}u;
  var acc: ${ty} = ${zero};
  for (var sl = 0u; sl < ${slices}u; sl++) { acc += partial[(sl * ${taps}u + t) * ${cv}u + c]; }
  ${stores.join('\n  ')}
}`;
}

/** How the N·Ho·Wo positions are split so that about 8192 threads share the reduction. */
function slicing(s: DepthwiseShape): { slices: number; chunk: number } {
  const positions = s.n * s.ho * s.wo;
  const cv = layout(s.c).cv;
  const wanted = Math.max(1, Math.min(Math.ceil(8192 / cv), Math.ceil(positions / 8)));
  const chunk = Math.ceil(positions / wanted);
  return { slices: Math.ceil(positions / chunk), chunk };
}

/**
 * dL/dw [3,3,C,1] and dL/db [C] (each only when asked for) for y = act(depthwise(x, w) + b).
 * Two passes: per-slice partial sums, then a fixed-order sum over slices (deterministic).
 */
export function depthwiseGradFilter(
  e: Engine,
  gy: Tensor,
  y: Tensor | null,
  x: Tensor,
  stride: 1 | 2,
  act: DepthwiseActivation,
  want: { filter: boolean; bias: boolean },
  out: { gw?: Tensor; gb?: Tensor } = {},
): { gw: Tensor | null; gb: Tensor | null } {
  if (!want.filter && !want.bias) return { gw: null, gb: null };
  const s = depthwiseShape(x.shape, stride);
  if (act !== 'linear' && !y) throw new Error('depthwise grad-filter: the forward output is needed to mask the activation');
  checkOut(gy, s.n * s.ho * s.wo * s.c, 'depthwise grad-filter (upstream gradient)');
  const { cv } = layout(s.c);
  const { slices, chunk } = slicing(s);
  const taps = want.bias ? 10 : 9;
  const partial = e.empty([slices, taps, s.c], 'f32', 'depthwise_grad_filter_partial');
  e.run({
    name: 'depthwise_grad_filter_partial',
    key: `depthwise_grad_filter_partial:${shapeKey(s)},${act},${slices},${chunk},${taps}`,
    code: () => filterPartialCode(s, act, slices, chunk, taps),
    bindings: act === 'linear' ? [gy, x, partial] : [gy, y!, x, partial],
    workgroups: grid(slices * cv, WG),
  });
  const gw = want.filter ? (out.gw ?? e.empty([3, 3, s.c, 1], 'f32', 'depthwise_grad_filter')) : null;
  const gb = want.bias ? (out.gb ?? e.empty([s.c], 'f32', 'depthwise_grad_bias')) : null;
  if (gw) checkOut(gw, 9 * s.c, 'depthwise grad-filter');
  if (gb) checkOut(gb, s.c, 'depthwise grad-bias');
  const outs = [gw, gb].filter((t): t is Tensor => t !== null);
  e.run({
    name: 'depthwise_grad_filter_reduce',
    key: `depthwise_grad_filter_reduce:${s.c},${slices},${taps},${want.filter ? 1 : 0}${want.bias ? 1 : 0}`,
    code: () => filterReduceCode(s, slices, taps, want.filter, want.bias),
    bindings: [partial, ...outs],
    workgroups: grid(taps * cv, WG),
  });
  partial.dispose();
  return { gw, gb };
}

// ================================================================== general depthwise convolution
//
// Any kernel KH×KW (filter [KH, KW, C, 1]), strides (sh, sw), explicit zero pads [top, bottom, left, right] and
// dilations (dh, dw). The 3×3 / pads 1 / stride 1 or 2 (both axes) / dilation 1 case keeps the kernels above
// (`isClassicDepthwise` says which; the op entry dispatches), so MobileNetV2 runs exactly what it ran before.

/** The window of a general depthwise convolution. */
export interface DepthwiseWindow {
  kernel: readonly [number, number];
  strides: readonly [number, number];
  /** [top, bottom, left, right] rows / columns of zeros. */
  pads: readonly [number, number, number, number];
  dilations: readonly [number, number];
}

export interface DepthwiseGeneralShape {
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
  ho: number;
  wo: number;
}

/** Whether the window is the 3×3, pads 1, dilation 1, stride 1 or 2 on both axes that the kernels above compute. */
export function isClassicDepthwise(win: DepthwiseWindow): boolean {
  const [kh, kw] = win.kernel;
  const [sh, sw] = win.strides;
  return kh === 3 && kw === 3 && sh === sw && (sh === 1 || sh === 2) && win.pads.every((p) => p === 1) && win.dilations[0] === 1 && win.dilations[1] === 1;
}

export function depthwiseGeneralShape(xShape: readonly number[], win: DepthwiseWindow): DepthwiseGeneralShape {
  if (xShape.length !== 4) throw new Error(`depthwise conv: input must be NHWC, got [${xShape.join(', ')}]`);
  const [n, h, w, c] = xShape as [number, number, number, number];
  if (n < 1 || h < 1 || w < 1 || c < 1) throw new Error(`depthwise conv: empty input [${xShape.join(', ')}]`);
  const [kh, kw] = win.kernel;
  const [sh, sw] = win.strides;
  const [dh, dw] = win.dilations;
  const [pt, pb, pl, pr] = win.pads;
  const ints = (vs: readonly number[], min: number): boolean => vs.length > 0 && vs.every((v) => Number.isInteger(v) && v >= min);
  if (win.kernel.length !== 2 || !ints(win.kernel, 1)) throw new Error(`depthwise conv: kernel must be two integers ≥ 1, got [${win.kernel.join(', ')}]`);
  if (win.strides.length !== 2 || !ints(win.strides, 1)) throw new Error(`depthwise conv: strides must be two integers ≥ 1, got [${win.strides.join(', ')}]`);
  if (win.dilations.length !== 2 || !ints(win.dilations, 1)) throw new Error(`depthwise conv: dilations must be two integers ≥ 1, got [${win.dilations.join(', ')}]`);
  if (win.pads.length !== 4 || !ints(win.pads, 0)) throw new Error(`depthwise conv: pads must be four integers ≥ 0 [top, bottom, left, right], got [${win.pads.join(', ')}]`);
  const ho = Math.floor((h + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
  const wo = Math.floor((w + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  if (ho < 1 || wo < 1) throw new Error(`depthwise conv: input [${xShape.join(', ')}] is smaller than the ${kh}×${kw} window (dilations ${dh}, ${dw}, pads [${win.pads.join(', ')}])`);
  return { n, h, w, c, kh, kw, sh, sw, dh, dw, pt, pb, pl, pr, ho, wo };
}

/** Every field the generators read (ho and wo follow). */
function generalKey(s: DepthwiseGeneralShape): string {
  return `${s.n},${s.h},${s.w},${s.c},k${s.kh}x${s.kw},s${s.sh}x${s.sw},d${s.dh}x${s.dw},p${s.pt},${s.pb},${s.pl},${s.pr}`;
}

function checkGeneralFilter(w: Tensor, b: Tensor | null, s: DepthwiseGeneralShape): void {
  if (w.size !== s.kh * s.kw * s.c || w.shape[0] !== s.kh || w.shape[1] !== s.kw) {
    throw new Error(`depthwise conv: filter must be [${s.kh}, ${s.kw}, ${s.c}, 1], got [${w.shape.join(', ')}]`);
  }
  if (b && b.size !== s.c) throw new Error(`depthwise conv: bias must have ${s.c} values, got [${b.shape.join(', ')}]`);
}

/**
 * WGSL declaring, for output position (oy, ox), the window origin iy0 / ix0 and per kernel row / column whether it
 * lies inside the image (r0.. / c0..). A row or column that is inside for every output position is the literal
 * `true` (the compiler drops the test).
 */
function generalBounds(s: DepthwiseGeneralShape, oy: string, ox: string): string {
  const lines = [`let iy0 = i32(${oy} * ${s.sh}u) - ${s.pt};`, `let ix0 = i32(${ox} * ${s.sw}u) - ${s.pl};`];
  for (let k = 0; k < s.kh; k++) {
    const lo = -s.pt + k * s.dh;
    const hi = (s.ho - 1) * s.sh - s.pt + k * s.dh;
    lines.push(`let r${k} = ${lo >= 0 && hi < s.h ? 'true' : `u32(iy0 + ${k * s.dh}) < ${s.h}u`};`);
  }
  for (let k = 0; k < s.kw; k++) {
    const lo = -s.pl + k * s.dw;
    const hi = (s.wo - 1) * s.sw - s.pl + k * s.dw;
    lines.push(`let c${k} = ${lo >= 0 && hi < s.w ? 'true' : `u32(ix0 + ${k * s.dw}) < ${s.w}u`};`);
  }
  return lines.join('\n  ');
}

function generalTap(s: DepthwiseGeneralShape, cv: number, ky: number, kx: number): string {
  return `((n * ${s.h}u + u32(iy0 + ${ky * s.dh})) * ${s.w}u + u32(ix0 + ${kx * s.dw})) * ${cv}u + c`;
}

function generalForwardCode(s: DepthwiseGeneralShape, act: DepthwiseActivation, hasBias: boolean): string {
  const { ty, cv, zero } = layout(s.c);
  const total = s.n * s.ho * s.wo * cv;
  const decls: [string, 'read' | 'read_write', string][] = [
    ['x', 'read', ty],
    ['wt', 'read', ty],
  ];
  if (hasBias) decls.push(['bias', 'read', ty]);
  decls.push(['y', 'read_write', ty]);
  const taps: string[] = [];
  for (let ky = 0; ky < s.kh; ky++)
    for (let kx = 0; kx < s.kw; kx++) taps.push(`if (r${ky} && c${kx}) { acc += x[${generalTap(s, cv, ky, kx)}] * wt[${(ky * s.kw + kx) * cv}u + c]; }`);
  return `${bindingList(decls)}
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${total}u) { return; }
  let c = i % ${cv}u;
  var r = i / ${cv}u;
  let ox = r % ${s.wo}u;
  r = r / ${s.wo}u;
  let oy = r % ${s.ho}u;
  let n = r / ${s.ho}u;
  ${generalBounds(s, 'oy', 'ox')}
  var acc: ${ty} = ${hasBias ? 'bias[c]' : zero};
  ${taps.join('\n  ')}
  y[i] = ${epilogue(act, ty, 'acc')};
}`;
}

/** y = act(depthwise(x, w) + b) for any window. x [N,H,W,C], w [KH,KW,C,1], b [C] or null → y [N,Ho,Wo,C]. */
export function depthwiseGeneralForward(
  e: Engine,
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  win: DepthwiseWindow,
  act: DepthwiseActivation,
  out?: Tensor,
): Tensor {
  const s = depthwiseGeneralShape(x.shape, win);
  checkGeneralFilter(w, b, s);
  const y = out ?? e.empty([s.n, s.ho, s.wo, s.c], 'f32', 'depthwise_general_fwd');
  checkOut(y, s.n * s.ho * s.wo * s.c, 'depthwise forward');
  const total = s.n * s.ho * s.wo * layout(s.c).cv;
  e.run({
    name: 'depthwise_general_fwd',
    key: `depthwise_general_fwd:${generalKey(s)},${act},${b !== null ? 1 : 0}`,
    code: () => generalForwardCode(s, act, b !== null),
    bindings: b ? [x, w, b, y] : [x, w, y],
    workgroups: grid(total, WG),
  });
  return y;
}

function generalGradInputCode(s: DepthwiseGeneralShape, act: DepthwiseActivation): string {
  const { ty, cv, zero } = layout(s.c);
  const total = s.n * s.h * s.w * cv;
  const decls: [string, 'read' | 'read_write', string][] = [['gy', 'read', ty]];
  if (act !== 'linear') decls.push(['y', 'read', ty]);
  decls.push(['wt', 'read', ty], ['gx', 'read_write', ty]);
  // Output row oy reads input row oy·s − pad + k·d, so input row iy gets tap k from oy = (iy + pad − k·d) / s when
  // that is a whole number inside the output.
  const axis = (name: string, i: string, k: number, pad: number, dil: number, stride: number, lim: number): string => {
    const t = `${i} + ${pad - k * dil}`;
    if (stride === 1) return `let ${name}ok${k} = u32(${t}) < ${lim}u; let ${name}${k} = u32(max(${t}, 0));`;
    return `let ${name}t${k} = ${t}; let ${name}${k} = u32(max(${name}t${k}, 0)) / ${stride}u; let ${name}ok${k} = ${name}t${k} >= 0 && u32(${name}t${k}) % ${stride}u == 0u && ${name}${k} < ${lim}u;`;
  };
  const bounds: string[] = [];
  for (let k = 0; k < s.kh; k++) bounds.push(axis('oy', 'iy', k, s.pt, s.dh, s.sh, s.ho));
  for (let k = 0; k < s.kw; k++) bounds.push(axis('ox', 'ix', k, s.pl, s.dw, s.sw, s.wo));
  const taps: string[] = [];
  for (let ky = 0; ky < s.kh; ky++)
    for (let kx = 0; kx < s.kw; kx++) {
      taps.push(`if (oyok${ky} && oxok${kx}) {
    let o = ((n * ${s.ho}u + oy${ky}) * ${s.wo}u + ox${kx}) * ${cv}u + c;
    ${maskedGrad(act, ty, zero, 'o')}
    acc += g * wt[${(ky * s.kw + kx) * cv}u + c];
  }`);
    }
  return `${bindingList(decls)}
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${total}u) { return; }
  let c = i % ${cv}u;
  var r = i / ${cv}u;
  let ix = i32(r % ${s.w}u);
  r = r / ${s.w}u;
  let iy = i32(r % ${s.h}u);
  let n = r / ${s.h}u;
  ${bounds.join('\n  ')}
  var acc: ${ty} = ${zero};
  ${taps.join('\n  ')}
  gx[i] = acc;
}`;
}

/** dL/dx for y = act(depthwise(x, w) + b) with any window, given dL/dy and (for a non-linear activation) y. */
export function depthwiseGeneralGradInput(
  e: Engine,
  gy: Tensor,
  y: Tensor | null,
  w: Tensor,
  xShape: readonly number[],
  win: DepthwiseWindow,
  act: DepthwiseActivation,
  out?: Tensor,
): Tensor {
  const s = depthwiseGeneralShape(xShape, win);
  checkGeneralFilter(w, null, s);
  checkOut(gy, s.n * s.ho * s.wo * s.c, 'depthwise grad-input (upstream gradient)');
  if (act !== 'linear' && !y) throw new Error('depthwise grad-input: the forward output is needed to mask the activation');
  const gx = out ?? e.empty(xShape, 'f32', 'depthwise_general_grad_input');
  checkOut(gx, s.n * s.h * s.w * s.c, 'depthwise grad-input');
  const total = s.n * s.h * s.w * layout(s.c).cv;
  e.run({
    name: 'depthwise_general_grad_input',
    key: `depthwise_general_grad_input:${generalKey(s)},${act}`,
    code: () => generalGradInputCode(s, act),
    bindings: act === 'linear' ? [gy, w, gx] : [gy, y!, w, gx],
    workgroups: grid(total, WG),
  });
  return gx;
}

/** Partial sums over slices of the N·Ho·Wo output positions: partial[slice][tap][c], tap KH·KW = bias. */
function generalFilterPartialCode(s: DepthwiseGeneralShape, act: DepthwiseActivation, slices: number, chunk: number, withBias: boolean): string {
  const { ty, cv, zero } = layout(s.c);
  const positions = s.n * s.ho * s.wo;
  const k = s.kh * s.kw;
  const taps = k + (withBias ? 1 : 0);
  const decls: [string, 'read' | 'read_write', string][] = [['gy', 'read', ty]];
  if (act !== 'linear') decls.push(['y', 'read', ty]);
  decls.push(['x', 'read', ty], ['partial', 'read_write', ty]);
  const accs = Array.from({ length: taps }, (_, t) => `var a${t}: ${ty} = ${zero};`);
  const body: string[] = [];
  for (let ky = 0; ky < s.kh; ky++)
    for (let kx = 0; kx < s.kw; kx++) body.push(`if (r${ky} && c${kx}) { a${ky * s.kw + kx} += g * x[${generalTap(s, cv, ky, kx)}]; }`);
  if (withBias) body.push(`a${k} += g;`);
  const stores = Array.from({ length: taps }, (_, t) => `partial[(slice * ${taps}u + ${t}u) * ${cv}u + c] = a${t};`);
  return `${bindingList(decls)}
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${slices * cv}u) { return; }
  let c = i % ${cv}u;
  let slice = i / ${cv}u;
  ${accs.join('\n  ')}
  let p0 = slice * ${chunk}u;
  let p1 = min(p0 + ${chunk}u, ${positions}u);
  for (var p = p0; p < p1; p++) {
    let ox = p % ${s.wo}u;
    let rest = p / ${s.wo}u;
    let oy = rest % ${s.ho}u;
    let n = rest / ${s.ho}u;
    let o = p * ${cv}u + c;
    ${maskedGrad(act, ty, zero, 'o')}
    ${generalBounds(s, 'oy', 'ox')}
    ${body.join('\n    ')}
  }
  ${stores.join('\n  ')}
}`;
}

function generalFilterReduceCode(c: number, k: number, slices: number, writeW: boolean, writeB: boolean): string {
  const { ty, cv, zero } = layout(c);
  const taps = k + (writeB ? 1 : 0);
  const decls: [string, 'read' | 'read_write', string][] = [['partial', 'read', ty]];
  if (writeW) decls.push(['gw', 'read_write', ty]);
  if (writeB) decls.push(['gb', 'read_write', ty]);
  const stores: string[] = [];
  if (writeW) stores.push(`if (t < ${k}u) { gw[t * ${cv}u + c] = acc; }`);
  if (writeB) stores.push(`if (t == ${k}u) { gb[c] = acc; }`);
  return `${bindingList(decls)}
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${taps * cv}u) { return; }
  let c = i % ${cv}u;
  let t = i / ${cv}u;
  var acc: ${ty} = ${zero};
  for (var sl = 0u; sl < ${slices}u; sl++) { acc += partial[(sl * ${taps}u + t) * ${cv}u + c]; }
  ${stores.join('\n  ')}
}`;
}

/**
 * dL/dw [KH,KW,C,1] and dL/db [C] (each only when asked for) for y = act(depthwise(x, w) + b) with any window.
 * Two passes: per-slice partial sums, then a fixed-order sum over slices (deterministic).
 */
export function depthwiseGeneralGradFilter(
  e: Engine,
  gy: Tensor,
  y: Tensor | null,
  x: Tensor,
  win: DepthwiseWindow,
  act: DepthwiseActivation,
  want: { filter: boolean; bias: boolean },
  out: { gw?: Tensor; gb?: Tensor } = {},
): { gw: Tensor | null; gb: Tensor | null } {
  if (!want.filter && !want.bias) return { gw: null, gb: null };
  const s = depthwiseGeneralShape(x.shape, win);
  if (act !== 'linear' && !y) throw new Error('depthwise grad-filter: the forward output is needed to mask the activation');
  checkOut(gy, s.n * s.ho * s.wo * s.c, 'depthwise grad-filter (upstream gradient)');
  const { cv } = layout(s.c);
  const positions = s.n * s.ho * s.wo;
  const wanted = Math.max(1, Math.min(Math.ceil(8192 / cv), Math.ceil(positions / 8)));
  const chunk = Math.ceil(positions / wanted);
  const slices = Math.ceil(positions / chunk);
  const k = s.kh * s.kw;
  const taps = k + (want.bias ? 1 : 0);
  const partial = e.empty([slices, taps, s.c], 'f32', 'depthwise_general_grad_filter_partial');
  e.run({
    name: 'depthwise_general_grad_filter_partial',
    key: `depthwise_general_grad_filter_partial:${generalKey(s)},${act},${slices},${chunk},${want.bias ? 1 : 0}`,
    code: () => generalFilterPartialCode(s, act, slices, chunk, want.bias),
    bindings: act === 'linear' ? [gy, x, partial] : [gy, y!, x, partial],
    workgroups: grid(slices * cv, WG),
  });
  const gw = want.filter ? (out.gw ?? e.empty([s.kh, s.kw, s.c, 1], 'f32', 'depthwise_general_grad_filter')) : null;
  const gb = want.bias ? (out.gb ?? e.empty([s.c], 'f32', 'depthwise_general_grad_bias')) : null;
  if (gw) checkOut(gw, k * s.c, 'depthwise grad-filter');
  if (gb) checkOut(gb, s.c, 'depthwise grad-bias');
  const outs = [gw, gb].filter((t): t is Tensor => t !== null);
  e.run({
    name: 'depthwise_general_grad_filter_reduce',
    key: `depthwise_general_grad_filter_reduce:${s.c},${k},${slices},${want.filter ? 1 : 0}${want.bias ? 1 : 0}`,
    code: () => generalFilterReduceCode(s.c, k, slices, want.filter, want.bias),
    bindings: [partial, ...outs],
    workgroups: grid(taps * cv, WG),
  });
  partial.dispose();
  return { gw, gb };
}
