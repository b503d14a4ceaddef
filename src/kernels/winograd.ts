/**
 * 3×3 stride-1 convolution by Winograd's minimal filtering F(m×m, 3×3) (Lavin & Gray, "Fast Algorithms for
 * Convolutional Neural Networks", 2016; matrices in winograd-matrices.ts): every m×m block of output pixels comes
 * from an α×α input patch (α = m + 2) with α² multiplies per (input, output) channel pair instead of 9m², so the
 * multiply-adds drop 2.25× for F(2×2) and 4× for F(4×4):
 *
 *   U = G·g·Gᵀ     per filter (3×3 → α×α), computed once per weight version (cached per filter buffer)
 *   V = Bᵀ·d·B     per α×α input patch and channel
 *   M[ξν] = V[ξν]·U[ξν]   α² independent GEMMs [blocks × Cin]·[Cin × Cout] — one batched dispatch of matmul.ts
 *   y = act(Aᵀ·M·A + bias)     per m×m output block
 *
 * V and M hold α² values per m×m block (4× / 2.25× the input and output), so large batches run in chunks of images
 * that keep each under the device's binding limit. `chooseWinograd` picks the variant with fewer multiply-adds
 * after rounding blocks up to whole tiles; dev/NOTES.md compares speed and accuracy. The direct kernel computes the
 * filter gradient; the input gradient of the same layers is a convolution with the flipped filters and goes the same
 * way (`winogradGradInput`). Memory: the cached filter transforms hold α²/9 of each filter (4× for F(4×4): ≈ 235 MB
 * beside VGG16's 59 MB of conv weights), and V and M are transient. `setWinograd(engine, false)` turns the path off
 * (initially `Engine.create({ winograd })`, default on); the flag and the cached transforms are the engine's
 * `winograd` state slot.
 */
import type { Engine } from '../engine/engine.js';
import { stateSlot } from '../engine/kernel-state.js';
import type { Storage, Tensor } from '../engine/tensor.js';
import { entry1d, f32, flatIndex, grid, range } from './common.js';
import type { ChannelSlice, Conv2dGeometry } from './conv2d.js';
import { activate, actKey, type GemmActivation } from './gemm-spec.js';
import { batchedMatmul } from './matmul.js';
import { F2x3, F4x3, type WinogradMatrices } from './winograd-matrices.js';

const WG = 64;

/** Σ coeffs[k]·terms[k] as WGSL, skipping zero coefficients and multiplying only where the coefficient is not ±1. */
function lin(coeffs: readonly number[], terms: readonly string[]): string {
  let out = '';
  coeffs.forEach((c, k) => {
    if (c === 0) return;
    const mag = Math.abs(c);
    const term = mag === 1 ? terms[k]! : `${f32(mag)} * ${terms[k]}`;
    out += out ? ` ${c < 0 ? '-' : '+'} ${term}` : `${c < 0 ? '-' : ''}${term}`;
  });
  return out ? `(${out})` : 'vec4f(0.0)';
}

/** Whether the Winograd path computes this convolution (else the direct implicit GEMM does). */
export function winogradApplies(g: Conv2dGeometry, slice?: ChannelSlice): boolean {
  return (
    g.KH === 3 &&
    g.KW === 3 &&
    g.stride === 1 &&
    // Few input channels: the GEMMs are too thin to pay for the transforms (VGG16's first layer has 3).
    g.Cin >= 16 &&
    g.Cin % 4 === 0 &&
    g.Cout % 4 === 0 &&
    (!slice || (slice.stride % 4 === 0 && slice.offset % 4 === 0))
  );
}

export interface WinogradPlan {
  w: WinogradMatrices;
  /** m×m output blocks per image: rows, columns, all. */
  TH: number;
  TW: number;
  T: number;
  /** Images per chunk (V and M are sized for this many) and the number of chunks. */
  chunk: number;
  chunks: number;
}

/** Multiply-adds of the GEMMs, with the block rows rounded up to whole 16-row tiles. */
function gemmMacs(g: Conv2dGeometry, w: WinogradMatrices): number {
  const T = Math.ceil(g.OH / w.m) * Math.ceil(g.OW / w.m);
  return w.alpha * w.alpha * Math.ceil((g.N * T) / 16) * 16 * g.Cin * g.Cout;
}

/** F(4×4, 3×3) unless F(2×2, 3×3) needs fewer multiply-adds (small outputs, where 4×4 blocks would mostly pad). */
export function chooseWinograd(g: Conv2dGeometry): WinogradMatrices {
  return gemmMacs(g, F2x3) < gemmMacs(g, F4x3) ? F2x3 : F4x3;
}

/** Chunks so that V [α², chunk·T, Cin] and M [α², chunk·T, Cout] each stay within `maxBytes`; null if one image is too big. */
export function winogradPlan(g: Conv2dGeometry, maxBytes: number, w: WinogradMatrices = chooseWinograd(g)): WinogradPlan | null {
  const TH = Math.ceil(g.OH / w.m);
  const TW = Math.ceil(g.OW / w.m);
  const T = TH * TW;
  const perImage = w.alpha * w.alpha * T * Math.max(g.Cin, g.Cout) * 4;
  const fit = Math.floor(maxBytes / perImage);
  if (fit < 1) return null;
  const chunks = Math.ceil(g.N / fit);
  return { w, TH, TW, T, chunk: Math.ceil(g.N / chunks), chunks };
}

/**
 * U [α², Cin, Cout] from HWIO filters [3, 3, Cin, Cout]; one invocation per (ci, 4 output channels). With `flipped`:
 * U [α², Cout, Cin] of the filters rotated by 180° with input and output channels swapped — the convolution that
 * maps an output gradient back to the input — one invocation per (co, 4 input channels), read with scalar loads.
 */
export function filterTransformCode(w: WinogradMatrices, Cin: number, Cout: number, flipped = false): string {
  const a = w.alpha;
  const n = Cin * (Cout / 4);
  const g = range(3).map((ky) => range(3).map((kx) => `g${ky}${kx}`));
  const lines = flipped
    ? g.flat().map((name, k) => {
        // g'[ky][kx][co][ci] = W[2 − ky][2 − kx][ci][co]
        const tap = 8 - k;
        return `let ${name} = vec4f(${range(4).map((j) => `W[${tap * Cin * Cout}u + (ci0 + ${j}u) * ${Cout}u + co]`).join(', ')});`;
      })
    : g.flat().map((name, k) => `let ${name} = W4[${k * n}u + i];`);
  // t = G·g (α×3), then u = t·Gᵀ (α×α).
  range(a).forEach((r) => range(3).forEach((c) => lines.push(`let t${r}_${c} = ${lin(w.G[r]!, range(3).map((k) => g[k]![c]!))};`)));
  range(a).forEach((r) =>
    range(a).forEach((c) => lines.push(`U4[${(r * a + c) * n}u + i] = ${lin(w.G[c]!, range(3).map((k) => `t${r}_${k}`))};`)),
  );
  return `@group(0) @binding(0) var<storage, read> ${flipped ? 'W: array<f32>' : 'W4: array<vec4f>'};
@group(0) @binding(1) var<storage, read_write> U4: array<vec4f>;
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${n}u) { return; }
  ${flipped ? `let co = i / ${Cin / 4}u; let ci0 = (i % ${Cin / 4}u) * 4u;` : ''}
  ${lines.join('\n  ')}
}`;
}

/** WGSL giving the invocation its 4 channels `c4`, image `n` (from params[0] on) and block `t` of that image. */
function blockOfInvocation(P: number, C4: number, T: number): string {
  return `let i = ${flatIndex(WG)};
  if (i >= ${P * C4}u) { return; }
  let c4 = i % ${C4}u;
  let b = i / ${C4}u;
  let n = params[0] + b / ${T}u;
  let t = b % ${T}u;`;
}

/**
 * V [α², chunk·T, Cin] for images n0 … n0 + chunk − 1 (n0 in params; images past N read as zeros); one invocation
 * per (block, 4 channels).
 */
export function inputTransformCode(g: Conv2dGeometry, p: WinogradPlan): string {
  const { alpha: a, m, BT } = p.w;
  const C4 = g.Cin / 4;
  const P = p.chunk * p.T;
  const lines: string[] = [];
  for (let r = 0; r < a; r++) {
    lines.push(`let y${r} = iy0 + ${r}; let oky${r} = ok && u32(y${r}) < ${g.H}u;`);
    for (let c = 0; c < a; c++) {
      if (r === 0) lines.push(`let x${c} = ix0 + ${c}; let okx${c} = u32(x${c}) < ${g.W}u;`);
      lines.push(
        `let d${r}_${c} = select(vec4f(0.0), X4[min(((n * ${g.H}u + u32(y${r})) * ${g.W}u + u32(x${c})) * ${C4}u + c4, ${g.N * g.H * g.W * C4 - 1}u)], oky${r} && okx${c});`,
      );
    }
  }
  // s = Bᵀ·d, then v = s·B.
  range(a).forEach((r) => range(a).forEach((c) => lines.push(`let s${r}_${c} = ${lin(BT[r]!, range(a).map((k) => `d${k}_${c}`))};`)));
  range(a).forEach((r) =>
    range(a).forEach((c) => lines.push(`V4[${(r * a + c) * P * C4}u + i] = ${lin(BT[c]!, range(a).map((k) => `s${r}_${k}`))};`)),
  );
  return `@group(0) @binding(0) var<storage, read> X4: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> V4: array<vec4f>;
@group(0) @binding(2) var<storage, read> params: array<u32>;
${entry1d(WG)} {
  ${blockOfInvocation(P, C4, p.T)}
  let ok = n < ${g.N}u;
  let iy0 = i32((t / ${p.TW}u) * ${m}u) - ${g.padTop};
  let ix0 = i32((t % ${p.TW}u) * ${m}u) - ${g.padLeft};
  ${lines.join('\n  ')}
}`;
}

/** y (with bias and the activation) from M [α², chunk·T, Cout]; one invocation per (block, 4 output channels). */
export function outputTransformCode(g: Conv2dGeometry, p: WinogradPlan, hasBias: boolean, act: GemmActivation, slice?: ChannelSlice): string {
  const { alpha: a, m, AT } = p.w;
  const C4 = g.Cout / 4;
  const P = p.chunk * p.T;
  const stride4 = (slice?.stride ?? g.Cout) / 4;
  const offset4 = (slice?.offset ?? 0) / 4;
  const lines: string[] = [];
  range(a * a).forEach((k) => lines.push(`let m${Math.floor(k / a)}_${k % a} = M4[${k * P * C4}u + i];`));
  // q = Aᵀ·M (m×α), then y = q·A (m×m).
  range(m).forEach((r) => range(a).forEach((c) => lines.push(`let q${r}_${c} = ${lin(AT[r]!, range(a).map((k) => `m${k}_${c}`))};`)));
  range(m).forEach((r) => {
    range(m).forEach((c) => {
      let v = lin(AT[c]!, range(a).map((k) => `q${r}_${k}`));
      if (hasBias) v = `${v} + bias`;
      v = activate(act, v, 'vec4f');
      lines.push(
        `if (oy0 + ${r}u < ${g.OH}u && ox0 + ${c}u < ${g.OW}u) { out4[((n * ${g.OH}u + oy0 + ${r}u) * ${g.OW}u + ox0 + ${c}u) * ${stride4}u + ${offset4}u + c4] = ${v}; }`,
      );
    });
  });
  return `@group(0) @binding(0) var<storage, read> M4: array<vec4f>;
${hasBias ? '@group(0) @binding(1) var<storage, read> bias4: array<vec4f>;\n' : ''}@group(0) @binding(${hasBias ? 2 : 1}) var<storage, read_write> out4: array<vec4f>;
@group(0) @binding(${hasBias ? 3 : 2}) var<storage, read> params: array<u32>;
${entry1d(WG)} {
  ${blockOfInvocation(P, C4, p.T)}
  if (n >= ${g.N}u) { return; }
  let oy0 = (t / ${p.TW}u) * ${m}u;
  let ox0 = (t % ${p.TW}u) * ${m}u;
  ${hasBias ? 'let bias = bias4[c4];' : ''}
  ${lines.join('\n  ')}
}`;
}

interface CachedFilter {
  version: number;
  u: Tensor;
}

interface WinogradState {
  /** Whether 3×3 stride-1 convolutions may take this path (else the direct implicit GEMM). */
  on: boolean;
  /** Per filter buffer, the transform for each variant used (keyed by m, and whether flipped). */
  filters: WeakMap<Storage, Map<string, CachedFilter>>;
}

const WINOGRAD = stateSlot<WinogradState>('winograd', (e) => ({ on: e.options.winograd ?? true, filters: new WeakMap() }));

/** Lets (or stops) this engine's 3×3 stride-1 convolutions use Winograd; may be changed at any time (benchmarks, tests). */
export function setWinograd(e: Engine, on: boolean): void {
  e.state(WINOGRAD).on = on;
}

/** Whether this engine's convolutions may use Winograd (`Engine.create({ winograd })`, default true; `setWinograd`). */
export function winogradEnabled(e: Engine): boolean {
  return e.state(WINOGRAD).on;
}

/**
 * U for `w` (or its flipped form, see filterTransformCode), reused while the filter's buffer keeps its version (the
 * engine counts every write into a buffer), so a frozen layer transforms its filters once and a trained one once
 * per update. Freed with the filter.
 */
export function transformedFilter(e: Engine, w: Tensor, m: WinogradMatrices, flipped = false): Tensor {
  const [, , Cin, Cout] = w.shape as [number, number, number, number];
  const storage = w.storage;
  const filters = e.state(WINOGRAD).filters;
  let byVariant = filters.get(storage);
  if (!byVariant) {
    const entries = new Map<string, CachedFilter>();
    byVariant = entries;
    filters.set(storage, entries);
    storage.onRelease.push(() => {
      for (const c of entries.values()) c.u.dispose();
    });
  }
  const key = `${m.m}${flipped ? 'T' : ''}`;
  const cached = byVariant.get(key);
  if (cached && !cached.u.disposed && cached.version === storage.version) {
    e.noteDerived(w, 'Winograd filter transform');
    return cached.u;
  }
  if (cached && !cached.u.disposed) cached.u.dispose();
  const u = e.keep(e.empty(flipped ? [m.alpha * m.alpha, Cout, Cin] : [m.alpha * m.alpha, Cin, Cout], 'f32', 'winograd_u'));
  e.run({
    name: 'winograd_filter',
    key: `winograd_filter:${m.m},${Cin},${Cout},${flipped ? 1 : 0}`,
    code: () => filterTransformCode(m, Cin, Cout, flipped),
    bindings: [w, u],
    workgroups: grid((Cin * Cout) / 4, WG),
  });
  byVariant.set(key, { version: storage.version, u });
  return u;
}

/** The largest V or M buffer a chunk may use. */
export function winogradMaxBytes(e: Engine): number {
  const l = e.device.limits;
  return Math.min(l.maxStorageBufferBindingSize, l.maxBufferSize, 256 * 2 ** 20);
}

/**
 * y = act(x ⊛ w + b) for a geometry `winogradApplies` accepted, by `variant` (default: `chooseWinograd`); false
 * (nothing run) when not even one image fits in `maxBytes`.
 */
export function winogradConv2d(
  e: Engine,
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  y: Tensor,
  g: Conv2dGeometry,
  act: GemmActivation,
  slice?: ChannelSlice,
  maxBytes = winogradMaxBytes(e),
  variant: WinogradMatrices = chooseWinograd(g),
): boolean {
  const p = winogradPlan(g, maxBytes, variant);
  if (!p) return false;
  run(e, FORWARD, x, transformedFilter(e, w, p.w), b, y, g, p, act, slice);
  return true;
}

/**
 * The input gradient of a 3×3 stride-1 convolution seen as a convolution of the output gradient [N, OH, OW, Cout]
 * with the flipped filters ('same' keeps padding 1, 'valid' becomes 'full', padding 2), when Winograd can compute
 * that; else null.
 */
export function gradInputGeometry(g: Conv2dGeometry): Conv2dGeometry | null {
  if (g.KH !== 3 || g.KW !== 3 || g.stride !== 1) return null;
  const gi: Conv2dGeometry = {
    N: g.N,
    H: g.OH,
    W: g.OW,
    Cin: g.Cout,
    KH: 3,
    KW: 3,
    Cout: g.Cin,
    stride: 1,
    padTop: 2 - g.padTop,
    padLeft: 2 - g.padLeft,
    OH: g.H,
    OW: g.W,
  };
  return winogradApplies(gi) ? gi : null;
}

/**
 * gx [N, H, W, Cin] = the (already ReLU-masked) output gradient gy convolved with the flipped filters, for a forward
 * geometry `g` that `gradInputGeometry` accepts; false (nothing run) when it does not or no chunk fits.
 */
export function winogradGradInput(
  e: Engine,
  gy: Tensor,
  w: Tensor,
  gx: Tensor,
  g: Conv2dGeometry,
  maxBytes = winogradMaxBytes(e),
  variant?: WinogradMatrices,
): boolean {
  const gi = gradInputGeometry(g);
  if (!gi) return false;
  const p = winogradPlan(gi, maxBytes, variant ?? chooseWinograd(gi));
  if (!p) return false;
  run(e, GRAD_INPUT, gy, transformedFilter(e, w, p.w, true), null, gx, gi, p, 'linear');
  return true;
}

/** Kernel names of the transforms (profiles, stats). */
interface TransformNames {
  input: string;
  output: string;
}

const FORWARD: TransformNames = { input: 'winograd_input', output: 'winograd_output' };
const GRAD_INPUT: TransformNames = { input: 'winograd_gx_input', output: 'winograd_gx_output' };

/**
 * The pipeline-cache key part of a geometry and plan: the fields the transforms read (the variant is named by its
 * block size m: one matrix set per m).
 */
function planKey(g: Conv2dGeometry, p: WinogradPlan): string {
  return `${g.N},${g.H},${g.W},${g.Cin},${g.Cout},${g.padTop},${g.padLeft},${g.OH},${g.OW},${p.w.m},${p.TH}x${p.TW},${p.chunk}`;
}

/** The transforms and GEMMs, chunk by chunk. */
function run(
  e: Engine,
  names: TransformNames,
  x: Tensor,
  u: Tensor,
  b: Tensor | null,
  y: Tensor,
  g: Conv2dGeometry,
  p: WinogradPlan,
  act: GemmActivation,
  slice?: ChannelSlice,
): void {
  const P = p.chunk * p.T;
  const slices = p.w.alpha * p.w.alpha;
  const v = e.empty([slices, P, g.Cin], 'f32', 'winograd_v');
  const m = e.empty([slices, P, g.Cout], 'f32', 'winograd_m');
  const plan = planKey(g, p);
  const inKey = `winograd_input:${plan}`;
  const outKey = `winograd_output:${plan},${b !== null ? 1 : 0}${actKey(act)},${slice ? `${slice.stride}+${slice.offset}` : '-'}`;
  const inCode = (): string => inputTransformCode(g, p);
  const outCode = (): string => outputTransformCode(g, p, b !== null, act, slice);
  for (let c = 0; c < p.chunks; c++) {
    const params = new Uint32Array([c * p.chunk]);
    e.run({ name: names.input, key: inKey, code: inCode, bindings: [x, v], params, workgroups: grid((P * g.Cin) / 4, WG) });
    batchedMatmul(e, v, u, m);
    e.run({ name: names.output, key: outKey, code: outCode, bindings: b ? [m, b, y] : [m, y], params, workgroups: grid((P * g.Cout) / 4, WG) });
  }
  v.dispose();
  m.dispose();
}
