/**
 * 2-D convolution as an implicit GEMM (no im2col buffer): NHWC input, HWIO filters (Keras), stride 1 or 2, padding
 * 'same' (Keras: output ceil(H/s), total padding max((out−1)·s + k − H, 0), the smaller half on top/left) or
 * 'valid', bias and a fused ReLU or ReLU6 epilogue; and the two gradient kernels.
 *
 * All three are GEMMs described once (`convGemmSpec`, gemm-spec.ts's contract) with the convolution index maths in
 * their operands, and run by either GEMM kernel — the lanes kernel of matmul.ts or the workgroup tiles of
 * gemm-tiled.ts, whichever gemm-variant.ts chooses:
 * - forward: rows = output pixels, columns = output channels, K = (ky, kx, ci); A = input patches (vec4 along ci,
 *   zero outside the image), B = filters (vec4 along co);
 * - gradient of the input: rows = input pixels, columns = input channels, K = (ky, kx, co); A = output gradient at
 *   the pixels each tap reaches (vec4 along co), B = filters read along co, so no transposed copy is needed;
 * - gradient of the filter: rows = (ky, kx, ci), columns = output channels, K = output pixels; A = input pixels
 *   shifted by the tap (vec4 along ci), B = output gradient (vec4 along co).
 * A 1×1 stride-1 convolution without padding is a plain GEMM on the [N·H·W, C] views (dense operands, no taps, no
 * pixel index maths) in all three; a forward without horizontal padding whose channels are not a multiple of 4 (an
 * RGB input) takes kernel rows as taps, each KW·Cin contiguous floats (`mergesKx`).
 * The ReLU mask (gy·(y > 0), ReLU6: gy·(0 < y < 6)) and the bias gradient come from one pass (reluMaskColumnSums in matmul.ts) before the
 * gradient kernels: each gradient element is read by many GEMM tiles, so masking it once is cheaper than in every
 * tile's loads here.
 */
import type { Engine } from '../engine/engine.js';
import type { Tensor } from '../engine/tensor.js';
import { actKey, denseOperand, type GemmActivation, type GemmOperand, type GemmSpec } from './gemm-spec.js';
import { runGemm, type GemmShape, type GemmVariant } from './gemm-variant.js';
import { chooseTile, gemmCall, reluMaskColumnSums, type GemmTile } from './matmul.js';
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

/** A 1×1, stride-1 convolution without padding: output pixel = input pixel, so each GEMM is a plain product. */
function isPointwise(g: Conv2dGeometry): boolean {
  return g.KH === 1 && g.KW === 1 && g.stride === 1 && g.OH === g.H && g.OW === g.W;
}

/** Every tap of every output pixel lands inside the image (no padding), so loads need no validity test. */
function noPadding(g: Conv2dGeometry): boolean {
  return g.padTop === 0 && g.padLeft === 0 && (g.OH - 1) * g.stride + g.KH <= g.H && (g.OW - 1) * g.stride + g.KW <= g.W;
}

// ------------------------------------------------------------------ the GEMMs' operands (one description, both kernels)

/**
 * The input X at the pixel that output pixel `o` reads through the tap: channels contiguous, zero outside the image
 * (the forward's A, rows = output pixels; the filter gradient's A, depth = output pixels).
 */
function inputThroughTap(g: Conv2dGeometry, along: 'k' | 'x'): GemmOperand {
  const padded = !noPadding(g);
  return {
    name: 'X',
    along,
    vec: g.Cin % 4 === 0,
    pre: (o, s) =>
      `let ox${s} = ${o} % ${g.OW}u; let t${s} = ${o} / ${g.OW}u; let iy0${s} = i32((t${s} % ${g.OH}u) * ${g.stride}u) - ${g.padTop}; ` +
      `let ix0${s} = i32(ox${s} * ${g.stride}u) - ${g.padLeft}; let nh${s} = (t${s} / ${g.OH}u) * ${g.H}u;`,
    at: (_o, s, tap) => ({
      lines: `let iy${s} = iy0${s} + i32(${tap!.ky}); let ix${s} = ix0${s} + i32(${tap!.kx});`,
      ...(padded ? { ok: `u32(iy${s}) < ${g.H}u && u32(ix${s}) < ${g.W}u` } : {}),
      base: `((nh${s} + u32(iy${s})) * ${g.W}u + u32(ix${s})) * ${g.Cin}u`,
    }),
  };
}

/**
 * Whether a forward's taps along x can be merged into its depth (taps = kernel rows, depth = KW·Cin contiguous floats
 * per row: a row's KW pixels lie side by side in NHWC): no horizontal padding, and channels not a multiple of 4
 * (which are read as vec4s per tap already), e.g. the RGB first layer — 3 taps of 9 floats instead of 9 of 3.
 */
function mergesKx(g: Conv2dGeometry): boolean {
  return g.KW > 1 && g.Cin % 4 !== 0 && g.padLeft === 0 && (g.OW - 1) * g.stride + g.KW <= g.W;
}

/** The forward's A when `mergesKx`: input row segments of KW·Cin floats from the window's first pixel, zero outside. */
function inputRowThroughTap(g: Conv2dGeometry): GemmOperand {
  const padded = g.padTop > 0 || (g.OH - 1) * g.stride + g.KH > g.H;
  return {
    name: 'X',
    along: 'k',
    vec: false,
    pre: (o, s) =>
      `let ox${s} = ${o} % ${g.OW}u; let t${s} = ${o} / ${g.OW}u; let iy0${s} = i32((t${s} % ${g.OH}u) * ${g.stride}u) - ${g.padTop}; ` +
      `let ix0${s} = ox${s} * ${g.stride}u; let nh${s} = (t${s} / ${g.OH}u) * ${g.H}u;`,
    at: (_o, s, tap) => ({
      lines: `let iy${s} = iy0${s} + i32(${tap!.ky});`,
      ...(padded ? { ok: `u32(iy${s}) < ${g.H}u` } : {}),
      base: `((nh${s} + u32(iy${s})) * ${g.W}u + ix0${s}) * ${g.Cin}u`,
    }),
  };
}

/**
 * The output gradient GY at the output pixel whose tap reaches input pixel `o` (oy·stride + ky − padTop = iy):
 * channels contiguous, zero where no output pixel does (the input gradient's A).
 */
function outputGradThroughTap(g: Conv2dGeometry): GemmOperand {
  const s2 = g.stride === 2;
  return {
    name: 'GY',
    along: 'k',
    vec: g.Cout % 4 === 0,
    pre: (o, s) =>
      `let t${s} = ${o} / ${g.W}u; let ix${s} = i32(${o} % ${g.W}u) + ${g.padLeft}; let iy${s} = i32(t${s} % ${g.H}u) + ${g.padTop}; ` +
      `let no${s} = (t${s} / ${g.H}u) * ${g.OH}u;`,
    at: (_o, s, tap) => ({
      lines:
        `let oyn${s} = iy${s} - i32(${tap!.ky}); let oxn${s} = ix${s} - i32(${tap!.kx}); ` +
        (s2 ? `let oy${s} = u32(oyn${s}) / 2u; let ox${s} = u32(oxn${s}) / 2u;` : `let oy${s} = u32(oyn${s}); let ox${s} = u32(oxn${s});`),
      ok: `${s2 ? `oyn${s} >= 0 && oxn${s} >= 0 && (u32(oyn${s} | oxn${s}) & 1u) == 0u && ` : ''}oy${s} < ${g.OH}u && ox${s} < ${g.OW}u`,
      base: `((no${s} + oy${s}) * ${g.OW}u + ox${s}) * ${g.Cout}u`,
    }),
  };
}

/**
 * The filters Wt [KH, KW, Cin, Cout] at input channel `o` of the tap: output channels contiguous (the forward's B,
 * columns = output channels; the input gradient's B, read along its depth, so no transposed copy is needed).
 */
function filterOfTap(g: Conv2dGeometry, along: 'k' | 'x'): GemmOperand {
  return { name: 'Wt', along, vec: g.Cout % 4 === 0, at: (o, _s, tap) => ({ base: `((${tap!.ky} * ${g.KW}u + ${tap!.kx}) * ${g.Cin}u + ${o}) * ${g.Cout}u` }) };
}

export type ConvFamily = 'conv2d_fwd' | 'conv2d_grad_input' | 'conv2d_grad_filter';

/** The GEMM a convolution kernel computes (rows, columns, depth). */
function convGemmShape(family: ConvFamily, g: Conv2dGeometry): GemmShape {
  if (family === 'conv2d_fwd') return { family, M: g.N * g.OH * g.OW, N: g.Cout, K: g.KH * g.KW * g.Cin, batch: 1 };
  if (family === 'conv2d_grad_input') return { family, M: g.N * g.H * g.W, N: g.Cin, K: g.KH * g.KW * g.Cout, batch: 1 };
  return { family, M: g.KH * g.KW * g.Cin, N: g.Cout, K: g.N * g.OH * g.OW, batch: 1 };
}

/** What the forward adds: bias, the activation, and where its channels go. */
export interface ForwardEpilogue {
  bias: boolean;
  act: GemmActivation;
  slice?: ChannelSlice;
}

/**
 * The GEMM of each convolution kernel, for both kernel kinds:
 * - forward: rows = output pixels, columns = output channels, depth = taps × input channels;
 * - gradient of the input: rows = input pixels, columns = input channels, depth = taps × output channels;
 * - gradient of the filter: rows = taps × input channels, columns = output channels, depth = output pixels.
 */
export function convGemmSpec(family: ConvFamily, g: Conv2dGeometry, fwd: ForwardEpilogue = { bias: false, act: 'linear' }): GemmSpec {
  const s = convGemmShape(family, g);
  const taps = (axis: 'm' | 'k', inner: number) => ({ axis, KH: g.KH, KW: g.KW, inner });
  // A pointwise convolution: pixels × channels matrices, the filter [Cin, Cout] (plain products, no taps).
  const plain = isPointwise(g);
  if (family === 'conv2d_fwd') {
    const c = { rowStride: fwd.slice?.stride ?? g.Cout, offset: fwd.slice?.offset ?? 0, bias: fwd.bias, act: fwd.act };
    if (plain) return { ...s, a: denseOperand('X', 'k', g.Cin), b: denseOperand('Wt', 'x', g.Cout), c };
    if (mergesKx(g)) {
      // The filter [KH, KW·Cin, Cout] of kernel-row taps: filterOfTap of one tap column and KW·Cin channels.
      const rows = { ...g, KW: 1, Cin: g.KW * g.Cin };
      return { ...s, taps: { axis: 'k', KH: g.KH, KW: 1, inner: g.KW * g.Cin }, a: inputRowThroughTap(g), b: filterOfTap(rows, 'x'), c };
    }
    return { ...s, taps: taps('k', g.Cin), a: inputThroughTap(g, 'k'), b: filterOfTap(g, 'x'), c };
  }
  const linear = { bias: false, act: 'linear' } as const;
  if (family === 'conv2d_grad_input') {
    const c = { rowStride: g.Cin, ...linear };
    if (plain) return { ...s, a: denseOperand('GY', 'k', g.Cout), b: denseOperand('Wt', 'k', g.Cout), c };
    return { ...s, taps: taps('k', g.Cout), a: outputGradThroughTap(g), b: filterOfTap(g, 'k'), c };
  }
  const c = { rowStride: g.Cout, ...linear };
  if (plain) return { ...s, a: denseOperand('X', 'x', g.Cin), b: denseOperand('GY', 'x', g.Cout), c };
  return { ...s, taps: taps('m', g.Cin), a: inputThroughTap(g, 'x'), b: denseOperand('GY', 'x', g.Cout), c };
}

/** Dispatches one convolution GEMM in the variant chosen for it; `tile` gives the lanes kernel's tile. */
function runConvGemm(e: Engine, family: ConvFamily, g: Conv2dGeometry, bindings: Tensor[], tile: () => GemmTile, fwd?: ForwardEpilogue): void {
  const slice = fwd?.slice;
  const extra = fwd ? `,${fwd.bias ? 1 : 0}${actKey(fwd.act)},${slice ? `${slice.stride}+${slice.offset}` : '-'}` : '';
  const spec = convGemmSpec(family, g, fwd);
  runGemm(e, convGemmShape(family, g), bindings, (v: GemmVariant, bs) => gemmCall(v, family, `${family}:${geomKey(g)}${extra}`, spec, tile, bs));
}

// ------------------------------------------------------------------ forward

/** Where the output channels go: each output pixel's row of `stride` channels, from channel `offset`. */
export interface ChannelSlice {
  stride: number;
  offset: number;
}


export interface Conv2dForwardOptions {
  stride?: 1 | 2;
  padding?: Conv2dPadding;
  /** The fused activation (default 'linear'; `relu: true` is short for 'relu'). */
  activation?: GemmActivation;
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

/** y = act(x ⊛ w + b): x [N,H,W,Cin], w [KH,KW,Cin,Cout], b [Cout] or null. */
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
  const act = opts.activation ?? (opts.relu ? 'relu' : 'linear');
  if ((opts.algorithm ?? 'auto') === 'auto' && winogradEnabled(e) && winogradApplies(g, slice) && winogradConv2d(e, x, w, b, y, g, act, slice)) return y;
  const M = g.N * g.OH * g.OW;
  runConvGemm(e, 'conv2d_fwd', g, b ? [x, w, b, y] : [x, w, y], () => chooseTile(e, M, macs(g), 16, g.Cout), { bias: b !== null, act, ...(slice ? { slice } : {}) });
  return y;
}

// ------------------------------------------------------------------ gradient of the input

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
  runConvGemm(e, 'conv2d_grad_input', g, [gy, w, gx], () => chooseTile(e, M, macs(g), 32));
  return gx;
}

// ------------------------------------------------------------------ gradient of the filter

/** dw [KH,KW,Cin,Cout] for input x and the (already ReLU-masked) output gradient gy. */
export function conv2dGradFilter(e: Engine, x: Tensor, gy: Tensor, g: Conv2dGeometry, out?: Tensor): Tensor {
  const shape = [g.KH, g.KW, g.Cin, g.Cout];
  checkOut(out, shape, 'conv2d grad filter');
  const gw = out ?? e.empty(shape, 'f32', 'conv2d_gw');
  runConvGemm(e, 'conv2d_grad_filter', g, [x, gy, gw], () => chooseTile(e, g.Cin, macs(g), 32));
  return gw;
}

// ------------------------------------------------------------------ the whole backward

export interface Conv2dBackwardRequest {
  /** The forward output, when the forward applied ReLU (its sign masks gy) or ReLU6 (gy flows where 0 < y < 6). */
  y: Tensor | null;
  /** `y` went through ReLU6 (default: ReLU). */
  relu6?: boolean;
  input: boolean;
  filter: boolean;
  bias: boolean;
}

/**
 * The gradients a conv2d layer needs: masks gy by the activation (once), then runs only the requested kernels.
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
  const { masked, sums } = reluMaskColumnSums(e, gy, want.y, { masked: needMasked, sums: want.bias, relu6: want.relu6 ?? false });
  const g2 = masked ?? gy;
  const gx = want.input ? conv2dGradInput(e, g2, w!, g) : null;
  const gw = want.filter ? conv2dGradFilter(e, x!, g2, g) : null;
  masked?.dispose();
  return { gx, gw, gb: sums };
}
