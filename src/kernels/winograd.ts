/**
 * 3×3 stride-1 convolution by Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray, "Fast Algorithms for
 * Convolutional Neural Networks", 2016): every 2×2 block of output pixels comes from a 4×4 input patch with 16
 * multiplies per (input, output) channel pair instead of 36, so the convolution's multiply-adds drop 2.25×:
 *
 *   U = G·g·Gᵀ     per filter (3×3 → 4×4), computed once per weight version (cached on the weight tensor)
 *   V = Bᵀ·d·B     per 4×4 input patch and channel (additions only)
 *   M[ξν] = V[ξν]·U[ξν]   16 independent GEMMs [tiles × Cin]·[Cin × Cout] — one batched dispatch of matmul.ts
 *   y = Aᵀ·M·A + bias (ReLU)   per 2×2 output block (additions only)
 *
 * V and M hold 16 values per 2×2 block (4× the input and output), so large batches run in chunks of images that
 * keep each under the device's binding limit. The transforms use only 0, ±1 and ½, so rounding stays close to
 * the direct convolution's (dev/NOTES.md has the comparison); the backward keeps the direct kernels.
 */
import type { Engine } from '../engine/engine.js';
import type { Storage, Tensor } from '../engine/tensor.js';
import { entry1d, flatIndex, grid } from './common.js';
import type { ChannelSlice, Conv2dGeometry } from './conv2d.js';
import { batchedMatmul } from './matmul.js';

const WG = 64;
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** Bᵀ applied to a column of 4 values (as WGSL expressions). */
const bt = (d: string[]): string[] => [`(${d[0]} - ${d[2]})`, `(${d[1]} + ${d[2]})`, `(${d[2]} - ${d[1]})`, `(${d[1]} - ${d[3]})`];
/** G applied to a column of 3 values. */
const gm = (g: string[]): string[] => [g[0]!, `0.5 * (${g[0]} + ${g[1]} + ${g[2]})`, `0.5 * (${g[0]} - ${g[1]} + ${g[2]})`, g[2]!];
/** Aᵀ applied to a column of 4 values. */
const at = (m: string[]): string[] => [`(${m[0]} + ${m[1]} + ${m[2]})`, `(${m[1]} - ${m[2]} - ${m[3]})`];

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
  /** 2×2 output blocks per image: rows, columns, all. */
  TH: number;
  TW: number;
  T: number;
  /** Images per chunk (V and M are sized for this many) and the number of chunks. */
  chunk: number;
  chunks: number;
}

/** Chunks so that V [16, chunk·T, Cin] and M [16, chunk·T, Cout] each stay within `maxBytes`; null if one image is too big. */
export function winogradPlan(g: Conv2dGeometry, maxBytes: number): WinogradPlan | null {
  const TH = Math.ceil(g.OH / 2);
  const TW = Math.ceil(g.OW / 2);
  const T = TH * TW;
  const perImage = 16 * T * Math.max(g.Cin, g.Cout) * 4;
  const fit = Math.floor(maxBytes / perImage);
  if (fit < 1) return null;
  const chunks = Math.ceil(g.N / fit);
  return { TH, TW, T, chunk: Math.ceil(g.N / chunks), chunks };
}

/** U [16, Cin, Cout] from HWIO filters [3, 3, Cin, Cout]; one invocation per (ci, 4 output channels). */
export function filterTransformCode(Cin: number, Cout: number): string {
  const C4 = Cout / 4;
  const n = Cin * C4;
  const g = range(3).map((ky) => range(3).map((kx) => `g${ky}${kx}`));
  const lines = g.flat().map((name, k) => `let ${name} = W4[${k * n}u + i];`);
  // t = G·g (4×3), then u = t·Gᵀ (4×4): G applied to the columns, then to the rows.
  const t = range(3).map((c) => gm(range(3).map((r) => g[r]![c]!)));
  range(4).forEach((r) => range(3).forEach((c) => lines.push(`let t${r}${c} = ${t[c]![r]};`)));
  range(4).forEach((r) => {
    const u = gm(range(3).map((c) => `t${r}${c}`));
    range(4).forEach((c) => lines.push(`U4[${(r * 4 + c) * n}u + i] = ${u[c]};`));
  });
  return `@group(0) @binding(0) var<storage, read> W4: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> U4: array<vec4f>;
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${n}u) { return; }
  ${lines.join('\n  ')}
}`;
}

/**
 * V [16, chunk·T, Cin] for images n0 … n0 + chunk − 1 (n0 in params; images past N read as zeros); one invocation
 * per (block, 4 channels).
 */
export function inputTransformCode(g: Conv2dGeometry, p: WinogradPlan): string {
  const C4 = g.Cin / 4;
  const P = p.chunk * p.T;
  const lines: string[] = [];
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      lines.push(
        `let y${r}${c} = iy0 + ${r}; let x${r}${c} = ix0 + ${c};`,
        `let d${r}${c} = select(vec4f(0.0), X4[min(((n * ${g.H}u + u32(y${r}${c})) * ${g.W}u + u32(x${r}${c})) * ${C4}u + c4, ${g.N * g.H * g.W * C4 - 1}u)], ok && u32(y${r}${c}) < ${g.H}u && u32(x${r}${c}) < ${g.W}u);`,
      );
    }
  }
  // s = Bᵀ·d (columns), then v = s·B (rows).
  const s = range(4).map((c) => bt(range(4).map((r) => `d${r}${c}`)));
  range(4).forEach((r) => range(4).forEach((c) => lines.push(`let s${r}${c} = ${s[c]![r]};`)));
  range(4).forEach((r) => {
    const v = bt(range(4).map((c) => `s${r}${c}`));
    range(4).forEach((c) => lines.push(`V4[${(r * 4 + c) * P * C4}u + i] = ${v[c]};`));
  });
  return `@group(0) @binding(0) var<storage, read> X4: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> V4: array<vec4f>;
@group(0) @binding(2) var<storage, read> params: array<u32>;
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${P * C4}u) { return; }
  let c4 = i % ${C4}u;
  let b = i / ${C4}u;
  let n = params[0] + b / ${p.T}u;
  let ok = n < ${g.N}u;
  let t = b % ${p.T}u;
  let iy0 = i32((t / ${p.TW}u) * 2u) - ${g.padTop};
  let ix0 = i32((t % ${p.TW}u) * 2u) - ${g.padLeft};
  ${lines.join('\n  ')}
}`;
}

/** y (with bias and ReLU) from M [16, chunk·T, Cout]; one invocation per (block, 4 output channels). */
export function outputTransformCode(g: Conv2dGeometry, p: WinogradPlan, hasBias: boolean, relu: boolean, slice?: ChannelSlice): string {
  const C4 = g.Cout / 4;
  const P = p.chunk * p.T;
  const stride4 = (slice?.stride ?? g.Cout) / 4;
  const offset4 = (slice?.offset ?? 0) / 4;
  const lines: string[] = [];
  range(16).forEach((k) => lines.push(`let m${k >> 2}${k & 3} = M4[${k * P * C4}u + i];`));
  // a = Aᵀ·m (columns, 2×4), then y = a·A (rows, 2×2).
  const a = range(4).map((c) => at(range(4).map((r) => `m${r}${c}`)));
  range(2).forEach((r) => range(4).forEach((c) => lines.push(`let a${r}${c} = ${a[c]![r]};`)));
  range(2).forEach((r) => {
    const y = at(range(4).map((c) => `a${r}${c}`));
    range(2).forEach((c) => {
      let v = y[c]!;
      if (hasBias) v = `${v} + bias`;
      if (relu) v = `max(${v}, vec4f(0.0))`;
      lines.push(
        `if (oy0 + ${r}u < ${g.OH}u && ox0 + ${c}u < ${g.OW}u) { out4[((n * ${g.OH}u + oy0 + ${r}u) * ${g.OW}u + ox0 + ${c}u) * ${stride4}u + ${offset4}u + c4] = ${v}; }`,
      );
    });
  });
  return `@group(0) @binding(0) var<storage, read> M4: array<vec4f>;
${hasBias ? '@group(0) @binding(1) var<storage, read> bias4: array<vec4f>;\n' : ''}@group(0) @binding(${hasBias ? 2 : 1}) var<storage, read_write> out4: array<vec4f>;
@group(0) @binding(${hasBias ? 3 : 2}) var<storage, read> params: array<u32>;
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${P * C4}u) { return; }
  let c4 = i % ${C4}u;
  let b = i / ${C4}u;
  let n = params[0] + b / ${p.T}u;
  if (n >= ${g.N}u) { return; }
  let t = b % ${p.T}u;
  let oy0 = (t / ${p.TW}u) * 2u;
  let ox0 = (t % ${p.TW}u) * 2u;
  ${hasBias ? 'let bias = bias4[c4];' : ''}
  ${lines.join('\n  ')}
}`;
}

interface CachedFilter {
  version: number;
  u: Tensor;
}

const filterCache = new WeakMap<Storage, CachedFilter>();

/**
 * U for `w`, reused while the filter's buffer keeps its version (the engine counts every write into a buffer), so a
 * frozen layer transforms its filters once and a trained one once per update. Freed with the filter.
 */
export function transformedFilter(e: Engine, w: Tensor): Tensor {
  const [, , Cin, Cout] = w.shape as [number, number, number, number];
  const storage = w.storage;
  const cached = filterCache.get(storage);
  if (cached && !cached.u.disposed && cached.version === storage.version) return cached.u;
  if (cached && !cached.u.disposed) cached.u.dispose();
  const u = e.keep(e.empty([16, Cin, Cout], 'f32', 'winograd_u'));
  e.run({ name: 'winograd_filter', code: filterTransformCode(Cin, Cout), bindings: [w, u], workgroups: grid((Cin * Cout) / 4, WG) });
  if (!cached) storage.onRelease.push(() => filterCache.get(storage)?.u.dispose());
  filterCache.set(storage, { version: storage.version, u });
  return u;
}

/** The largest V or M buffer a chunk may use. */
export function winogradMaxBytes(e: Engine): number {
  const l = e.device.limits;
  return Math.min(l.maxStorageBufferBindingSize, l.maxBufferSize, 256 * 2 ** 20);
}

/** y = x ⊛ w + b (ReLU) for a geometry `winogradApplies` accepted; false (nothing run) when no chunk fits. */
export function winogradConv2d(
  e: Engine,
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  y: Tensor,
  g: Conv2dGeometry,
  relu: boolean,
  slice?: ChannelSlice,
  maxBytes = winogradMaxBytes(e),
): boolean {
  const p = winogradPlan(g, maxBytes);
  if (!p) return false;
  const u = transformedFilter(e, w);
  const P = p.chunk * p.T;
  const v = e.empty([16, P, g.Cin], 'f32', 'winograd_v');
  const m = e.empty([16, P, g.Cout], 'f32', 'winograd_m');
  const inCode = inputTransformCode(g, p);
  const outCode = outputTransformCode(g, p, b !== null, relu, slice);
  for (let c = 0; c < p.chunks; c++) {
    const params = new Uint32Array([c * p.chunk]);
    e.run({ name: 'winograd_input', code: inCode, bindings: [x, v], params, workgroups: grid((P * g.Cin) / 4, WG) });
    batchedMatmul(e, v, u, m);
    e.run({ name: 'winograd_output', code: outCode, bindings: b ? [m, b, y] : [m, y], params, workgroups: grid((P * g.Cout) / 4, WG) });
  }
  v.dispose();
  m.dispose();
  return true;
}
