/** Zero padding of NHWC tensors on H and W (Keras ZeroPadding2D), and its gradient (the crop of the interior). */
import type { Engine } from '../engine/engine.js';
import type { Tensor } from '../engine/tensor.js';
import { entry1d, flatIndex, grid } from './common.js';

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
