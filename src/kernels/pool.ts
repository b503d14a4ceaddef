import type { Engine, Tensor } from '../engine/index.js';
import { entry1d, f32, flatIndex, grid } from './common.js';
import { sumAxis1 } from './reduce.js';
import { decodeNhwc, inverseOutput, overWindowInputs, overWindowOutputs, windowGeometry, windowKey, windowOutputSize, windowTap, windowTaps, type Window2d, type WindowGeometry } from './window.js';

/** Pooling on NHWC tensors: max pooling without padding (floor or ceil rounding), ONNX MaxPool / AveragePool (below) and global average pooling. */

const WG = 64;

export interface PoolOptions {
  size: number;
  stride: number;
  /** Output size ceil((H − size) / stride) + 1 instead of floor; the last windows are clipped at the border. */
  ceilMode?: boolean;
}

/** An input [n, h, w, c] and its pooled output size oh × ow. */
type Pooled = Pick<WindowGeometry, 'n' | 'h' | 'w' | 'c' | 'oh' | 'ow'>;

export interface PoolGeometry extends Pooled {
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
  ${decodeNhwc('i', g.oh, g.ow, C, ['n', 'oh', 'ow', 'c'])}
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
  ${decodeNhwc('i', g.h, g.w, g.c, ['n', 'h', 'w', 'c'], (v) => `i32(${v})`)}
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
  const { y, workgroups } = pooledOutput(e, g, out, 'maxPool');
  dispatchMaxPool(e, 'maxpool', poolKey(g), () => maxPoolForwardCode(g, false), x, y, false, workgroups);
  return y;
}

/** Forward that also records, per output, which element of its window was the maximum (for backward). */
export function maxPoolForwardArgmax(e: Engine, x: Tensor, opts: PoolOptions, out?: Tensor): { y: Tensor; argmax: Tensor } {
  const g = poolGeometry(x.shape, opts);
  const { y, workgroups } = pooledOutput(e, g, out, 'maxPool');
  return { y, argmax: dispatchMaxPool(e, 'maxpool', poolKey(g), () => maxPoolForwardCode(g, true), x, y, true, workgroups)! };
}

/** The gradient w.r.t. the input of shape `inputShape`, from the output gradient and the stored argmax. */
export function maxPoolBackward(e: Engine, gy: Tensor, argmax: Tensor, inputShape: readonly number[], opts: PoolOptions, out?: Tensor): Tensor {
  const g = poolGeometry(inputShape, opts);
  return dispatchMaxPoolGrad(e, 'maxpool', poolKey(g), () => maxPoolBackwardCode(g), g, gy, argmax, inputShape, out, 'maxPoolBackward');
}

/** The pooled output [N, OH, OW, C] (`out` when given, checked) and the workgroups of a kernel over it (a vec4 of channels each when C is a multiple of 4). */
function pooledOutput(e: Engine, g: Pooled, out: Tensor | undefined, what: string): { y: Tensor; workgroups: ReturnType<typeof grid> } {
  const shape = [g.n, g.oh, g.ow, g.c];
  const y = out ?? e.empty(shape, 'f32', what.toLowerCase());
  if (y.size !== g.n * g.oh * g.ow * g.c) throw new Error(`${what}: output tensor [${y.shape.join(', ')}] is not [${shape.join(', ')}]`);
  return { y, workgroups: grid(y.size / (g.c % 4 === 0 ? 4 : 1), WG) };
}

/** Runs a max-pool kernel of `family` writing y (and, when asked, the window-local argmax, which it returns). */
function dispatchMaxPool(e: Engine, family: string, keyPart: string, code: () => string, x: Tensor, y: Tensor, withArgmax: boolean, workgroups: ReturnType<typeof grid>): Tensor | null {
  const argmax = withArgmax ? e.empty(y.shape, 'u32', `${family}_argmax`) : null;
  e.run({
    name: withArgmax ? `${family}_fwd_argmax` : `${family}_fwd`,
    key: `${family}_fwd:${keyPart},${withArgmax ? 1 : 0}`,
    code,
    bindings: argmax ? [x, y, argmax] : [x, y],
    workgroups,
  });
  return argmax;
}

/** Runs the max-pool gradient kernel of `family` after checking gy and argmax against the pooled shape. */
function dispatchMaxPoolGrad(
  e: Engine,
  family: string,
  keyPart: string,
  code: () => string,
  g: Pooled,
  gy: Tensor,
  argmax: Tensor,
  inputShape: readonly number[],
  out: Tensor | undefined,
  what: string,
): Tensor {
  if (gy.size !== g.n * g.oh * g.ow * g.c || argmax.size !== gy.size) throw new Error(`${what}: gradient or argmax does not match the pooled shape`);
  const gx = out ?? e.empty(inputShape, 'f32', `${family}_grad`);
  e.run({ name: `${family}_bwd`, key: `${family}_bwd:${keyPart}`, code, bindings: [gy, argmax, gx], workgroups: grid(gx.size, WG) });
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

export interface Pool2dWindow extends Window2d {
  ceilMode: boolean;
}

export type Pool2dGeometry = WindowGeometry;

/** ONNX's output size on one axis, with ceil_mode's rule that the last window starts inside the input or the leading pad. */
export const pool2dOutputSize = windowOutputSize;

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
  return windowGeometry(shape, win, win.ceilMode, what);
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

/** A kernel over the pooled output, one invocation per output pixel and vec4 of channels (f32 channels when C is not a multiple of 4). */
function outputKernel(g: Pool2dGeometry, bindings: string, body: string[]): string {
  const cv = g.c % 4 === 0 ? g.c / 4 : g.c;
  return `${bindings}
${entry1d(WG)} {
  ${overWindowOutputs(g, cv, WG, 'oh', 'ow')}
  ${body.join('\n  ')}
}`;
}

/** A gradient kernel, one invocation per input element: `acc` sums what each window tap holding it contributes, in fixed tap order. */
function inputKernel(g: Pool2dGeometry, bindings: string, tap: (ky: number, kx: number, k: number) => string): string {
  return `${bindings}
${entry1d(WG)} {
  ${overWindowInputs(g, g.c, WG)}
  var acc = 0.0;
  ${windowTaps(g)
    .map(({ ky, kx, k }) => tap(ky, kx, k))
    .join('\n  ')}
  gx[i] = acc;
}`;
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
  for (const { ky, kx, k } of windowTaps(g)) {
    lines.push(`let ok${k} = r${ky} && c${kx};`, `let v${k} = x[select(base, ${windowTap(g, cv, ky, kx)}, ok${k})];`);
    lines.push(vec ? `let t${k} = ((v${k} > best) | vec4<bool>(!found)) & vec4<bool>(ok${k});` : `let t${k} = (v${k} > best || !found) && ok${k};`);
    lines.push(`best = select(best, v${k}, t${k});`);
    if (withArgmax) lines.push(`bestK = select(bestK, ${U}(${k}u), t${k});`);
    lines.push(`found = found || ok${k};`);
  }
  lines.push('y[i] = best;', withArgmax ? 'argmax[i] = bestK;' : '');
  return outputKernel(
    g,
    `@group(0) @binding(0) var<storage, read> x: array<${T}>;
@group(0) @binding(1) var<storage, read_write> y: array<${T}>;
${withArgmax ? `@group(0) @binding(2) var<storage, read_write> argmax: array<${U}>;` : ''}`,
    lines,
  );
}

/** Per input element: the output gradients of the windows whose stored maximum is this element, in fixed tap order. */
function maxPool2dBackwardCode(g: Pool2dGeometry): string {
  return inputKernel(
    g,
    `@group(0) @binding(0) var<storage, read> gy: array<f32>;
@group(0) @binding(1) var<storage, read> argmax: array<u32>;
@group(0) @binding(2) var<storage, read_write> gx: array<f32>;`,
    (ky, kx, k) => `if (oyok${ky} && oxok${kx}) {
    let o = ${inverseOutput(g, g.c, ky, kx)};
    if (argmax[o] == ${k}u) { acc += gy[o]; }
  }`,
  );
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
  const taps = windowTaps(g).map(({ ky, kx }) => `if (r${ky} && c${kx}) { acc += x[${windowTap(g, cv, ky, kx)}]; }`);
  return outputKernel(
    g,
    `@group(0) @binding(0) var<storage, read> x: array<${T}>;
@group(0) @binding(1) var<storage, read_write> y: array<${T}>;
${avgDivisorTables(g, countIncludePad)}`,
    [`var acc = ${T}(0.0);`, ...taps, 'y[i] = acc / (cy[oh] * cx[ow]);'],
  );
}

/** Per input element: Σ gy / divisor over the windows that hold it, in fixed tap order. */
function avgPool2dBackwardCode(g: Pool2dGeometry, countIncludePad: boolean): string {
  return inputKernel(
    g,
    `@group(0) @binding(0) var<storage, read> gy: array<f32>;
@group(0) @binding(1) var<storage, read_write> gx: array<f32>;
${avgDivisorTables(g, countIncludePad)}`,
    (ky, kx) => `if (oyok${ky} && oxok${kx}) { acc += gy[${inverseOutput(g, g.c, ky, kx)}] / (cy[oy${ky}] * cx[ox${kx}]); }`,
  );
}

function maxPool2dGeometry(shape: readonly number[], win: Pool2dWindow): Pool2dGeometry {
  const g = pool2dGeometry(shape, win, 'maxPool2d');
  checkPoolWindowsSeeInput(g, 'maxPool2d');
  return g;
}

function avgPool2dGeometry(shape: readonly number[], win: Pool2dWindow, countIncludePad: boolean): Pool2dGeometry {
  const g = pool2dGeometry(shape, win, 'avgPool2d');
  if (!countIncludePad) checkPoolWindowsSeeInput(g, 'avgPool2d (count_include_pad 0)');
  return g;
}

/** ONNX MaxPool of an NHWC tensor (see Pool2dWindow); with `withArgmax` also the window-local index of each maximum. */
export function maxPool2dForward(e: Engine, x: Tensor, win: Pool2dWindow, withArgmax: boolean, out?: Tensor): { y: Tensor; argmax: Tensor | null } {
  const g = maxPool2dGeometry(x.shape, win);
  const { y, workgroups } = pooledOutput(e, g, out, 'maxPool2d');
  return { y, argmax: dispatchMaxPool(e, 'maxpool2d', windowKey(g), () => maxPool2dCode(g, withArgmax), x, y, withArgmax, workgroups) };
}

/** The gradient of maxPool2dForward w.r.t. its input of shape `inputShape`, from the output gradient and the argmax. */
export function maxPool2dBackward(e: Engine, gy: Tensor, argmax: Tensor, inputShape: readonly number[], win: Pool2dWindow, out?: Tensor): Tensor {
  const g = maxPool2dGeometry(inputShape, win);
  return dispatchMaxPoolGrad(e, 'maxpool2d', windowKey(g), () => maxPool2dBackwardCode(g), g, gy, argmax, inputShape, out, 'maxPool2d backward');
}

/** ONNX AveragePool of an NHWC tensor (see Pool2dWindow; `countIncludePad` as count_include_pad). */
export function avgPool2dForward(e: Engine, x: Tensor, win: Pool2dWindow, countIncludePad: boolean, out?: Tensor): Tensor {
  const g = avgPool2dGeometry(x.shape, win, countIncludePad);
  const { y, workgroups } = pooledOutput(e, g, out, 'avgPool2d');
  e.run({ name: 'avgpool2d_fwd', key: `avgpool2d_fwd:${windowKey(g)},${countIncludePad ? 1 : 0}`, code: () => avgPool2dCode(g, countIncludePad), bindings: [x, y], workgroups });
  return y;
}

/** The gradient of avgPool2dForward w.r.t. its input of shape `inputShape` (reads no tensor but the output gradient). */
export function avgPool2dBackward(e: Engine, gy: Tensor, inputShape: readonly number[], win: Pool2dWindow, countIncludePad: boolean, out?: Tensor): Tensor {
  const g = avgPool2dGeometry(inputShape, win, countIncludePad);
  if (gy.size !== g.n * g.oh * g.ow * g.c) throw new Error('avgPool2d backward: gradient does not match the pooled shape');
  const gx = out ?? e.empty(inputShape, 'f32', 'avgpool2d_grad');
  e.run({
    name: 'avgpool2d_bwd',
    key: `avgpool2d_bwd:${windowKey(g)},${countIncludePad ? 1 : 0}`,
    code: () => avgPool2dBackwardCode(g, countIncludePad),
    bindings: [gy, gx],
    workgroups: grid(gx.size, WG),
  });
  return gx;
}
