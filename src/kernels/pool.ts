import type { Engine, Tensor } from '../engine/index.js';
import { entry1d, f32, flatIndex, grid } from './common.js';
import { sumAxis1 } from './reduce.js';

/** Pooling on NHWC tensors: max pooling without padding (floor or ceil rounding), ONNX MaxPool / AveragePool (below) and global average pooling. */

const WG = 64;

export interface PoolOptions {
  size: number;
  stride: number;
  /** Output size ceil((H − size) / stride) + 1 instead of floor; the last windows are clipped at the border. */
  ceilMode?: boolean;
}

export interface PoolGeometry {
  n: number;
  h: number;
  w: number;
  c: number;
  oh: number;
  ow: number;
  size: number;
  stride: number;
}

export function poolOutputSize(inSize: number, size: number, stride: number, ceilMode = false): number {
  if (inSize < size) throw new Error(`pool: input size ${inSize} is smaller than the window ${size}`);
  const span = inSize - size;
  return (ceilMode ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
}

export function poolGeometry(shape: readonly number[], opts: PoolOptions): PoolGeometry {
  if (shape.length !== 4) throw new Error(`maxPool2d: expects an NHWC tensor, got shape [${shape.join(', ')}]`);
  const [n, h, w, c] = shape as [number, number, number, number];
  const { size, stride } = opts;
  if (!Number.isInteger(size) || size < 1 || !Number.isInteger(stride) || stride < 1) throw new Error(`maxPool2d: invalid size ${size} / stride ${stride}`);
  return { n, h, w, c, oh: poolOutputSize(h, size, stride, opts.ceilMode), ow: poolOutputSize(w, size, stride, opts.ceilMode), size, stride };
}

/** The pipeline-cache key part of a pooling geometry (every field the generators read). */
function poolKey(g: PoolGeometry): string {
  return `${g.n},${g.h},${g.w},${g.c},${g.oh},${g.ow},${g.size},${g.stride}`;
}

/**
 * One invocation per output element — per 4 channels (vec4) when C is a multiple of 4 — with the window unrolled
 * and `select` instead of branches. Ties keep the first maximum in window order (row-major), as the reference
 * does; with `withArgmax` the window-local index (kh·size + kw) of that maximum is stored for backward.
 */
function maxPoolForwardCode(g: PoolGeometry, withArgmax: boolean): string {
  const vec = g.c % 4 === 0;
  const T = vec ? 'vec4f' : 'f32';
  const C = vec ? g.c / 4 : g.c;
  const total = g.n * g.oh * g.ow * C;
  // Only ceil-mode windows can reach past the input: those elements need a guard.
  const clipped = (g.oh - 1) * g.stride + g.size > g.h || (g.ow - 1) * g.stride + g.size > g.w;
  const lines: string[] = [];
  for (let kh = 0; kh < g.size; kh++) {
    for (let kw = 0; kw < g.size; kw++) {
      const k = kh * g.size + kw;
      const at = `base + ((h0 + ${kh}u) * ${g.w}u + w0 + ${kw}u) * ${C}u`;
      if (k === 0) {
        lines.push(`var best = x[${at}];`, withArgmax ? `var bestK = ${vec ? 'vec4u' : 'u32'}(0u);` : '');
        continue;
      }
      const ok = clipped ? `h0 + ${kh}u < ${g.h}u && w0 + ${kw}u < ${g.w}u` : null;
      lines.push(`let v${k} = x[${ok ? `select(base, ${at}, ${ok})` : at}];`);
      const gt = `v${k} > best`;
      const take = ok ? (vec ? `(${gt}) & vec4<bool>(${ok})` : `(${gt}) && (${ok})`) : gt;
      lines.push(`let t${k} = ${take};`, `best = select(best, v${k}, t${k});`);
      if (withArgmax) lines.push(`bestK = select(bestK, ${vec ? `vec4u(${k}u)` : `${k}u`}, t${k});`);
    }
  }
  return `@group(0) @binding(0) var<storage, read> x: array<${T}>;
@group(0) @binding(1) var<storage, read_write> y: array<${T}>;
${withArgmax ? `@group(0) @binding(2) var<storage, read_write> argmax: array<${vec ? 'vec4u' : 'u32'}>;` : ''}
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${total}u) { return; }
  let c = i % ${C}u;
  let ow = (i / ${C}u) % ${g.ow}u;
  let oh = (i / ${C * g.ow}u) % ${g.oh}u;
  let n = i / ${C * g.ow * g.oh}u;
  let h0 = oh * ${g.stride}u;
  let w0 = ow * ${g.stride}u;
  let base = n * ${g.h * g.w * C}u + c;
  ${lines.filter(Boolean).join('\n  ')}
  y[i] = best;
  ${withArgmax ? 'argmax[i] = bestK;' : ''}
}`;
}

/**
 * One invocation per input element: sums the output gradients of the windows (at most ⌈size/stride⌉² of them)
 * whose stored maximum is this element. Gathering instead of scattering needs no atomics and is deterministic.
 */
function maxPoolBackwardCode(g: PoolGeometry): string {
  const total = g.n * g.h * g.w * g.c;
  const { size: k, stride: s } = g;
  return `@group(0) @binding(0) var<storage, read> gy: array<f32>;
@group(0) @binding(1) var<storage, read> argmax: array<u32>;
@group(0) @binding(2) var<storage, read_write> gx: array<f32>;
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${total}u) { return; }
  let c = i % ${g.c}u;
  let w = i32((i / ${g.c}u) % ${g.w}u);
  let h = i32((i / ${g.c * g.w}u) % ${g.h}u);
  let n = i / ${g.c * g.w * g.h}u;
  // Windows oh with oh·s ≤ h < oh·s + k.
  let oh0 = max(h + (${s - k}), 0) / ${s};
  let ow0 = max(w + (${s - k}), 0) / ${s};
  let oh1 = min(h / ${s}, ${g.oh - 1});
  let ow1 = min(w / ${s}, ${g.ow - 1});
  var acc = 0.0;
  for (var oh = oh0; oh <= oh1; oh = oh + 1) {
    for (var ow = ow0; ow <= ow1; ow = ow + 1) {
      let o = ((n * ${g.oh}u + u32(oh)) * ${g.ow}u + u32(ow)) * ${g.c}u + c;
      if (argmax[o] == u32((h - oh * ${s}) * ${k} + (w - ow * ${s}))) {
        acc = acc + gy[o];
      }
    }
  }
  gx[i] = acc;
}`;
}

export function maxPoolForward(e: Engine, x: Tensor, opts: PoolOptions, out?: Tensor): Tensor {
  const g = poolGeometry(x.shape, opts);
  const y = out ?? e.empty([g.n, g.oh, g.ow, g.c], 'f32', 'maxpool');
  e.run({ name: 'maxpool_fwd', key: `maxpool_fwd:${poolKey(g)},0`, code: () => maxPoolForwardCode(g, false), bindings: [x, y], workgroups: grid(y.size / (g.c % 4 === 0 ? 4 : 1), WG) });
  return y;
}

/** Forward that also records, per output, which element of its window was the maximum (for backward). */
export function maxPoolForwardArgmax(e: Engine, x: Tensor, opts: PoolOptions, out?: Tensor): { y: Tensor; argmax: Tensor } {
  const g = poolGeometry(x.shape, opts);
  const y = out ?? e.empty([g.n, g.oh, g.ow, g.c], 'f32', 'maxpool');
  const argmax = e.empty(y.shape, 'u32', 'maxpool_argmax');
  e.run({ name: 'maxpool_fwd_argmax', key: `maxpool_fwd:${poolKey(g)},1`, code: () => maxPoolForwardCode(g, true), bindings: [x, y, argmax], workgroups: grid(y.size / (g.c % 4 === 0 ? 4 : 1), WG) });
  return { y, argmax };
}

/** The gradient w.r.t. the input of shape `inputShape`, from the output gradient and the stored argmax. */
export function maxPoolBackward(e: Engine, gy: Tensor, argmax: Tensor, inputShape: readonly number[], opts: PoolOptions, out?: Tensor): Tensor {
  const g = poolGeometry(inputShape, opts);
  if (gy.size !== g.n * g.oh * g.ow * g.c || argmax.size !== gy.size) throw new Error('maxPoolBackward: gradient or argmax does not match the pooled shape');
  const gx = out ?? e.empty(inputShape, 'f32', 'maxpool_grad');
  e.run({ name: 'maxpool_bwd', key: `maxpool_bwd:${poolKey(g)}`, code: () => maxPoolBackwardCode(g), bindings: [gy, argmax, gx], workgroups: grid(gx.size, WG) });
  return gx;
}

/** [N, H, W, C] → [N, C], the mean over H and W. */
export function globalAvgPoolForward(e: Engine, x: Tensor, out?: Tensor): Tensor {
  if (x.rank !== 4) throw new Error(`globalAvgPool: expects an NHWC tensor, got shape [${x.shape.join(', ')}]`);
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const y = out ?? e.empty([n, c], 'f32', 'gap');
  return sumAxis1(e, x, [n, h * w, c], 1 / (h * w), y);
}

function gapBackwardCode(n: number, hw: number, c: number): string {
  return `@group(0) @binding(0) var<storage, read> gy: array<f32>;
@group(0) @binding(1) var<storage, read_write> gx: array<f32>;
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${n * hw * c}u) { return; }
  gx[i] = gy[(i / ${hw * c}u) * ${c}u + i % ${c}u] * ${f32(1 / hw)};
}`;
}

/** Spreads gy [N, C] evenly over the H·W positions of each channel. */
export function globalAvgPoolBackward(e: Engine, gy: Tensor, inputShape: readonly number[], out?: Tensor): Tensor {
  const [n, h, w, c] = inputShape as [number, number, number, number];
  if (gy.size !== n * c) throw new Error('globalAvgPoolBackward: gradient does not match [N, C]');
  const gx = out ?? e.empty(inputShape, 'f32', 'gap_grad');
  e.run({ name: 'gap_bwd', key: `gap_bwd:${n},${h * w},${c}`, code: () => gapBackwardCode(n, h * w, c), bindings: [gy, gx], workgroups: grid(gx.size, WG) });
  return gx;
}

// ================================================================== ONNX pooling: rectangular windows, pads, dilations
//
// MaxPool and AveragePool as ONNX (and PyTorch) define them: kernel [kh, kw], strides [sh, sw], pads
// [top, bottom, left, right], dilations [dh, dw], ceil_mode (the output rounds up, but a last window that would start
// in the bottom / right padding or beyond is dropped), and for averages count_include_pad (padded cells count in the
// divisor; cells a ceil-mode window reaches beyond the padded extent never do). Padded cells never win a max (−∞).
// Max pooling with no pads, a square kernel and stride, dilation 1 and no dropped window keeps the kernels above
// (`isClassicMaxPool`; the op entry dispatches), so existing networks run exactly what they ran before.

export interface Pool2dWindow {
  kernel: readonly [number, number];
  strides: readonly [number, number];
  /** [top, bottom, left, right] */
  pads: readonly [number, number, number, number];
  dilations: readonly [number, number];
  ceilMode: boolean;
}

export interface Pool2dGeometry {
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
export function pool2dOutputSize(inSize: number, k: number, s: number, d: number, padBegin: number, padEnd: number, ceilMode: boolean): number {
  const span = inSize + padBegin + padEnd - d * (k - 1) - 1;
  if (span < 0) return 0;
  let out = (ceilMode ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceilMode && (out - 1) * s >= inSize + padBegin) out--;
  return out;
}

/** Per output position on one axis: how many window cells lie in [lo, hi) (the divisor's factor of an average). */
export function poolAxisCounts(out: number, k: number, s: number, d: number, padBegin: number, lo: number, hi: number): number[] {
  return Array.from({ length: out }, (_, o) => {
    let n = 0;
    for (let j = 0; j < k; j++) {
      const p = o * s - padBegin + j * d;
      if (p >= lo && p < hi) n++;
    }
    return n;
  });
}

export function pool2dGeometry(shape: readonly number[], win: Pool2dWindow, what = 'pool2d'): Pool2dGeometry {
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
  const oh = pool2dOutputSize(h, kh, sh, dh, pt, pb, win.ceilMode);
  const ow = pool2dOutputSize(w, kw, sw, dw, pl, pr, win.ceilMode);
  if (oh < 1 || ow < 1) throw new Error(`${what}: input [${shape.join(', ')}] is smaller than the ${kh}×${kw} window (pads [${win.pads.join(', ')}], dilations ${dh}, ${dw})`);
  return { n, h, w, c, kh, kw, sh, sw, dh, dw, pt, pb, pl, pr, oh, ow };
}

/** Throws when some window holds no input cell (pads as wide as the window): its max or uncounted-pad mean is undefined. */
export function checkPoolWindowsSeeInput(g: Pool2dGeometry, what: string): void {
  const ys = poolAxisCounts(g.oh, g.kh, g.sh, g.dh, g.pt, 0, g.h);
  const xs = poolAxisCounts(g.ow, g.kw, g.sw, g.dw, g.pl, 0, g.w);
  if (ys.includes(0) || xs.includes(0)) {
    throw new Error(`${what}: pads [${g.pt}, ${g.pb}, ${g.pl}, ${g.pr}] leave windows that hold no input cell (kernel ${g.kh}×${g.kw}, dilations ${g.dh}, ${g.dw})`);
  }
}

/** Whether the window is one the max-pool kernels above compute exactly (no pads, square, dilation 1, same output size). */
export function isClassicMaxPool(shape: readonly number[], win: Pool2dWindow): boolean {
  const [kh, kw] = win.kernel;
  const [sh, sw] = win.strides;
  if (kh !== kw || sh !== sw || win.pads.some((p) => p !== 0) || win.dilations[0] !== 1 || win.dilations[1] !== 1 || shape.length !== 4) return false;
  const [, h, w] = shape as [number, number, number, number];
  if (h < kh || w < kw) return false;
  const g = pool2dGeometry(shape, win);
  return g.oh === poolOutputSize(h, kh, sh, win.ceilMode) && g.ow === poolOutputSize(w, kw, sw, win.ceilMode);
}

function pool2dKey(g: Pool2dGeometry): string {
  return `${g.n},${g.h},${g.w},${g.c},k${g.kh}x${g.kw},s${g.sh}x${g.sw},d${g.dh}x${g.dw},p${g.pt},${g.pb},${g.pl},${g.pr},o${g.oh}x${g.ow}`;
}

/** WGSL: the window origin (iy0, ix0) of output (oh, ow) and, per kernel row / column, whether it is inside the input. */
function pool2dBounds(g: Pool2dGeometry): string {
  const lines = [`let iy0 = i32(oh * ${g.sh}u) - ${g.pt};`, `let ix0 = i32(ow * ${g.sw}u) - ${g.pl};`];
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

/** WGSL: for input (iy, ix), per kernel row / column, the output row / column whose window puts that tap there. */
function pool2dInverse(g: Pool2dGeometry): string {
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

function pool2dHeader(g: Pool2dGeometry, cv: number): string {
  return `let c = i % ${cv}u;
  let ow = (i / ${cv}u) % ${g.ow}u;
  let oh = (i / ${cv * g.ow}u) % ${g.oh}u;
  let n = i / ${cv * g.ow * g.oh}u;
  let base = n * ${g.h * g.w * cv}u + c;
  ${pool2dBounds(g)}`;
}

function pool2dTap(g: Pool2dGeometry, cv: number, ky: number, kx: number): string {
  return `base + (u32(iy0 + ${ky * g.dh}) * ${g.w}u + u32(ix0 + ${kx * g.dw})) * ${cv}u`;
}

/**
 * Max over the window's input cells (padding never wins), first maximum in row-major window order on ties (NaN only
 * when it is the first cell, like the kernels above); with `withArgmax` the window-local index ky·kw + kx is stored.
 */
function maxPool2dCode(g: Pool2dGeometry, withArgmax: boolean): string {
  const vec = g.c % 4 === 0;
  const T = vec ? 'vec4f' : 'f32';
  const U = vec ? 'vec4u' : 'u32';
  const cv = vec ? g.c / 4 : g.c;
  // `best` starts at 0, but `found` makes the first input cell win whatever it holds.
  const lines: string[] = [`var best = ${T}(0.0);`, 'var found = false;'];
  if (withArgmax) lines.push(`var bestK = ${U}(0u);`);
  for (let ky = 0; ky < g.kh; ky++)
    for (let kx = 0; kx < g.kw; kx++) {
      const k = ky * g.kw + kx;
      lines.push(`let ok${k} = r${ky} && c${kx};`, `let v${k} = x[select(base, ${pool2dTap(g, cv, ky, kx)}, ok${k})];`);
      lines.push(vec ? `let t${k} = ((v${k} > best) | vec4<bool>(!found)) & vec4<bool>(ok${k});` : `let t${k} = (v${k} > best || !found) && ok${k};`);
      lines.push(`best = select(best, v${k}, t${k});`);
      if (withArgmax) lines.push(`bestK = select(bestK, ${U}(${k}u), t${k});`);
      lines.push(`found = found || ok${k};`);
    }
  return `@group(0) @binding(0) var<storage, read> x: array<${T}>;
@group(0) @binding(1) var<storage, read_write> y: array<${T}>;
${withArgmax ? `@group(0) @binding(2) var<storage, read_write> argmax: array<${U}>;` : ''}
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${g.n * g.oh * g.ow * cv}u) { return; }
  ${pool2dHeader(g, cv)}
  ${lines.join('\n  ')}
  y[i] = best;
  ${withArgmax ? 'argmax[i] = bestK;' : ''}
}`;
}

/** Per input element: the output gradients of the windows whose stored maximum is this element, in fixed tap order. */
function maxPool2dBackwardCode(g: Pool2dGeometry): string {
  const taps: string[] = [];
  for (let ky = 0; ky < g.kh; ky++)
    for (let kx = 0; kx < g.kw; kx++) {
      taps.push(`if (oyok${ky} && oxok${kx}) {
    let o = ((n * ${g.oh}u + oy${ky}) * ${g.ow}u + ox${kx}) * ${g.c}u + c;
    if (argmax[o] == ${ky * g.kw + kx}u) { acc += gy[o]; }
  }`);
    }
  return `@group(0) @binding(0) var<storage, read> gy: array<f32>;
@group(0) @binding(1) var<storage, read> argmax: array<u32>;
@group(0) @binding(2) var<storage, read_write> gx: array<f32>;
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${g.n * g.h * g.w * g.c}u) { return; }
  let c = i % ${g.c}u;
  let ix = i32((i / ${g.c}u) % ${g.w}u);
  let iy = i32((i / ${g.c * g.w}u) % ${g.h}u);
  let n = i / ${g.c * g.w * g.h}u;
  ${pool2dInverse(g)}
  var acc = 0.0;
  ${taps.join('\n  ')}
  gx[i] = acc;
}`;
}

/** Per-axis divisor factors of an average as WGSL private tables cy[oh], cx[ow]. */
function avgDivisorTables(g: Pool2dGeometry, countIncludePad: boolean): string {
  const ys = countIncludePad ? poolAxisCounts(g.oh, g.kh, g.sh, g.dh, g.pt, -g.pt, g.h + g.pb) : poolAxisCounts(g.oh, g.kh, g.sh, g.dh, g.pt, 0, g.h);
  const xs = countIncludePad ? poolAxisCounts(g.ow, g.kw, g.sw, g.dw, g.pl, -g.pl, g.w + g.pr) : poolAxisCounts(g.ow, g.kw, g.sw, g.dw, g.pl, 0, g.w);
  const table = (name: string, v: number[]): string => `var<private> ${name}: array<f32, ${v.length}> = array<f32, ${v.length}>(${v.map((n) => `${n}.0`).join(', ')});`;
  return `${table('cy', ys)}\n${table('cx', xs)}`;
}

function avgPool2dCode(g: Pool2dGeometry, countIncludePad: boolean): string {
  const vec = g.c % 4 === 0;
  const T = vec ? 'vec4f' : 'f32';
  const cv = vec ? g.c / 4 : g.c;
  const taps: string[] = [];
  for (let ky = 0; ky < g.kh; ky++) for (let kx = 0; kx < g.kw; kx++) taps.push(`if (r${ky} && c${kx}) { acc += x[${pool2dTap(g, cv, ky, kx)}]; }`);
  return `@group(0) @binding(0) var<storage, read> x: array<${T}>;
@group(0) @binding(1) var<storage, read_write> y: array<${T}>;
${avgDivisorTables(g, countIncludePad)}
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${g.n * g.oh * g.ow * cv}u) { return; }
  ${pool2dHeader(g, cv)}
  var acc = ${T}(0.0);
  ${taps.join('\n  ')}
  y[i] = acc / (cy[oh] * cx[ow]);
}`;
}

/** Per input element: Σ gy / divisor over the windows that hold it, in fixed tap order. */
function avgPool2dBackwardCode(g: Pool2dGeometry, countIncludePad: boolean): string {
  const taps: string[] = [];
  for (let ky = 0; ky < g.kh; ky++)
    for (let kx = 0; kx < g.kw; kx++) {
      taps.push(`if (oyok${ky} && oxok${kx}) { acc += gy[((n * ${g.oh}u + oy${ky}) * ${g.ow}u + ox${kx}) * ${g.c}u + c] / (cy[oy${ky}] * cx[ox${kx}]); }`);
    }
  return `@group(0) @binding(0) var<storage, read> gy: array<f32>;
@group(0) @binding(1) var<storage, read_write> gx: array<f32>;
${avgDivisorTables(g, countIncludePad)}
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${g.n * g.h * g.w * g.c}u) { return; }
  let c = i % ${g.c}u;
  let ix = i32((i / ${g.c}u) % ${g.w}u);
  let iy = i32((i / ${g.c * g.w}u) % ${g.h}u);
  let n = i / ${g.c * g.w * g.h}u;
  ${pool2dInverse(g)}
  var acc = 0.0;
  ${taps.join('\n  ')}
  gx[i] = acc;
}`;
}

function maxPool2dGeometry(shape: readonly number[], win: Pool2dWindow): Pool2dGeometry {
  const g = pool2dGeometry(shape, win, 'maxPool2d');
  checkPoolWindowsSeeInput(g, 'maxPool2d');
  return g;
}

/** ONNX MaxPool of an NHWC tensor (see Pool2dWindow); with `withArgmax` also the window-local index of each maximum. */
export function maxPool2dForward(e: Engine, x: Tensor, win: Pool2dWindow, withArgmax: boolean, out?: Tensor): { y: Tensor; argmax: Tensor | null } {
  const g = maxPool2dGeometry(x.shape, win);
  const y = out ?? e.empty([g.n, g.oh, g.ow, g.c], 'f32', 'maxpool2d');
  if (y.size !== g.n * g.oh * g.ow * g.c) throw new Error(`maxPool2d: output tensor [${y.shape.join(', ')}] is not [${[g.n, g.oh, g.ow, g.c].join(', ')}]`);
  const argmax = withArgmax ? e.empty(y.shape, 'u32', 'maxpool2d_argmax') : null;
  e.run({
    name: withArgmax ? 'maxpool2d_fwd_argmax' : 'maxpool2d_fwd',
    key: `maxpool2d_fwd:${pool2dKey(g)},${withArgmax ? 1 : 0}`,
    code: () => maxPool2dCode(g, withArgmax),
    bindings: argmax ? [x, y, argmax] : [x, y],
    workgroups: grid(y.size / (g.c % 4 === 0 ? 4 : 1), WG),
  });
  return { y, argmax };
}

/** The gradient of maxPool2dForward w.r.t. its input of shape `inputShape`, from the output gradient and the argmax. */
export function maxPool2dBackward(e: Engine, gy: Tensor, argmax: Tensor, inputShape: readonly number[], win: Pool2dWindow, out?: Tensor): Tensor {
  const g = maxPool2dGeometry(inputShape, win);
  if (gy.size !== g.n * g.oh * g.ow * g.c || argmax.size !== gy.size) throw new Error('maxPool2d backward: gradient or argmax does not match the pooled shape');
  const gx = out ?? e.empty(inputShape, 'f32', 'maxpool2d_grad');
  e.run({ name: 'maxpool2d_bwd', key: `maxpool2d_bwd:${pool2dKey(g)}`, code: () => maxPool2dBackwardCode(g), bindings: [gy, argmax, gx], workgroups: grid(gx.size, WG) });
  return gx;
}

function avgPool2dGeometry(shape: readonly number[], win: Pool2dWindow, countIncludePad: boolean): Pool2dGeometry {
  const g = pool2dGeometry(shape, win, 'avgPool2d');
  if (!countIncludePad) checkPoolWindowsSeeInput(g, 'avgPool2d (count_include_pad 0)');
  return g;
}

/** ONNX AveragePool of an NHWC tensor (see Pool2dWindow; `countIncludePad` as count_include_pad). */
export function avgPool2dForward(e: Engine, x: Tensor, win: Pool2dWindow, countIncludePad: boolean, out?: Tensor): Tensor {
  const g = avgPool2dGeometry(x.shape, win, countIncludePad);
  const y = out ?? e.empty([g.n, g.oh, g.ow, g.c], 'f32', 'avgpool2d');
  if (y.size !== g.n * g.oh * g.ow * g.c) throw new Error(`avgPool2d: output tensor [${y.shape.join(', ')}] is not [${[g.n, g.oh, g.ow, g.c].join(', ')}]`);
  e.run({
    name: 'avgpool2d_fwd',
    key: `avgpool2d_fwd:${pool2dKey(g)},${countIncludePad ? 1 : 0}`,
    code: () => avgPool2dCode(g, countIncludePad),
    bindings: [x, y],
    workgroups: grid(y.size / (g.c % 4 === 0 ? 4 : 1), WG),
  });
  return y;
}

/** The gradient of avgPool2dForward w.r.t. its input of shape `inputShape` (reads no tensor but the output gradient). */
export function avgPool2dBackward(e: Engine, gy: Tensor, inputShape: readonly number[], win: Pool2dWindow, countIncludePad: boolean, out?: Tensor): Tensor {
  const g = avgPool2dGeometry(inputShape, win, countIncludePad);
  if (gy.size !== g.n * g.oh * g.ow * g.c) throw new Error('avgPool2d backward: gradient does not match the pooled shape');
  const gx = out ?? e.empty(inputShape, 'f32', 'avgpool2d_grad');
  e.run({
    name: 'avgpool2d_bwd',
    key: `avgpool2d_bwd:${pool2dKey(g)},${countIncludePad ? 1 : 0}`,
    code: () => avgPool2dBackwardCode(g, countIncludePad),
    bindings: [gy, gx],
    workgroups: grid(gx.size, WG),
  });
  return gx;
}
