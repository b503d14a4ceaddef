/** Padding of NHWC tensors on H and W: zeros (Keras ZeroPadding2D) and ONNX Pad (constant or edge), with their gradients. */
import type { Engine } from '../engine/engine.js';
import type { Tensor } from '../engine/tensor.js';
import { entry1d, f32, flatIndex, grid } from './common.js';
import { decodeNhwc } from './window.js';

/** [top, bottom, left, right] rows / columns of zeros. */
export type Pads = readonly [number, number, number, number];

/** 'constant': every new cell holds one value; 'edge': the nearest border pixel is replicated. */
export type PadMode = 'constant' | 'edge';

const WG = 64;

/** An input [n, h, w, c] and its padded size ho × wo. */
interface PadGeometry {
  n: number;
  h: number;
  w: number;
  c: number;
  pads: Pads;
  ho: number;
  wo: number;
}

function checkPads(pads: Pads): void {
  if (pads.length !== 4 || pads.some((p) => !Number.isInteger(p) || p < 0)) throw new Error(`zero padding: pads must be four integers ≥ 0, got [${pads.join(', ')}]`);
}

function checkPad2dPads(pads: Pads): void {
  if (pads.length !== 4 || pads.some((p) => !Number.isInteger(p))) throw new Error(`pad2d: pads must be four integers [top, bottom, left, right], got [${pads.join(', ')}]`);
  if (pads.some((p) => p < 0)) throw new Error(`pad2d: negative pads (cropping) are not supported, got [${pads.join(', ')}]`);
}

function padGeometry(shape: readonly number[], pads: Pads, what: string): PadGeometry {
  if (shape.length !== 4) throw new Error(`${what}: expects an NHWC tensor, got [${shape.join(', ')}]`);
  const [n, h, w, c] = shape as [number, number, number, number];
  return { n, h, w, c, pads, ho: h + pads[0] + pads[1], wo: w + pads[2] + pads[3] };
}

/** The pipeline-cache key part of a geometry (every field the generators read). */
function padKey(g: PadGeometry): string {
  return `${g.n},${g.h},${g.w},${g.c},${g.pads.join(',')}`;
}

/** The output tensor [n, ho, wo, c] (`out` when given, checked). */
function paddedOutput(e: Engine, g: PadGeometry, out: Tensor | undefined, label: string, what: string): Tensor {
  const shape = [g.n, g.ho, g.wo, g.c];
  const y = out ?? e.empty(shape, 'f32', label);
  if (y.size !== g.n * g.ho * g.wo * g.c) throw new Error(`${what}: output tensor [${y.shape.join(', ')}] is not [${shape.join(', ')}]`);
  return y;
}

/** The gradient tensor of the input (`out` when given, checked) after checking the upstream gradient `gy`. */
function inputGradient(e: Engine, g: PadGeometry, gy: Tensor, xShape: readonly number[], out: Tensor | undefined, label: string, what: string): Tensor {
  if (gy.size !== g.n * g.ho * g.wo * g.c) throw new Error(`${what}: gradient [${gy.shape.join(', ')}] does not match the padded input`);
  const gx = out ?? e.empty(xShape, 'f32', label);
  if (gx.size !== g.n * g.h * g.w * g.c) throw new Error(`${what}: output tensor [${gx.shape.join(', ')}] is not [${xShape.join(', ')}]`);
  return gx;
}

/**
 * One invocation per element `i` of a `from` [n, fh, fw, c] tensor: `src` reads `from` and `dst` writes `to`; the
 * body sees the batch `b`, the channel `ch` and the row / column `coord` makes of the position (i32 minus the pads
 * for the padded tensor).
 */
function kernel(bindings: [string, string], count: number, fh: number, fw: number, c: number, names: [string, string], coord: (v: string, axis: 'y' | 'x') => string, body: string): string {
  return `@group(0) @binding(0) var<storage, read> ${bindings[0]}: array<f32>;
@group(0) @binding(1) var<storage, read_write> ${bindings[1]}: array<f32>;
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${count}u) { return; }
  ${decodeNhwc('i', fh, fw, c, ['b', names[0], names[1], 'ch'], coord)}
  ${body}
}`;
}

/** Over the padded output: (oy, ox) is the input position it came from (outside the input in the padding). */
function overOutput(g: PadGeometry, body: string): string {
  const [top, , left] = g.pads;
  return kernel(['x', 'y'], g.n * g.ho * g.wo * g.c, g.ho, g.wo, g.c, ['oy', 'ox'], (v, axis) => `i32(${v}) - ${axis === 'y' ? top : left}`, body);
}

/** Over the input: its gradient gathered from `gy`. */
function overInput(g: PadGeometry, body: string): string {
  return kernel(['gy', 'gx'], g.n * g.h * g.w * g.c, g.h, g.w, g.c, ['iy', 'ix'], (v) => v, body);
}

/** `value` (a WGSL f32 expression) in the padding, the input inside. */
function constantPadCode(g: PadGeometry, value: string): string {
  return overOutput(
    g,
    `var v = ${value};
  if (oy >= 0 && oy < ${g.h} && ox >= 0 && ox < ${g.w}) { v = x[((b * ${g.h}u + u32(oy)) * ${g.w}u + u32(ox)) * ${g.c}u + ch]; }
  y[i] = v;`,
  );
}

function edgePadCode(g: PadGeometry): string {
  return overOutput(
    g,
    `let sy = u32(clamp(oy, 0, ${g.h - 1}));
  let sx = u32(clamp(ox, 0, ${g.w - 1}));
  y[i] = x[((b * ${g.h}u + sy) * ${g.w}u + sx) * ${g.c}u + ch];`,
  );
}

/** The gradient of constant padding: the interior of gy. */
function cropCode(g: PadGeometry): string {
  return overInput(g, `gx[i] = gy[((b * ${g.ho}u + iy + ${g.pads[0]}u) * ${g.wo}u + ix + ${g.pads[2]}u) * ${g.c}u + ch];`);
}

/**
 * Edge padding's gradient: each input pixel gathers the gradients of every output cell that replicated it (an edge
 * pixel its whole border strip, a corner pixel its corner block), in a fixed row-major order (deterministic).
 */
function edgePadGradCode(g: PadGeometry): string {
  const [top, , left] = g.pads;
  return overInput(
    g,
    `let oy0 = select(iy + ${top}u, 0u, iy == 0u);
  let oy1 = select(iy + ${top}u, ${g.ho - 1}u, iy == ${g.h - 1}u);
  let ox0 = select(ix + ${left}u, 0u, ix == 0u);
  let ox1 = select(ix + ${left}u, ${g.wo - 1}u, ix == ${g.w - 1}u);
  var acc = 0.0;
  for (var oy = oy0; oy <= oy1; oy++) {
    for (var ox = ox0; ox <= ox1; ox++) { acc += gy[((b * ${g.ho}u + oy) * ${g.wo}u + ox) * ${g.c}u + ch]; }
  }
  gx[i] = acc;`,
  );
}

export function zeroPadForward(e: Engine, x: Tensor, pads: Pads, out?: Tensor): Tensor {
  checkPads(pads);
  const g = padGeometry(x.shape, pads, 'zero padding');
  const y = paddedOutput(e, g, out, 'zero_pad', 'zero padding');
  e.run({ name: 'zero_pad', key: `zero_pad:${padKey(g)}`, code: () => constantPadCode(g, '0.0'), bindings: [x, y], workgroups: grid(y.size, WG) });
  return y;
}

/** dL/dx: the interior of dL/dy. */
export function zeroPadBackward(e: Engine, gy: Tensor, xShape: readonly number[], pads: Pads, out?: Tensor): Tensor {
  checkPads(pads);
  const g = padGeometry(xShape, pads, 'zero padding backward');
  const gx = inputGradient(e, g, gy, xShape, out, 'zero_pad_grad', 'zero padding backward');
  e.run({ name: 'zero_pad_grad', key: `zero_pad_grad:${padKey(g)}`, code: () => cropCode(g), bindings: [gy, gx], workgroups: grid(gx.size, WG) });
  return gx;
}

// ------------------------------------------------------------------ general spatial padding (ONNX Pad on H and W)

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

/**
 * Pads an NHWC tensor on H and W: pads = [top, bottom, left, right] (≥ 0), mode 'constant' (with `value`, which may
 * be ±Infinity or a very negative number for max pooling) or 'edge' (replicates the border pixels).
 */
export function pad2dForward(e: Engine, x: Tensor, pads: Pads, mode: PadMode, value = 0, out?: Tensor): Tensor {
  checkPad2dPads(pads);
  if (mode !== 'constant' && mode !== 'edge') throw new Error(`pad2d: mode must be 'constant' or 'edge', got '${String(mode)}'`);
  const g = padGeometry(x.shape, pads, 'pad2d');
  const y = paddedOutput(e, g, out, 'pad2d', 'pad2d');
  const lit = mode === 'constant' ? padValueLiteral(value) : '';
  e.run({
    name: 'pad2d',
    key: `pad2d:${padKey(g)},${mode},${lit}`,
    code: () => (mode === 'edge' ? edgePadCode(g) : constantPadCode(g, lit)),
    bindings: [x, y],
    workgroups: grid(y.size, WG),
  });
  return y;
}

/** dL/dx of pad2dForward: the interior of dL/dy for 'constant', the gathered border strips for 'edge'. */
export function pad2dBackward(e: Engine, gy: Tensor, xShape: readonly number[], pads: Pads, mode: PadMode, out?: Tensor): Tensor {
  checkPad2dPads(pads);
  if (mode === 'constant') return zeroPadBackward(e, gy, xShape, pads, out);
  const g = padGeometry(xShape, pads, 'pad2d backward');
  const gx = inputGradient(e, g, gy, xShape, out, 'pad2d_edge_grad', 'pad2d backward');
  e.run({ name: 'pad2d_edge_grad', key: `pad2d_edge_grad:${padKey(g)}`, code: () => edgePadGradCode(g), bindings: [gy, gx], workgroups: grid(gx.size, WG) });
  return gx;
}
