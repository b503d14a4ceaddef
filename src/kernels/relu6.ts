/** ReLU6 (clamp to [0, 6]) as a standalone pass, and its gradient masked by the forward output. */
import type { Engine } from '../engine/engine.js';
import type { Tensor } from '../engine/tensor.js';
import { entry1d, flatIndex, grid } from './common.js';

const WG = 64;

function forwardCode(n: number): string {
  return `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${n}u) { return; }
  y[i] = clamp(x[i], 0.0, 6.0);
}`;
}

function backwardCode(n: number): string {
  return `@group(0) @binding(0) var<storage, read> gy: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> gx: array<f32>;
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${n}u) { return; }
  let v = y[i];
  gx[i] = select(0.0, gy[i], v > 0.0 && v < 6.0);
}`;
}

export function relu6Forward(e: Engine, x: Tensor, out?: Tensor): Tensor {
  const y = out ?? e.empty(x.shape, 'f32', 'relu6');
  if (y.size !== x.size) throw new Error(`relu6: output has ${y.size} values, input ${x.size}`);
  e.run({ name: 'relu6', key: `relu6:${x.size}`, code: () => forwardCode(x.size), bindings: [x, y], workgroups: grid(x.size, WG) });
  return y;
}

/** dL/dx = dL/dy where 0 < y < 6, else 0. */
export function relu6Backward(e: Engine, gy: Tensor, y: Tensor, out?: Tensor): Tensor {
  if (gy.size !== y.size) throw new Error(`relu6 backward: gradient has ${gy.size} values, output ${y.size}`);
  const gx = out ?? e.empty(y.shape, 'f32', 'relu6_grad');
  if (gx.size !== y.size) throw new Error(`relu6 backward: output has ${gx.size} values, expected ${y.size}`);
  e.run({ name: 'relu6_grad', key: `relu6_grad:${y.size}`, code: () => backwardCode(y.size), bindings: [gy, y, gx], workgroups: grid(y.size, WG) });
  return gx;
}
