/**
 * Depthwise convolution (one filter per channel), NHWC, any kernel KH×KW (filter [KH, KW, C, 1]), strides, explicit
 * zero pads [top, bottom, left, right] and dilations, optional bias and a fused ReLU / ReLU6 epilogue: forward,
 * gradient of the input, gradient of the filter and bias. MobileNetV2's 3×3 / pads 1 / stride 1 or 2 layer has its
 * own entry points (`depthwiseForward` …, taking just the stride) over the same kernels.
 * When C is a multiple of 4 every thread handles four channels as a vec4. The taps are unrolled (lavapipe compiles
 * straight-line taps about twice as fast as loops with `continue`). The forward computes 4 adjacent output columns
 * per invocation, loading the input columns their windows share and the filter taps once (2–3× faster than one
 * output per invocation on SwiftShader, 1.1–1.8× on lavapipe: dev/tab-dw-times.mjs, dev/depthwise.ts). The gradient kernels take the forward output
 * `y` to mask the activation's slope (y in (0, 6) for ReLU6).
 */
import type { Engine } from '../engine/engine.js';
import type { Tensor } from '../engine/tensor.js';
import { stateSlot } from '../engine/kernel-state.js';
import { entry1d, flatIndex, grid, range } from './common.js';
import { inverseOutput, overWindowInputs, overWindowOutputs, windowBounds, windowGeometry, windowKey, windowTap, windowTaps, type Window2d, type WindowGeometry } from './window.js';

export type DepthwiseActivation = 'linear' | 'relu' | 'relu6';

/** The window of a depthwise convolution (pads are zeros). */
export type DepthwiseWindow = Window2d;

/** The geometry of a depthwise convolution: input [n, h, w, c], window, output oh × ow. */
export type DepthwiseGeneralShape = WindowGeometry;

/** MobileNetV2's 3×3 depthwise layer: stride 1 or 2, pads 1, output ho × wo. */
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

/** The 3×3, pads 1, dilation 1 window of stride 1 or 2 on both axes. */
function classicWindow(stride: 1 | 2): DepthwiseWindow {
  if (stride !== 1 && stride !== 2) throw new Error(`depthwise conv: stride must be 1 or 2, got ${String(stride)}`);
  return { kernel: [3, 3], strides: [stride, stride], pads: [1, 1, 1, 1], dilations: [1, 1] };
}

/** Whether the window is the 3×3, pads 1, dilation 1, stride 1 or 2 on both axes that `depthwiseForward` … take. */
export function isClassicDepthwise(win: DepthwiseWindow): boolean {
  const [kh, kw] = win.kernel;
  const [sh, sw] = win.strides;
  return kh === 3 && kw === 3 && sh === sw && (sh === 1 || sh === 2) && win.pads.every((p) => p === 1) && win.dilations[0] === 1 && win.dilations[1] === 1;
}

export function depthwiseGeneralShape(xShape: readonly number[], win: DepthwiseWindow): DepthwiseGeneralShape {
  if (xShape.length === 4 && xShape.some((d) => d < 1)) throw new Error(`depthwise conv: empty input [${xShape.join(', ')}]`);
  return windowGeometry(xShape, win, false, 'depthwise conv');
}

export function depthwiseShape(xShape: readonly number[], stride: 1 | 2): DepthwiseShape {
  const g = depthwiseGeneralShape(xShape, classicWindow(stride));
  return { n: g.n, h: g.h, w: g.w, c: g.c, stride, ho: g.oh, wo: g.ow };
}

interface Layout {
  v: 1 | 4;
  cv: number;
  ty: string;
  zero: string;
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

/** Storage bindings in order; the gradient kernels read `y` only for a non-linear activation. */
function bindingList(act: DepthwiseActivation | null, ty: string, decls: [string, 'read' | 'read_write'][]): string {
  const all = act === null || act === 'linear' ? decls : [decls[0]!, ['y', 'read'] as [string, 'read'], ...decls.slice(1)];
  return all.map(([name, access], i) => `@group(0) @binding(${i}) var<storage, ${access}> ${name}: array<${ty}>;`).join('\n');
}

function checkOut(t: Tensor, size: number, what: string): void {
  if (t.size !== size || t.dtype !== 'f32') throw new Error(`${what}: output tensor [${t.shape.join(', ')}] ${t.dtype} does not hold ${size} f32 values`);
}

function checkFilter(w: Tensor, b: Tensor | null, s: DepthwiseGeneralShape): void {
  if (w.size !== s.kh * s.kw * s.c || w.shape[0] !== s.kh || w.shape[1] !== s.kw) {
    throw new Error(`depthwise conv: filter must be [${s.kh}, ${s.kw}, ${s.c}, 1], got [${w.shape.join(', ')}]`);
  }
  if (b && b.size !== s.c) throw new Error(`depthwise conv: bias must have ${s.c} values, got [${b.shape.join(', ')}]`);
}

function checkMask(act: DepthwiseActivation, y: Tensor | null, what: string): void {
  if (act !== 'linear' && !y) throw new Error(`${what}: the forward output is needed to mask the activation`);
}

// ------------------------------------------------------------------ forward

function forwardCode(s: DepthwiseGeneralShape, act: DepthwiseActivation, hasBias: boolean): string {
  const { ty, cv, zero } = layout(s.c);
  const decls: [string, 'read' | 'read_write'][] = [['x', 'read'], ['wt', 'read']];
  if (hasBias) decls.push(['bias', 'read']);
  decls.push(['y', 'read_write']);
  const taps = windowTaps(s).map(({ ky, kx, k }) => `if (r${ky} && c${kx}) { acc += x[${windowTap(s, cv, ky, kx)}] * wt[${k * cv}u + c]; }`);
  return `${bindingList(null, ty, decls)}
${entry1d(WG)} {
  ${overWindowOutputs(s, cv, WG, 'oy', 'ox')}
  var acc: ${ty} = ${hasBias ? 'bias[c]' : zero};
  ${taps.join('\n  ')}
  y[i] = ${epilogue(act, ty, 'acc')};
}`;
}

/**
 * The forward with `T` adjacent output columns per invocation (same row, same 4 channels): the input columns the T
 * windows share are loaded once (stride 1, 3×3: 3·(T + 2) loads instead of 9·T) and the filter taps once instead of
 * T times. Columns outside the input read as zero (a select on a clamped index); rows outside are skipped.
 */
function forwardStripCode(s: DepthwiseGeneralShape, act: DepthwiseActivation, hasBias: boolean, T: number): string {
  const { ty, cv, zero } = layout(s.c);
  const decls: [string, 'read' | 'read_write'][] = [['x', 'read'], ['wt', 'read']];
  if (hasBias) decls.push(['bias', 'read']);
  decls.push(['y', 'read_write']);
  const owb = Math.ceil(s.ow / T);
  const last = s.n * s.h * s.w * cv - 1;
  // Distinct column offsets (from ix0) the T windows read, and whether each is inside the input for every strip.
  const offs = [...new Set(range(T).flatMap((t) => range(s.kw).map((kx) => t * s.sw + kx * s.dw)))].sort((a, b) => a - b);
  const colOk = (off: number): string | null => {
    const lo = off - s.pl;
    const hi = (owb - 1) * T * s.sw - s.pl + off;
    return lo >= 0 && hi < s.w ? null : `u32(ix0 + ${off}) < ${s.w}u`;
  };
  const lines: string[] = [];
  range(s.kh * s.kw).forEach((k) => lines.push(`let w${k} = wt[${k * cv}u + c];`));
  range(T).forEach((t) => lines.push(`var acc${t}: ${ty} = ${hasBias ? 'bias[c]' : zero};`));
  for (let ky = 0; ky < s.kh; ky++) {
    const lo = ky * s.dh - s.pt;
    const hi = (s.oh - 1) * s.sh - s.pt + ky * s.dh;
    const body: string[] = [`let rb = base + u32(iy0 + ${ky * s.dh}) * ${s.w * cv}u;`];
    for (const off of offs) {
      const ok = colOk(off);
      const ld = `x[min(rb + u32(ix0 + ${off}) * ${cv}u, ${last}u)]`;
      body.push(`let v${off} = ${ok ? `select(${zero}, ${ld}, ${ok})` : ld};`);
    }
    for (let t = 0; t < T; t++) for (let kx = 0; kx < s.kw; kx++) body.push(`acc${t} += v${t * s.sw + kx * s.dw} * w${ky * s.kw + kx};`);
    const inner = body.join('\n    ');
    lines.push(lo >= 0 && hi < s.h ? `{\n    ${inner}\n  }` : `if (u32(iy0 + ${ky * s.dh}) < ${s.h}u) {\n    ${inner}\n  }`);
  }
  range(T).forEach((t) =>
    lines.push(`if (ox0 + ${t}u < ${s.ow}u) { y[((n * ${s.oh}u + oy) * ${s.ow}u + ox0 + ${t}u) * ${cv}u + c] = ${epilogue(act, ty, `acc${t}`)}; }`),
  );
  return `${bindingList(null, ty, decls)}
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${s.n * s.oh * owb * cv}u) { return; }
  let c = i % ${cv}u;
  let ox0 = ((i / ${cv}u) % ${owb}u) * ${T}u;
  let oy = (i / ${cv * owb}u) % ${s.oh}u;
  let n = i / ${cv * owb * s.oh}u;
  let base = n * ${s.h * s.w * cv}u + c;
  let iy0 = i32(oy * ${s.sh}u) - ${s.pt};
  let ix0 = i32(ox0 * ${s.sw}u) - ${s.pl};
  ${lines.join('\n  ')}
}`;
}

/** Output columns per invocation of the forward (1: the one-output kernel), when forced by `setDepthwiseStrip`. */
const STRIP = stateSlot<{ width: number | null }>('depthwise-strip', () => ({ width: null }));

/** Forces the forward's output columns per invocation (tests, benchmarks; null: the default). */
export function setDepthwiseStrip(e: Engine, width: number | null): void {
  e.state(STRIP).width = width;
}

function stripWidth(e: Engine, s: DepthwiseGeneralShape): number {
  const w = e.state(STRIP).width ?? DEFAULT_STRIP;
  return Math.max(1, Math.min(w, s.ow));
}

const DEFAULT_STRIP = 4;

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
  checkFilter(w, b, s);
  const y = out ?? e.empty([s.n, s.oh, s.ow, s.c], 'f32', 'depthwise_fwd');
  checkOut(y, s.n * s.oh * s.ow * s.c, 'depthwise forward');
  const T = stripWidth(e, s);
  e.run({
    name: 'depthwise_fwd',
    key: `depthwise_fwd:${windowKey(s)},${act},${b !== null ? 1 : 0}${T > 1 ? `,t${T}` : ''}`,
    code: () => (T > 1 ? forwardStripCode(s, act, b !== null, T) : forwardCode(s, act, b !== null)),
    bindings: b ? [x, w, b, y] : [x, w, y],
    workgroups: grid(s.n * s.oh * Math.ceil(s.ow / T) * layout(s.c).cv, WG),
  });
  return y;
}

/** y = act(depthwise(x, w) + b), 3×3, pads 1. x [N,H,W,C], w [3,3,C,1], b [C] or null → y [N,Ho,Wo,C]. */
export function depthwiseForward(e: Engine, x: Tensor, w: Tensor, b: Tensor | null, stride: 1 | 2, act: DepthwiseActivation, out?: Tensor): Tensor {
  return depthwiseGeneralForward(e, x, w, b, classicWindow(stride), act, out);
}

// ------------------------------------------------------------------ gradient of the input

function gradInputCode(s: DepthwiseGeneralShape, act: DepthwiseActivation): string {
  const { ty, cv, zero } = layout(s.c);
  const taps = windowTaps(s).map(
    ({ ky, kx, k }) => `if (oyok${ky} && oxok${kx}) {
    let o = ${inverseOutput(s, cv, ky, kx)};
    ${maskedGrad(act, ty, zero, 'o')}
    acc += g * wt[${k * cv}u + c];
  }`,
  );
  return `${bindingList(act, ty, [['gy', 'read'], ['wt', 'read'], ['gx', 'read_write']])}
${entry1d(WG)} {
  ${overWindowInputs(s, cv, WG)}
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
  checkFilter(w, null, s);
  checkOut(gy, s.n * s.oh * s.ow * s.c, 'depthwise grad-input (upstream gradient)');
  checkMask(act, y, 'depthwise grad-input');
  const gx = out ?? e.empty(xShape, 'f32', 'depthwise_grad_input');
  checkOut(gx, s.n * s.h * s.w * s.c, 'depthwise grad-input');
  e.run({
    name: 'depthwise_grad_input',
    key: `depthwise_grad_input:${windowKey(s)},${act}`,
    code: () => gradInputCode(s, act),
    bindings: act === 'linear' ? [gy, w, gx] : [gy, y!, w, gx],
    workgroups: grid(s.n * s.h * s.w * layout(s.c).cv, WG),
  });
  return gx;
}

/** dL/dx for the 3×3, pads 1 layer of stride 1 or 2. */
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
  return depthwiseGeneralGradInput(e, gy, y, w, xShape, classicWindow(stride), act, out);
}

// ------------------------------------------------------------------ gradient of the filter and bias

/** Partial sums over slices of the N·Ho·Wo output positions: partial[slice][tap][c], tap KH·KW = bias. */
function filterPartialCode(s: DepthwiseGeneralShape, act: DepthwiseActivation, slices: number, chunk: number, withBias: boolean): string {
  const { ty, cv, zero } = layout(s.c);
  const k = s.kh * s.kw;
  const taps = k + (withBias ? 1 : 0);
  const accs = Array.from({ length: taps }, (_, t) => `var a${t}: ${ty} = ${zero};`);
  const body = windowTaps(s).map(({ ky, kx, k: t }) => `if (r${ky} && c${kx}) { a${t} += g * x[${windowTap(s, cv, ky, kx)}]; }`);
  if (withBias) body.push(`a${k} += g;`);
  const stores = Array.from({ length: taps }, (_, t) => `partial[(slice * ${taps}u + ${t}u) * ${cv}u + c] = a${t};`);
  return `${bindingList(act, ty, [['gy', 'read'], ['x', 'read'], ['partial', 'read_write']])}
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${slices * cv}u) { return; }
  let c = i % ${cv}u;
  let slice = i / ${cv}u;
  ${accs.join('\n  ')}
  let p0 = slice * ${chunk}u;
  let p1 = min(p0 + ${chunk}u, ${s.n * s.oh * s.ow}u);
  for (var p = p0; p < p1; p++) {
    let ox = p % ${s.ow}u;
    let rest = p / ${s.ow}u;
    let oy = rest % ${s.oh}u;
    let n = rest / ${s.oh}u;
    let o = p * ${cv}u + c;
    ${maskedGrad(act, ty, zero, 'o')}
    let base = n * ${s.h * s.w * cv}u + c;
    ${windowBounds(s, 'oy', 'ox')}
    ${body.join('\n    ')}
  }
  ${stores.join('\n  ')}
}`;
}

/** Sums partial[slice][t][c] over the slices in a fixed order into gw (taps t < k) and gb (tap k). */
function filterReduceCode(c: number, k: number, slices: number, writeW: boolean, writeB: boolean): string {
  const { ty, cv, zero } = layout(c);
  const taps = k + (writeB ? 1 : 0);
  const decls: [string, 'read' | 'read_write'][] = [['partial', 'read']];
  if (writeW) decls.push(['gw', 'read_write']);
  if (writeB) decls.push(['gb', 'read_write']);
  const stores: string[] = [];
  if (writeW) stores.push(`if (t < ${k}u) { gw[t * ${cv}u + c] = acc; }`);
  if (writeB) stores.push(`if (t == ${k}u) { gb[c] = acc; }`);
  return `${bindingList(null, ty, decls)}
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
function slicing(positions: number, cv: number): { slices: number; chunk: number } {
  const wanted = Math.max(1, Math.min(Math.ceil(8192 / cv), Math.ceil(positions / 8)));
  const chunk = Math.ceil(positions / wanted);
  return { slices: Math.ceil(positions / chunk), chunk };
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
  checkMask(act, y, 'depthwise grad-filter');
  checkOut(gy, s.n * s.oh * s.ow * s.c, 'depthwise grad-filter (upstream gradient)');
  const { cv } = layout(s.c);
  const { slices, chunk } = slicing(s.n * s.oh * s.ow, cv);
  const k = s.kh * s.kw;
  const taps = k + (want.bias ? 1 : 0);
  const partial = e.empty([slices, taps, s.c], 'f32', 'depthwise_grad_filter_partial');
  e.run({
    name: 'depthwise_grad_filter_partial',
    key: `depthwise_grad_filter_partial:${windowKey(s)},${act},${slices},${chunk},${want.bias ? 1 : 0}`,
    code: () => filterPartialCode(s, act, slices, chunk, want.bias),
    bindings: act === 'linear' ? [gy, x, partial] : [gy, y!, x, partial],
    workgroups: grid(slices * cv, WG),
  });
  const gw = want.filter ? (out.gw ?? e.empty([s.kh, s.kw, s.c, 1], 'f32', 'depthwise_grad_filter')) : null;
  const gb = want.bias ? (out.gb ?? e.empty([s.c], 'f32', 'depthwise_grad_bias')) : null;
  if (gw) checkOut(gw, k * s.c, 'depthwise grad-filter');
  if (gb) checkOut(gb, s.c, 'depthwise grad-bias');
  const outs = [gw, gb].filter((t): t is Tensor => t !== null);
  e.run({
    name: 'depthwise_grad_filter_reduce',
    key: `depthwise_grad_filter_reduce:${s.c},${k},${slices},${want.filter ? 1 : 0}${want.bias ? 1 : 0}`,
    code: () => filterReduceCode(s.c, k, slices, want.filter, want.bias),
    bindings: [partial, ...outs],
    workgroups: grid(taps * cv, WG),
  });
  partial.dispose();
  return { gw, gb };
}

/** dL/dw [3,3,C,1] and dL/db [C] for the 3×3, pads 1 layer of stride 1 or 2. */
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
  return depthwiseGeneralGradFilter(e, gy, y, x, classicWindow(stride), act, want, out);
}
