/**
 * 2-D convolution as an implicit GEMM (no im2col buffer): NHWC input, HWIO filters (Keras), stride 1 or 2, padding
 * 'same' (Keras: output ceil(H/s), total padding max((out−1)·s + k − H, 0), the smaller half on top/left) or
 * 'valid', bias and a fused ReLU epilogue; and the two gradient kernels.
 *
 * All three are the broadcast GEMM of matmul.ts with convolution index maths in the loads:
 * - forward: rows = output pixels, columns = output channels, K = (ky, kx, ci); A = input patches (vec4 along ci,
 *   zero outside the image), B = filters (vec4 along co);
 * - gradient of the input: rows = input pixels, columns = input channels, K = (ky, kx, co); A = output gradient at
 *   the pixels each tap reaches (vec4 along co), B = filters read along co, so no transposed copy is needed;
 * - gradient of the filter: rows = (ky, kx, ci) (a row tile never straddles two taps), columns = output channels,
 *   K = output pixels; A = input pixels shifted by the tap (vec4 along ci), B = output gradient (vec4 along co).
 * The ReLU mask (gy·(y > 0)) and the bias gradient come from one pass (reluMaskColumnSums in matmul.ts) before the
 * gradient kernels: each gradient element is read by many GEMM tiles, so masking it once is cheaper than in every
 * tile's loads here.
 */
import type { Engine } from '../engine/engine.js';
import type { Tensor } from '../engine/tensor.js';
import {
  aReg,
  aSlotRow,
  aSlots,
  accDecls,
  bColsPerLane,
  bindingDecls,
  chooseTile,
  colOffset,
  epilogue,
  fmaChunk,
  gemmEntry,
  reluMaskColumnSums,
  tileCols,
  tileGrid,
  tileKey,
  type EpilogueSpec,
  type GemmPlan,
  type GemmTile,
} from './matmul.js';
import type { KernelCall } from '../engine/engine.js';
import { range } from './common.js';
import { tiledGemmCode, tiledLoad, tiledWorkgroups } from './gemm-tiled.js';
import { runGemm, TILED_CONFIGS, type GemmShape, type GemmVariant, type TiledVariant } from './gemm-variant.js';
import { winogradApplies, winogradConv2d, winogradEnabled, winogradGradInput } from './winograd.js';

export type Conv2dPadding = 'same' | 'valid';

export interface Conv2dGeometry {
  N: number;
  H: number;
  W: number;
  Cin: number;
  KH: number;
  KW: number;
  Cout: number;
  stride: 1 | 2;
  padTop: number;
  padLeft: number;
  OH: number;
  OW: number;
}

function axis(size: number, k: number, s: number, padding: Conv2dPadding): { out: number; pad: number } {
  if (padding === 'valid') return { out: Math.floor((size - k) / s) + 1, pad: 0 };
  const out = Math.ceil(size / s);
  return { out, pad: Math.floor(Math.max((out - 1) * s + k - size, 0) / 2) };
}

export function conv2dGeometry(xShape: readonly number[], wShape: readonly number[], stride: 1 | 2, padding: Conv2dPadding): Conv2dGeometry {
  if (xShape.length !== 4) throw new Error(`conv2d: input must be NHWC, got [${xShape.join(', ')}]`);
  if (wShape.length !== 4) throw new Error(`conv2d: filter must be HWIO, got [${wShape.join(', ')}]`);
  if (stride !== 1 && stride !== 2) throw new Error(`conv2d: stride must be 1 or 2, got ${String(stride)}`);
  if (padding !== 'same' && padding !== 'valid') throw new Error(`conv2d: padding must be 'same' or 'valid', got ${String(padding)}`);
  const [N, H, W, Cin] = xShape as [number, number, number, number];
  const [KH, KW, Ci, Cout] = wShape as [number, number, number, number];
  if (Ci !== Cin) throw new Error(`conv2d: filter [${wShape.join(', ')}] expects ${Ci} input channels, input [${xShape.join(', ')}] has ${Cin}`);
  if (N < 1 || H < 1 || W < 1 || Cin < 1 || KH < 1 || KW < 1 || Cout < 1) throw new Error(`conv2d: empty input [${xShape.join(', ')}] or filter [${wShape.join(', ')}]`);
  const v = axis(H, KH, stride, padding);
  const h = axis(W, KW, stride, padding);
  if (v.out < 1 || h.out < 1) throw new Error(`conv2d: input ${H}×${W} is smaller than the ${KH}×${KW} filter with 'valid' padding`);
  return { N, H, W, Cin, KH, KW, Cout, stride, padTop: v.pad, padLeft: h.pad, OH: v.out, OW: h.out };
}

/** The pipeline-cache key part of a geometry: every field (OH, OW and the pads carry the padding mode). */
export function geomKey(g: Conv2dGeometry): string {
  return `${g.N},${g.H},${g.W},${g.Cin},${g.KH},${g.KW},${g.Cout},${g.stride},${g.padTop},${g.padLeft},${g.OH},${g.OW}`;
}

/** Multiply-adds of the forward pass (each gradient has the same count). */
export function macs(g: Conv2dGeometry): number {
  return g.N * g.OH * g.OW * g.KH * g.KW * g.Cin * g.Cout;
}

/** Every tap of every output pixel lands inside the image (no padding), so loads need no validity test. */
function noPadding(g: Conv2dGeometry): boolean {
  return g.padTop === 0 && g.padLeft === 0 && (g.OH - 1) * g.stride + g.KH <= g.H && (g.OW - 1) * g.stride + g.KW <= g.W;
}

/**
 * `let va_s = …` for 'k' mode: 4 consecutive channels from `ch` of the pixel whose channel 0 is at float index
 * `base`, zero when `ok` is false and beyond `C` channels.
 */
function loadAlongChannels(s: number, buf: string, vec: boolean, base: string, ch: string, C: number, ok: string | null): string {
  let v: string;
  if (vec) v = `${buf}4[(${base} + ${ch}) / 4u]`;
  else {
    const el = (q: number) => {
      const x = `${buf}[${base} + min(${ch} + ${q}u, ${C - 1}u)]`;
      return C % 4 === 0 ? x : `select(0.0, ${x}, ${ch} + ${q}u < ${C}u)`;
    };
    v = `vec4f(${range(4).map(el).join(', ')})`;
  }
  return `let va_${s} = ${ok ? `select(vec4f(0.0), ${v}, ${ok})` : v};`;
}

function bufDecl(name: string, vec: boolean, access: 'read' | 'read_write' = 'read'): [string, 'read' | 'read_write', string] {
  return vec ? [`${name}4`, access, 'vec4f'] : [name, access, 'f32'];
}

interface TapLoop {
  p: GemmPlan;
  g: Conv2dGeometry;
  decls: [string, 'read' | 'read_write', string][];
  /** Row and column tiles. */
  blocks: [number, number];
  /** Per-workgroup lines before the loops, per-tap lines inside the (ky, kx) loops, per-chunk loads. */
  setup: string[];
  tap: string[];
  loads: string[];
  /** The filter offset of tap (ky, kx), and the K loop's variable and extent (4 at a time). */
  wb: string;
  k: [string, number];
  epilogue: EpilogueSpec;
}

/** The kernel shared by the forward and the input gradient: a GEMM whose K runs over the taps, then channels. */
function tapLoopKernel(t: TapLoop): string {
  const { p, g } = t;
  const tile = p.tile;
  const [rowBlocks, colBlocks] = t.blocks;
  const [kv, kn] = t.k;
  const { enable, entry } = gemmEntry(tile);
  return `${enable}${bindingDecls(t.decls)}
${entry}
  if (wg >= ${rowBlocks * colBlocks}u) { return; }
  let row0 = (wg / ${colBlocks}u) * ${tile.TM}u;
  let col0 = (wg % ${colBlocks}u) * ${tileCols(tile)}u;
  ${t.setup.join('\n  ')}
  ${accDecls(p)}
  for (var ky = 0u; ky < ${g.KH}u; ky++) {
    for (var kx = 0u; kx < ${g.KW}u; kx++) {
      ${t.tap.join('\n      ')}
      let wb = ${t.wb};
      for (var ${kv} = 0u; ${kv} < ${kn}u; ${kv} += 4u) {
        ${t.loads.join('\n        ')}
        ${fmaChunk(p)}
      }
    }
  }
  ${epilogue(p, t.epilogue)}
}`;
}

// ------------------------------------------------------------------ the workgroup-memory variant (gemm-tiled.ts)

/** WGSL: the input pixel (n, iy, ix) of output pixel `p` through tap (ky, kx); returns `zero` outside the image. */
function tapPixel(g: Conv2dGeometry, p: string, ky: string, kx: string, zero: string): string {
  return `let ox = ${p} % ${g.OW}u; let t = ${p} / ${g.OW}u; let oy = t % ${g.OH}u; let n = t / ${g.OH}u;
  let iy = i32(oy * ${g.stride}u + ${ky}) - ${g.padTop}; let ix = i32(ox * ${g.stride}u + ${kx}) - ${g.padLeft};
  if (u32(iy) >= ${g.H}u || u32(ix) >= ${g.W}u) { return ${zero}; }`;
}

type ConvFamily = 'conv2d_fwd' | 'conv2d_grad_input' | 'conv2d_grad_filter';

/** The GEMM a convolution kernel computes (rows, columns, depth). */
function convGemmShape(family: ConvFamily, g: Conv2dGeometry): GemmShape {
  if (family === 'conv2d_fwd') return { family, M: g.N * g.OH * g.OW, N: g.Cout, K: g.KH * g.KW * g.Cin, batch: 1 };
  if (family === 'conv2d_grad_input') return { family, M: g.N * g.H * g.W, N: g.Cin, K: g.KH * g.KW * g.Cout, batch: 1 };
  return { family, M: g.KH * g.KW * g.Cin, N: g.Cout, K: g.N * g.OH * g.OW, batch: 1 };
}

function tiledConvCall(family: ConvFamily, v: TiledVariant, g: Conv2dGeometry, bindings: Tensor[], fwd?: { bias: boolean; relu: boolean; slice?: ChannelSlice }): KernelCall {
  const cfg = TILED_CONFIGS[v];
  const s = convGemmShape(family, g);
  const buf = (name: string, vec: boolean, rw = false) => [vec ? `${name}4` : name, rw ? 'read_write' : 'read', vec ? 'vec4f' : 'f32'] as [string, 'read' | 'read_write', string];
  // Four consecutive K (or, for the filter gradient's A, M) indices are four consecutive channels of one pixel or tap.
  const ci4 = g.Cin % 4 === 0;
  const co4 = g.Cout % 4 === 0;
  const AB = 'm: u32, k: u32';
  const BB = 'k: u32, n: u32';
  let decls: [string, 'read' | 'read_write', string][];
  let functions: string;
  let aVec: boolean;
  let bVec: boolean;
  let extra = '';
  if (family === 'conv2d_fwd') {
    const o = fwd!;
    const stride = o.slice?.stride ?? g.Cout;
    const offset = o.slice?.offset ?? 0;
    [aVec, bVec] = [ci4, co4];
    decls = [buf('X', aVec), buf('Wt', bVec), ...(o.bias ? [buf('bias', false)] : []), buf('out', false, true)];
    let v2 = o.bias ? 'v + bias[n]' : 'v';
    if (o.relu) v2 = `max(${v2}, 0.0)`;
    functions = `${tiledLoad('A', AB, 'X', aVec, (zero) => `let ci = k % ${g.Cin}u; let tap = k / ${g.Cin}u; let kx = tap % ${g.KW}u; let ky = tap / ${g.KW}u;
  ${tapPixel(g, 'm', 'ky', 'kx', zero)}
  let idx = ((n * ${g.H}u + u32(iy)) * ${g.W}u + u32(ix)) * ${g.Cin}u + ci;`)}
${tiledLoad('B', BB, 'Wt', bVec, () => `let idx = k * ${g.Cout}u + n;`)}
fn storeC(b: u32, m: u32, n: u32, v: f32) { out[m * ${stride}u + ${offset}u + n] = ${v2}; }`;
    extra = `${o.bias ? 1 : 0}${o.relu ? 1 : 0},${o.slice ? `${o.slice.stride}+${o.slice.offset}` : '-'}`;
  } else if (family === 'conv2d_grad_input') {
    [aVec, bVec] = [co4, co4];
    decls = [buf('GY', aVec), buf('Wt', bVec), buf('out', false, true)];
    const s2 = g.stride === 2;
    functions = `${tiledLoad('A', AB, 'GY', aVec, (zero) => `let co = k % ${g.Cout}u; let tap = k / ${g.Cout}u; let kx = tap % ${g.KW}u; let ky = tap / ${g.KW}u;
  let ix = m % ${g.W}u; let t = m / ${g.W}u; let iy = t % ${g.H}u; let n = t / ${g.H}u;
  let oyn = i32(iy) + ${g.padTop} - i32(ky); let oxn = i32(ix) + ${g.padLeft} - i32(kx);
  ${s2 ? `if (oyn < 0 || oxn < 0 || ((oyn | oxn) & 1) != 0) { return ${zero}; } let oy = u32(oyn) / 2u; let ox = u32(oxn) / 2u;` : 'let oy = u32(oyn); let ox = u32(oxn);'}
  if (oy >= ${g.OH}u || ox >= ${g.OW}u) { return ${zero}; }
  let idx = ((n * ${g.OH}u + oy) * ${g.OW}u + ox) * ${g.Cout}u + co;`)}
${tiledLoad('B', BB, 'Wt', bVec, () => `let co = k % ${g.Cout}u; let tap = k / ${g.Cout}u; let idx = (tap * ${g.Cin}u + n) * ${g.Cout}u + co;`)}
fn storeC(b: u32, m: u32, n: u32, v: f32) { out[m * ${g.Cin}u + n] = v; }`;
  } else {
    [aVec, bVec] = [ci4, co4];
    decls = [buf('X', aVec), buf('GY', bVec), buf('out', false, true)];
    functions = `${tiledLoad('A', AB, 'X', aVec, (zero) => `let ci = m % ${g.Cin}u; let tap = m / ${g.Cin}u; let kx = tap % ${g.KW}u; let ky = tap / ${g.KW}u;
  ${tapPixel(g, 'k', 'ky', 'kx', zero)}
  let idx = ((n * ${g.H}u + u32(iy)) * ${g.W}u + u32(ix)) * ${g.Cin}u + ci;`)}
${tiledLoad('B', BB, 'GY', bVec, () => `let idx = k * ${g.Cout}u + n;`)}
fn storeC(b: u32, m: u32, n: u32, v: f32) { out[m * ${g.Cout}u + n] = v; }`;
  }
  return {
    name: family,
    key: `${family}_${v}:${geomKey(g)},${extra}`,
    // Contiguous in memory: the input's channels (A along k; along m for the filter gradient, whose rows are
    // (tap, ci)), and B's output channels, except the input gradient's filters, read along co (k).
    code: () =>
      tiledGemmCode(cfg, {
        ...s,
        bindings: bindingDecls(decls),
        functions,
        aAlongK: family !== 'conv2d_grad_filter',
        bAlongN: family !== 'conv2d_grad_input',
        aVec4: aVec,
        bVec4: bVec,
      }),
    bindings,
    workgroups: tiledWorkgroups(cfg, s),
  };
}

// ------------------------------------------------------------------ forward

/** Where the output channels go: each output pixel's row of `stride` channels, from channel `offset`. */
export interface ChannelSlice {
  stride: number;
  offset: number;
}

export function conv2dForwardCode(g: Conv2dGeometry, tile: GemmTile, hasBias: boolean, relu: boolean, slice?: ChannelSlice): string {
  const M = g.N * g.OH * g.OW;
  const p: GemmPlan = { tile, a: 'k', b: 'n', aVec: g.Cin % 4 === 0, bVec: g.Cout % 4 === 0 };
  const outStride = slice?.stride ?? g.Cout;
  const outOffset = slice?.offset ?? 0;
  const vecOut = p.bVec && outStride % 4 === 0 && outOffset % 4 === 0;
  const padded = !noPadding(g);
  const decls = [bufDecl('X', p.aVec), bufDecl('Wt', p.bVec)];
  if (hasBias) decls.push(bufDecl('bias', vecOut));
  decls.push(bufDecl('out', vecOut, 'read_write'));
  const rowBlocks = Math.ceil(M / tile.TM);
  const colBlocks = Math.ceil(g.Cout / tileCols(tile));
  const setup: string[] = [];
  const tap: string[] = [];
  const loads: string[] = [];
  for (let s = 0; s < aSlots(p); s++) {
    setup.push(
      `let m_${s} = min(row0 + ${aSlotRow(p, s)}, ${M - 1}u); let ox_${s} = m_${s} % ${g.OW}u; let t_${s} = m_${s} / ${g.OW}u;`,
      `let iy0_${s} = i32((t_${s} % ${g.OH}u) * ${g.stride}u) - ${g.padTop}; let ix0_${s} = i32(ox_${s} * ${g.stride}u) - ${g.padLeft}; let nh_${s} = (t_${s} / ${g.OH}u) * ${g.H}u;`,
    );
    tap.push(`let iy_${s} = iy0_${s} + i32(ky); let ix_${s} = ix0_${s} + i32(kx);`);
    if (padded) {
      tap.push(`let ok_${s} = u32(iy_${s}) < ${g.H}u && u32(ix_${s}) < ${g.W}u;`);
      tap.push(`let xb_${s} = select(0u, ((nh_${s} + u32(iy_${s})) * ${g.W}u + u32(ix_${s})) * ${g.Cin}u, ok_${s});`);
    } else tap.push(`let xb_${s} = ((nh_${s} + u32(iy_${s})) * ${g.W}u + u32(ix_${s})) * ${g.Cin}u;`);
    loads.push(loadAlongChannels(s, 'X', p.aVec, `xb_${s}`, 'ci', g.Cin, padded ? `ok_${s}` : null));
  }
  for (let j = 0; j < tile.TNv; j++) {
    if (p.bVec) setup.push(`let bc_${j} = min(col0 + ${colOffset(p, j, 0)}, ${g.Cout - 4}u) / 4u;`);
    else setup.push(range(4).map((c) => `let bc_${j}_${c} = min(col0 + ${colOffset(p, j, c)}, ${g.Cout - 1}u);`).join(' '));
  }
  const kRow = (q: number) => (g.Cin % 4 === 0 ? `(wb + ci + ${q}u)` : `(wb + min(ci + ${q}u, ${g.Cin - 1}u))`);
  for (let q = 0; q < 4; q++) {
    for (let j = 0; j < tile.TNv; j++) {
      if (p.bVec) loads.push(`let b_${q}_${j} = Wt4[${kRow(q)} * ${g.Cout / 4}u + bc_${j}];`);
      else loads.push(`let b_${q}_${j} = vec4f(${range(4).map((c) => `Wt[${kRow(q)} * ${g.Cout}u + bc_${j}_${c}]`).join(', ')});`);
    }
  }
  return tapLoopKernel({
    p,
    g,
    decls,
    blocks: [rowBlocks, colBlocks],
    setup,
    tap,
    wb: `(ky * ${g.KW}u + kx) * ${g.Cin}u`,
    k: ['ci', g.Cin],
    loads,
    epilogue: {
      N: g.Cout,
      col0: 'col0',
      row: (r) => ({ guard: `row0 + ${r} < ${M}u`, base: `(row0 + ${r}) * ${outStride}u + ${outOffset}u` }),
      bias: hasBias ? (vecOut ? 'bias4' : 'bias') : null,
      relu,
      vecOut,
    },
  });
}

export interface Conv2dForwardOptions {
  stride?: 1 | 2;
  padding?: Conv2dPadding;
  relu?: boolean;
  /** Write into this tensor (shape [N, OH, OW, Cout]) instead of a new one. */
  out?: Tensor;
  /**
   * With `out` of shape [N, OH, OW, C] (C ≥ offset + Cout): write this convolution's channels at
   * [offset, offset + Cout) of each pixel and leave the others alone, so convolutions that are concatenated along
   * channels (SqueezeNet's Fire expand branches) can write their halves of one tensor with no concat pass.
   */
  outChannelOffset?: number;
  /**
   * 'auto' (default): Winograd F(4×4 or 2×2, 3×3) for 3×3 stride-1 convolutions with ≥ 16 input channels (winograd.ts)
   * unless `setWinograd(engine, false)` turned it off, else the direct implicit GEMM; 'direct' forces the latter.
   */
  algorithm?: 'auto' | 'direct';
}

function checkOut(out: Tensor | undefined, shape: number[], what: string): void {
  if (out && (out.rank !== shape.length || out.shape.some((d, i) => d !== shape[i]))) {
    throw new Error(`${what}: output must be [${shape.join(', ')}], got [${out.shape.join(', ')}]`);
  }
}

/** y = x ⊛ w + b (ReLU'd when `relu`): x [N,H,W,Cin], w [KH,KW,Cin,Cout], b [Cout] or null. */
export function conv2dForward(e: Engine, x: Tensor, w: Tensor, b: Tensor | null, opts: Conv2dForwardOptions = {}): Tensor {
  const g = conv2dGeometry(x.shape, w.shape, opts.stride ?? 1, opts.padding ?? 'same');
  if (b && (b.rank !== 1 || b.size !== g.Cout)) throw new Error(`conv2d: bias must be [${g.Cout}], got [${b.shape.join(', ')}]`);
  const shape = [g.N, g.OH, g.OW, g.Cout];
  let slice: ChannelSlice | undefined;
  if (opts.outChannelOffset !== undefined) {
    const out = opts.out;
    const C = out?.shape[3] ?? 0;
    const off = opts.outChannelOffset;
    if (!out || !Number.isInteger(off) || off < 0 || off + g.Cout > C) {
      throw new Error(`conv2d: outChannelOffset ${off} needs an output [${g.N}, ${g.OH}, ${g.OW}, ≥ ${off + g.Cout}]`);
    }
    checkOut(out, [g.N, g.OH, g.OW, C], 'conv2d');
    slice = { stride: C, offset: off };
  } else checkOut(opts.out, shape, 'conv2d');
  const y = opts.out ?? e.empty(shape, 'f32', 'conv2d');
  if ((opts.algorithm ?? 'auto') === 'auto' && winogradEnabled(e) && winogradApplies(g, slice) && winogradConv2d(e, x, w, b, y, g, opts.relu ?? false, slice)) return y;
  const M = g.N * g.OH * g.OW;
  const relu = opts.relu ?? false;
  runGemm(e, convGemmShape('conv2d_fwd', g), b ? [x, w, b, y] : [x, w, y], (v: GemmVariant, bs) => {
    if (v !== 'lanes') return tiledConvCall('conv2d_fwd', v, g, bs, { bias: b !== null, relu, ...(slice ? { slice } : {}) });
    const tile = chooseTile(e, M, macs(g));
    return {
      name: 'conv2d_fwd',
      key: `conv2d_fwd:${geomKey(g)},${tileKey(tile)},${b !== null ? 1 : 0}${relu ? 1 : 0},${slice ? `${slice.stride}+${slice.offset}` : '-'}`,
      code: () => conv2dForwardCode(g, tile, b !== null, relu, slice),
      bindings: bs,
      workgroups: tileGrid(tile, M, g.Cout),
    };
  });
  return y;
}

// ------------------------------------------------------------------ gradient of the input

export function conv2dGradInputCode(g: Conv2dGeometry, tile: GemmTile): string {
  const M = g.N * g.H * g.W;
  const vec = g.Cout % 4 === 0;
  const p: GemmPlan = { tile, a: 'k', b: 'k', aVec: vec, bVec: vec };
  const decls = [bufDecl('GY', vec), bufDecl('Wt', vec), bufDecl('out', false, 'read_write')];
  const rowBlocks = Math.ceil(M / tile.TM);
  const colBlocks = Math.ceil(g.Cin / tileCols(tile));
  const s2 = g.stride === 2;
  const setup: string[] = [];
  const tap: string[] = [];
  const loads: string[] = [];
  for (let s = 0; s < aSlots(p); s++) {
    setup.push(
      `let m_${s} = min(row0 + ${aSlotRow(p, s)}, ${M - 1}u); let t_${s} = m_${s} / ${g.W}u;`,
      `let ix_${s} = i32(m_${s} % ${g.W}u) + ${g.padLeft}; let iy_${s} = i32(t_${s} % ${g.H}u) + ${g.padTop}; let no_${s} = (t_${s} / ${g.H}u) * ${g.OH}u;`,
    );
    // Output pixel (oy, ox) reaches input (iy, ix) through tap (ky, kx) when oy·s + ky − padTop = iy.
    tap.push(`let oyn_${s} = iy_${s} - i32(ky); let oxn_${s} = ix_${s} - i32(kx);`);
    if (s2) {
      tap.push(`let oy_${s} = u32(oyn_${s}) / 2u; let ox_${s} = u32(oxn_${s}) / 2u;`);
      tap.push(`let ok_${s} = oyn_${s} >= 0 && oxn_${s} >= 0 && (u32(oyn_${s} | oxn_${s}) & 1u) == 0u && oy_${s} < ${g.OH}u && ox_${s} < ${g.OW}u;`);
    } else {
      tap.push(`let oy_${s} = u32(oyn_${s}); let ox_${s} = u32(oxn_${s});`);
      tap.push(`let ok_${s} = oy_${s} < ${g.OH}u && ox_${s} < ${g.OW}u;`);
    }
    tap.push(`let gb_${s} = select(0u, ((no_${s} + oy_${s}) * ${g.OW}u + ox_${s}) * ${g.Cout}u, ok_${s});`);
    loads.push(loadAlongChannels(s, 'GY', vec, `gb_${s}`, 'co', g.Cout, `ok_${s}`));
  }
  for (let jj = 0; jj < bColsPerLane(p); jj++) {
    setup.push(`let bc_${jj} = min(col0 + ${colOffset(p, Math.floor(jj / 4), jj % 4)}, ${g.Cin - 1}u) * ${g.Cout}u;`);
    const base = `wb + bc_${jj}`;
    if (vec) loads.push(`let vb_${jj} = Wt4[(${base} + co) / 4u];`);
    else loads.push(`let vb_${jj} = vec4f(${range(4).map((q) => `Wt[${base} + min(co + ${q}u, ${g.Cout - 1}u)]`).join(', ')});`);
  }
  return tapLoopKernel({
    p,
    g,
    decls,
    blocks: [rowBlocks, colBlocks],
    setup,
    tap,
    wb: `(ky * ${g.KW}u + kx) * ${g.Cin * g.Cout}u`,
    k: ['co', g.Cout],
    loads,
    epilogue: {
      N: g.Cin,
      col0: 'col0',
      row: (r) => ({ guard: `row0 + ${r} < ${M}u`, base: `(row0 + ${r}) * ${g.Cin}u` }),
      bias: null,
      relu: false,
      vecOut: false,
    },
  });
}

/**
 * dx for the (already ReLU-masked) output gradient gy [N,OH,OW,Cout]; returns [N,H,W,Cin]. 3×3 stride-1 layers go
 * through Winograd (the flipped filters, winograd.ts) unless `setWinograd(engine, false)` turned it off.
 */
export function conv2dGradInput(e: Engine, gy: Tensor, w: Tensor, g: Conv2dGeometry, out?: Tensor): Tensor {
  const shape = [g.N, g.H, g.W, g.Cin];
  checkOut(out, shape, 'conv2d grad input');
  const gx = out ?? e.empty(shape, 'f32', 'conv2d_gx');
  if (winogradEnabled(e) && winogradGradInput(e, gy, w, gx, g)) return gx;
  const M = g.N * g.H * g.W;
  runGemm(e, convGemmShape('conv2d_grad_input', g), [gy, w, gx], (v: GemmVariant, bs) => {
    if (v !== 'lanes') return tiledConvCall('conv2d_grad_input', v, g, bs);
    const tile = chooseTile(e, M, macs(g), 32);
    return { name: 'conv2d_grad_input', key: `conv2d_grad_input:${geomKey(g)},${tileKey(tile)}`, code: () => conv2dGradInputCode(g, tile), bindings: bs, workgroups: tileGrid(tile, M, g.Cin) };
  });
  return gx;
}

// ------------------------------------------------------------------ gradient of the filter

export function conv2dGradFilterCode(g: Conv2dGeometry, tile: GemmTile): string {
  const P = g.N * g.OH * g.OW;
  const p: GemmPlan = { tile, a: 'm', b: 'n', aVec: g.Cin % 4 === 0, bVec: g.Cout % 4 === 0 };
  const vecOut = p.bVec;
  const padded = !noPadding(g);
  const decls = [bufDecl('X', p.aVec), bufDecl('GY', p.bVec), bufDecl('out', vecOut, 'read_write')];
  const ciBlocks = Math.ceil(g.Cin / tile.TM);
  const rowBlocks = g.KH * g.KW * ciBlocks;
  const colBlocks = Math.ceil(g.Cout / tileCols(tile));
  const setup: string[] = [];
  for (let s = 0; s < aSlots(p); s++) {
    setup.push(p.aVec ? `let ci_${s} = min(ci0 + ${aSlotRow(p, s)}, ${g.Cin - 4}u);` : `let ci_${s} = ci0 + ${aSlotRow(p, s)};`);
  }
  for (let j = 0; j < tile.TNv; j++) {
    if (p.bVec) setup.push(`let bc_${j} = min(col0 + ${colOffset(p, j, 0)}, ${g.Cout - 4}u) / 4u;`);
    else setup.push(range(4).map((c) => `let bc_${j}_${c} = min(col0 + ${colOffset(p, j, c)}, ${g.Cout - 1}u);`).join(' '));
  }
  const chunk: string[] = [];
  const tail = P % 4 !== 0;
  for (let q = 0; q < 4; q++) {
    // The q-th output pixel of the chunk, the input pixel this tap reads for it, and whether that lies in the image.
    chunk.push(
      `let p_${q} = ${tail ? `min(pix + ${q}u, ${P - 1}u)` : `pix + ${q}u`}; let ox_${q} = p_${q} % ${g.OW}u; let t_${q} = p_${q} / ${g.OW}u;`,
      `let iy_${q} = i32((t_${q} % ${g.OH}u) * ${g.stride}u + ky) - ${g.padTop}; let ix_${q} = i32(ox_${q} * ${g.stride}u + kx) - ${g.padLeft};`,
    );
    const conds = [...(padded ? [`u32(iy_${q}) < ${g.H}u`, `u32(ix_${q}) < ${g.W}u`] : []), ...(tail ? [`pix + ${q}u < ${P}u`] : [])];
    const ok = conds.length ? conds.join(' && ') : null;
    const pixel = `((t_${q} / ${g.OH}u) * ${g.H}u + u32(iy_${q})) * ${g.W}u + u32(ix_${q})`;
    chunk.push(ok ? `let ok_${q} = ${ok}; let xb_${q} = select(0u, (${pixel}) * ${g.Cin}u, ok_${q});` : `let xb_${q} = (${pixel}) * ${g.Cin}u;`);
    for (let s = 0; s < aSlots(p); s++) {
      let v = p.aVec
        ? `X4[(xb_${q} + ci_${s}) / 4u]`
        : `vec4f(${range(4).map((c) => `X[xb_${q} + min(ci_${s} + ${c}u, ${g.Cin - 1}u)]`).join(', ')})`;
      if (ok) v = `select(vec4f(0.0), ${v}, ok_${q})`;
      chunk.push(`let ${aReg(p, s, q)} = ${v};`);
    }
    for (let j = 0; j < tile.TNv; j++) {
      if (p.bVec) chunk.push(`let b_${q}_${j} = GY4[p_${q} * ${g.Cout / 4}u + bc_${j}];`);
      else chunk.push(`let b_${q}_${j} = vec4f(${range(4).map((c) => `GY[p_${q} * ${g.Cout}u + bc_${j}_${c}]`).join(', ')});`);
    }
  }
  const { enable, entry } = gemmEntry(tile);
  return `${enable}${bindingDecls(decls)}
${entry}
  if (wg >= ${rowBlocks * colBlocks}u) { return; }
  let rb = wg / ${colBlocks}u;
  let tap = rb / ${ciBlocks}u;
  let ky = tap / ${g.KW}u;
  let kx = tap % ${g.KW}u;
  let ci0 = (rb % ${ciBlocks}u) * ${tile.TM}u;
  let col0 = (wg % ${colBlocks}u) * ${tileCols(tile)}u;
  ${setup.join('\n  ')}
  ${accDecls(p)}
  for (var pix = 0u; pix < ${P}u; pix += 4u) {
    ${chunk.join('\n    ')}
    ${fmaChunk(p)}
  }
  ${epilogue(p, {
    N: g.Cout,
    col0: 'col0',
    row: (r) => ({ guard: `ci0 + ${r} < ${g.Cin}u`, base: `(tap * ${g.Cin}u + ci0 + ${r}) * ${g.Cout}u` }),
    bias: null,
    relu: false,
    vecOut,
  })}
}`;
}

/** dw [KH,KW,Cin,Cout] for input x and the (already ReLU-masked) output gradient gy. */
export function conv2dGradFilter(e: Engine, x: Tensor, gy: Tensor, g: Conv2dGeometry, out?: Tensor): Tensor {
  const shape = [g.KH, g.KW, g.Cin, g.Cout];
  checkOut(out, shape, 'conv2d grad filter');
  const gw = out ?? e.empty(shape, 'f32', 'conv2d_gw');
  runGemm(e, convGemmShape('conv2d_grad_filter', g), [x, gy, gw], (v: GemmVariant, bs) => {
    if (v !== 'lanes') return tiledConvCall('conv2d_grad_filter', v, g, bs);
    const tile = chooseTile(e, g.Cin, macs(g), 32);
    const rows = g.KH * g.KW * Math.ceil(g.Cin / tile.TM) * tile.TM;
    return { name: 'conv2d_grad_filter', key: `conv2d_grad_filter:${geomKey(g)},${tileKey(tile)}`, code: () => conv2dGradFilterCode(g, tile), bindings: bs, workgroups: tileGrid(tile, rows, g.Cout) };
  });
  return gw;
}

// ------------------------------------------------------------------ the whole backward

export interface Conv2dBackwardRequest {
  /** The forward output, when the forward applied ReLU (its sign masks gy). */
  y: Tensor | null;
  input: boolean;
  filter: boolean;
  bias: boolean;
}

/**
 * The gradients a conv2d layer needs: masks gy by the ReLU (once), then runs only the requested kernels.
 * Intermediates are disposed; returned tensors are new. `x` is read only for the filter gradient and `w` only for
 * the input gradient, so either may be null when that gradient is not requested.
 */
export function conv2dBackward(
  e: Engine,
  x: Tensor | null,
  w: Tensor | null,
  gy: Tensor,
  g: Conv2dGeometry,
  want: Conv2dBackwardRequest,
): { gx: Tensor | null; gw: Tensor | null; gb: Tensor | null } {
  if (want.input && !w) throw new Error('conv2d backward: the filter is needed for the input gradient');
  if (want.filter && !x) throw new Error('conv2d backward: the input is needed for the filter gradient');
  const needMasked = want.y !== null && (want.input || want.filter);
  const { masked, sums } = reluMaskColumnSums(e, gy, want.y, { masked: needMasked, sums: want.bias });
  const g2 = masked ?? gy;
  const gx = want.input ? conv2dGradInput(e, g2, w!, g) : null;
  const gw = want.filter ? conv2dGradFilter(e, x!, g2, g) : null;
  masked?.dispose();
  return { gx, gw, gb: sums };
}
