import type { Engine, Tensor } from '../engine/index.js';
import { entry1d, f32, flatIndex, grid } from './common.js';

/**
 * The whole Keras Adam update of one parameter tensor in one pass:
 *   m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²;  p ← p − lr_t·m / (√v + ε)   (ε outside the square root, as Keras 2).
 * β1, β2, ε and the element count are baked in; lr_t = lr·√(1 − β2^t)/(1 − β1^t) changes every step, so it is read
 * from a one-element tensor the optimizer writes once per step (a captured step replays with the new rate).
 */

const WG = 64;

function adamCode(n: number, beta1: number, beta2: number, epsilon: number): string {
  return `@group(0) @binding(0) var<storage, read_write> p: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read> rate: array<f32>;
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${n}u) { return; }
  let lr = rate[0];
  let gi = g[i];
  let mi = ${f32(beta1)} * m[i] + ${f32(1 - beta1)} * gi;
  let vi = ${f32(beta2)} * v[i] + ${f32(1 - beta2)} * (gi * gi);
  m[i] = mi;
  v[i] = vi;
  p[i] = p[i] - lr * mi / (sqrt(vi) + ${f32(epsilon)});
}`;
}

/** One update of `param`; `lr` is a one-element f32 tensor holding the bias-corrected lr_t. */
export function adamStep(e: Engine, param: Tensor, grad: Tensor, m: Tensor, v: Tensor, lr: Tensor, beta1: number, beta2: number, epsilon: number): void {
  const n = param.size;
  if (grad.size !== n || m.size !== n || v.size !== n) throw new Error(`adam: parameter, gradient and moment sizes differ (${n}, ${grad.size}, ${m.size}, ${v.size})`);
  if (lr.size !== 1 || lr.dtype !== 'f32') throw new Error(`adam: the learning rate must be a one-element f32 tensor, got [${lr.shape.join(', ')}] ${lr.dtype}`);
  e.run({
    name: 'adam_step',
    key: `adam_step:${n},${beta1},${beta2},${epsilon}`,
    code: () => adamCode(n, beta1, beta2, epsilon),
    bindings: [param, grad, m, v, lr],
    workgroups: grid(n, WG),
  });
}
