import type { Engine, Tensor } from '../engine/index.js';
import { entry1d, f32, flatIndex, grid } from './common.js';
import { sumAxis1 } from './reduce.js';

/** Pooling on NHWC tensors: max pooling without padding (floor or ceil rounding) and global average pooling. */

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
