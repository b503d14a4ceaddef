import type { Engine, Tensor } from '../engine/index.js';
import { entry1d, flatIndex, grid } from './common.js';

/** Elementwise kernels: one invocation per element, the size baked in. */

const WG = 64;

/** WGSL for a numerically safe logistic function (exp never sees a positive argument). */
export const SIGMOID_WGSL = `fn sigmoid(z: f32) -> f32 {
  if (z >= 0.0) { return 1.0 / (1.0 + exp(-z)); }
  let t = exp(z);
  return t / (1.0 + t);
}`;

function mapCode(inputs: string[], n: number, expr: string, prelude = ''): string {
  const decls = inputs.map((name, i) => `@group(0) @binding(${i}) var<storage, read> ${name}: array<f32>;`).join('\n');
  return `${decls}
@group(0) @binding(${inputs.length}) var<storage, read_write> out: array<f32>;
${prelude}
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${n}u) { return; }
  ${inputs.map((name) => `let ${name}_i = ${name}[i];`).join(' ')}
  out[i] = ${expr};
}`;
}

function checkSame(op: string, tensors: Tensor[]): number {
  const n = tensors[0]!.size;
  for (const t of tensors) {
    if (t.size !== n) throw new Error(`${op}: tensors of ${tensors.map((u) => `[${u.shape.join(', ')}]`).join(' and ')} differ in size`);
    if (t.dtype !== 'f32') throw new Error(`${op}: expects f32 tensors, got ${t.dtype}`);
  }
  return n;
}

function map(e: Engine, name: string, inputs: Tensor[], names: string[], expr: string, out?: Tensor, prelude = ''): Tensor {
  const n = checkSame(name, out ? [...inputs, out] : inputs);
  const result = out ?? e.empty(inputs[0]!.shape, 'f32', name);
  e.run({ name, code: mapCode(names, n, expr, prelude), bindings: [...inputs, result], workgroups: grid(n, WG) });
  return result;
}

export function reluForward(e: Engine, x: Tensor, out?: Tensor): Tensor {
  return map(e, 'relu_fwd', [x], ['x'], 'max(x_i, 0.0)', out);
}

/** gx = gy where x > 0, else 0 (the subgradient at 0 is 0). */
export function reluBackward(e: Engine, x: Tensor, gy: Tensor, out?: Tensor): Tensor {
  return map(e, 'relu_bwd', [x, gy], ['x', 'gy'], 'select(0.0, gy_i, x_i > 0.0)', out);
}

export function sigmoidForward(e: Engine, x: Tensor, out?: Tensor): Tensor {
  return map(e, 'sigmoid_fwd', [x], ['x'], 'sigmoid(x_i)', out, SIGMOID_WGSL);
}

/** gx = gy · y · (1 − y), from the forward output y. */
export function sigmoidBackward(e: Engine, y: Tensor, gy: Tensor, out?: Tensor): Tensor {
  return map(e, 'sigmoid_bwd', [y, gy], ['y', 'gy'], 'gy_i * y_i * (1.0 - y_i)', out);
}

export function addForward(e: Engine, a: Tensor, b: Tensor, out?: Tensor): Tensor {
  return map(e, 'add_fwd', [a, b], ['a', 'b'], 'a_i + b_i', out);
}

/** A copy of `x` in a new buffer (for gradients that two consumers must not share). */
export function copyTensor(e: Engine, x: Tensor, shape: readonly number[] = x.shape): Tensor {
  const out = e.empty(shape, x.dtype, 'copy');
  e.copy(x, out);
  return out;
}
