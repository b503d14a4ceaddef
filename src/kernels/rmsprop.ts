import type { Engine, Tensor } from '../engine/index.js';
import { entry1d, f32, flatIndex, grid } from './common.js';

/**
 * The whole Keras RMSprop update of one parameter tensor in one pass:
 *   a ← ρ·a + (1 − ρ)·g²;  p ← p − lr_t·g / (√a + ε)   (ε outside the square root, as Keras 2).
 * ρ, ε and the element count are baked in; lr_t (which may decay every step) is read from a one-element tensor the
 * optimizer writes once per step, so one pipeline serves every step and a captured step replays with the new rate.
 */

const WG = 64;

function rmspropCode(n: number, rho: number, epsilon: number): string {
  return `@group(0) @binding(0) var<storage, read_write> p: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> acc: array<f32>;
@group(0) @binding(3) var<storage, read> rate: array<f32>;
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${n}u) { return; }
  let lr = rate[0];
  let gi = g[i];
  let a = ${f32(rho)} * acc[i] + ${f32(1 - rho)} * (gi * gi);
  acc[i] = a;
  p[i] = p[i] - lr * gi / (sqrt(a) + ${f32(epsilon)});
}`;
}

/** One update of `param`; `lr` is a one-element f32 tensor holding lr_t. */
export function rmspropStep(e: Engine, param: Tensor, grad: Tensor, accumulator: Tensor, lr: Tensor, rho: number, epsilon: number): void {
  const n = param.size;
  if (grad.size !== n || accumulator.size !== n) throw new Error(`rmsprop: parameter, gradient and accumulator sizes differ (${n}, ${grad.size}, ${accumulator.size})`);
  if (lr.size !== 1 || lr.dtype !== 'f32') throw new Error(`rmsprop: the learning rate must be a one-element f32 tensor, got [${lr.shape.join(', ')}] ${lr.dtype}`);
  e.run({
    name: 'rmsprop_step',
    key: `rmsprop_step:${n},${rho},${epsilon}`,
    code: () => rmspropCode(n, rho, epsilon),
    bindings: [param, grad, accumulator, lr],
    workgroups: grid(n, WG),
  });
}
