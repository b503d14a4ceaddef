/** Padding of NHWC tensors on H and W: zeros (Keras ZeroPadding2D) and ONNX Pad (constant or edge), with their gradients. */
import type { Engine } from '../engine/engine.js';
import type { Tensor } from '../engine/tensor.js';
import { entry1d, f32, flatIndex, grid } from './common.js';

/** [top, bottom, left, right] rows / columns of zeros. */
export type Pads = readonly [number, number, number, number];

const WG = 64;

function checkPads(pads: Pads): void {
  if (pads.length !== 4 || pads.some((p) => !Number.isInteger(p) || p < 0)) throw new Error(`zero padding: pads must be four integers ≥ 0, got [${pads.join(', ')}]`);
}

function padsKey(pads: Pads): string {
  return `${pads[0]},${pads[1]},${pads[2]},${pads[3]}`;
}

function padCode(n: number, h: number, w: number, c: number, pads: Pads): string {
  const [top, bottom, left, right] = pads;
  const ho = h + top + bottom;
  const wo = w + left + right;
  return `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${n * ho * wo * c}u) { return; }
  let ch = i % ${c}u;
  var r = i / ${c}u;
  let ox = i32(r % ${wo}u) - ${left};
  r = r / ${wo}u;
  let oy = i32(r % ${ho}u) - ${top};
  let b = r / ${ho}u;
  var v = 0.0;
  if (oy >= 0 && oy < ${h} && ox >= 0 && ox < ${w}) { v = x[((b * ${h}u + u32(oy)) * ${w}u + u32(ox)) * ${c}u + ch]; }
  y[i] = v;
}`;
}

function cropCode(n: number, h: number, w: number, c: number, pads: Pads): string {
  const [top, bottom, left, right] = pads;
  const ho = h + top + bottom;
  const wo = w + left + right;
  return `@group(0) @binding(0) var<storage, read> gy: array<f32>;
@group(0) @binding(1) var<storage, read_write> gx: array<f32>;
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${n * h * w * c}u) { return; }
  let ch = i % ${c}u;
  var r = i / ${c}u;
  let ix = r % ${w}u;
  r = r / ${w}u;
  let iy = r % ${h}u;
  let b = r / ${h}u;
  gx[i] = gy[((b * ${ho}u + iy + ${top}u) * ${wo}u + ix + ${left}u) * ${c}u + ch];
}`;
}

function dims(shape: readonly number[], what: string): [number, number, number, number] {
  if (shape.length !== 4) throw new Error(`${what}: expects an NHWC tensor, got [${shape.join(', ')}]`);
  return shape as unknown as [number, number, number, number];
}

export function zeroPadForward(e: Engine, x: Tensor, pads: Pads, out?: Tensor): Tensor {
  checkPads(pads);
  const [n, h, w, c] = dims(x.shape, 'zero padding');
  const shape = [n, h + pads[0] + pads[1], w + pads[2] + pads[3], c];
  const y = out ?? e.empty(shape, 'f32', 'zero_pad');
  if (y.size !== shape.reduce((a, d) => a * d, 1)) throw new Error(`zero padding: output tensor [${y.shape.join(', ')}] is not [${shape.join(', ')}]`);
  e.run({ name: 'zero_pad', key: `zero_pad:${n},${h},${w},${c},${padsKey(pads)}`, code: () => padCode(n, h, w, c, pads), bindings: [x, y], workgroups: grid(y.size, WG) });
  return y;
}

/** dL/dx: the interior of dL/dy. */
export function zeroPadBackward(e: Engine, gy: Tensor, xShape: readonly number[], pads: Pads, out?: Tensor): Tensor {
  checkPads(pads);
  const [n, h, w, c] = dims(xShape, 'zero padding backward');
  if (gy.size !== n * (h + pads[0] + pads[1]) * (w + pads[2] + pads[3]) * c) throw new Error(`zero padding backward: gradient [${gy.shape.join(', ')}] does not match the padded input`);
  const gx = out ?? e.empty(xShape, 'f32', 'zero_pad_grad');
  if (gx.size !== n * h * w * c) throw new Error(`zero padding backward: output tensor [${gx.shape.join(', ')}] is not [${xShape.join(', ')}]`);
  e.run({ name: 'zero_pad_grad', key: `zero_pad_grad:${n},${h},${w},${c},${padsKey(pads)}`, code: () => cropCode(n, h, w, c, pads), bindings: [gy, gx], workgroups: grid(gx.size, WG) });
  return gx;
}

// ------------------------------------------------------------------ general spatial padding (ONNX Pad on H and W)

/** 'constant': every new cell holds one value; 'edge': the nearest border pixel is replicated. */
export type PadMode = 'constant' | 'edge';

/**
 * A WGSL f32 expression for a padding value (in a kernel with a runtime u32 `i`). ±Infinity are bit patterns made
 * at run time (f32() refuses them and WGSL refuses infinite constant expressions); NaN is refused.
 */
function padValueLiteral(value: number): string {
  if (Number.isNaN(value)) throw new Error('pad2d: the padding value is NaN');
  if (value === Infinity) return 'bitcast<f32>(0x7f800000u | (i & 0u))';
  if (value === -Infinity) return 'bitcast<f32>(0xff800000u | (i & 0u))';
  if (Math.abs(value) > 3.4028234663852886e38) throw new Error(`pad2d: padding value ${value} is outside the f32 range`);
  return f32(value);
}

function checkPad2dPads(pads: Pads): void {
  if (pads.length !== 4 || pads.some((p) => !Number.isInteger(p))) throw new Error(`pad2d: pads must be four integers [top, bottom, left, right], got [${pads.join(', ')}]`);
  if (pads.some((p) => p < 0)) throw new Error(`pad2d: negative pads (cropping) are not supported, got [${pads.join(', ')}]`);
}

function pad2dCode(n: number, h: number, w: number, c: number, pads: Pads, mode: PadMode, value: string): string {
  const [top, bottom, left, right] = pads;
  const ho = h + top + bottom;
  const wo = w + left + right;
  const body =
    mode === 'edge'
      ? `let sy = u32(clamp(oy, 0, ${h - 1}));
  let sx = u32(clamp(ox, 0, ${w - 1}));
  y[i] = x[((b * ${h}u + sy) * ${w}u + sx) * ${c}u + ch];`
      : `var v = ${value};
  if (oy >= 0 && oy < ${h} && ox >= 0 && ox < ${w}) { v = x[((b * ${h}u + u32(oy)) * ${w}u + u32(ox)) * ${c}u + ch]; }
  y[i] = v;`;
  return `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${n * ho * wo * c}u) { return; }
  let ch = i % ${c}u;
  var r = i / ${c}u;
  let ox = i32(r % ${wo}u) - ${left};
  r = r / ${wo}u;
  let oy = i32(r % ${ho}u) - ${top};
  let b = r / ${ho}u;
  ${body}
}`;
}

/**
 * Pads an NHWC tensor on H and W: pads = [top, bottom, left, right] (≥ 0), mode 'constant' (with `value`, which may
 * be ±Infinity or a very negative number for max pooling) or 'edge' (replicates the border pixels).
 */
export function pad2dForward(e: Engine, x: Tensor, pads: Pads, mode: PadMode, value = 0, out?: Tensor): Tensor {
  checkPad2dPads(pads);
  if (mode !== 'constant' && mode !== 'edge') throw new Error(`pad2d: mode must be 'constant' or 'edge', got '${String(mode)}'`);
  const [n, h, w, c] = dims(x.shape, 'pad2d');
  const shape = [n, h + pads[0] + pads[1], w + pads[2] + pads[3], c];
  const y = out ?? e.empty(shape, 'f32', 'pad2d');
  if (y.size !== shape.reduce((a, d) => a * d, 1)) throw new Error(`pad2d: output tensor [${y.shape.join(', ')}] is not [${shape.join(', ')}]`);
  const lit = mode === 'constant' ? padValueLiteral(value) : '';
  e.run({
    name: 'pad2d',
    key: `pad2d:${n},${h},${w},${c},${padsKey(pads)},${mode},${lit}`,
    code: () => pad2dCode(n, h, w, c, pads, mode, lit),
    bindings: [x, y],
    workgroups: grid(y.size, WG),
  });
  return y;
}

/**
 * Edge padding's gradient: each input pixel gathers the gradients of every output cell that replicated it (an edge
 * pixel its whole border strip, a corner pixel its corner block), in a fixed row-major order (deterministic).
 */
function edgePadGradCode(n: number, h: number, w: number, c: number, pads: Pads): string {
  const [top, bottom, left, right] = pads;
  const ho = h + top + bottom;
  const wo = w + left + right;
  return `@group(0) @binding(0) var<storage, read> gy: array<f32>;
@group(0) @binding(1) var<storage, read_write> gx: array<f32>;
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${n * h * w * c}u) { return; }
  let ch = i % ${c}u;
  var r = i / ${c}u;
  let ix = r % ${w}u;
  r = r / ${w}u;
  let iy = r % ${h}u;
  let b = r / ${h}u;
  let oy0 = select(iy + ${top}u, 0u, iy == 0u);
  let oy1 = select(iy + ${top}u, ${ho - 1}u, iy == ${h - 1}u);
  let ox0 = select(ix + ${left}u, 0u, ix == 0u);
  let ox1 = select(ix + ${left}u, ${wo - 1}u, ix == ${w - 1}u);
  var acc = 0.0;
  for (var oy = oy0; oy <= oy1; oy++) {
    for (var ox = ox0; ox <= ox1; ox++) { acc += gy[((b * ${ho}u + oy) * ${wo}u + ox) * ${c}u + ch]; }
  }
  gx[i] = acc;
}`;
}

/** dL/dx of pad2dForward: the interior of dL/dy for 'constant', the gathered border strips for 'edge'. */
export function pad2dBackward(e: Engine, gy: Tensor, xShape: readonly number[], pads: Pads, mode: PadMode, out?: Tensor): Tensor {
  checkPad2dPads(pads);
  if (mode === 'constant') return zeroPadBackward(e, gy, xShape, pads, out);
  const [n, h, w, c] = dims(xShape, 'pad2d backward');
  if (gy.size !== n * (h + pads[0] + pads[1]) * (w + pads[2] + pads[3]) * c) throw new Error(`pad2d backward: gradient [${gy.shape.join(', ')}] does not match the padded input`);
  const gx = out ?? e.empty(xShape, 'f32', 'pad2d_edge_grad');
  if (gx.size !== n * h * w * c) throw new Error(`pad2d backward: output tensor [${gx.shape.join(', ')}] is not [${xShape.join(', ')}]`);
  e.run({
    name: 'pad2d_edge_grad',
    key: `pad2d_edge_grad:${n},${h},${w},${c},${padsKey(pads)}`,
    code: () => edgePadGradCode(n, h, w, c, pads),
    bindings: [gy, gx],
    workgroups: grid(gx.size, WG),
  });
  return gx;
}
