import type { Engine, Tensor } from '../engine/index.js';
import { entry1d, f32, flatIndex, grid } from './common.js';

/**
 * The whole Keras RMSprop update of one parameter tensor in one pass:
 *   a ← ρ·a + (1 − ρ)·g²;  p ← p − lr_t·g / (√a + ε)   (ε outside the square root, as Keras 2).
 * ρ and ε are baked in; lr_t (which decays every step) and the element count travel in `params`, so one pipeline
 * serves every parameter tensor and every step.
 */

const WG = 64;

function rmspropCode(rho: number, epsilon: number): string {
  return `@group(0) @binding(0) var<storage, read_write> p: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> acc: array<f32>;
@group(0) @binding(3) var<storage, read> P: array<u32>;
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= P[1]) { return; }
  let lr = bitcast<f32>(P[0]);
  let gi = g[i];
  let a = ${f32(rho)} * acc[i] + ${f32(1 - rho)} * (gi * gi);
  acc[i] = a;
  p[i] = p[i] - lr * gi / (sqrt(a) + ${f32(epsilon)});
}`;
}

export function rmspropStep(e: Engine, param: Tensor, grad: Tensor, accumulator: Tensor, lr: number, rho: number, epsilon: number): void {
  const n = param.size;
  if (grad.size !== n || accumulator.size !== n) throw new Error(`rmsprop: parameter, gradient and accumulator sizes differ (${n}, ${grad.size}, ${accumulator.size})`);
  const params = new Uint32Array(2);
  new Float32Array(params.buffer, 0, 1)[0] = lr;
  params[1] = n;
  e.run({ name: 'rmsprop_step', code: rmspropCode(rho, epsilon), bindings: [param, grad, accumulator], params, workgroups: grid(n, WG) });
}
