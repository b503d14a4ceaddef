import type { Engine, Tensor } from '../engine/index.js';
import { entry1d, f32, flatIndex, grid } from './common.js';

/** Elementwise kernels: one invocation per element, the size baked in. */

const WG = 64;

/** WGSL for a numerically safe logistic function (exp never sees a positive argument). */
export const SIGMOID_WGSL = `fn sigmoid(z: f32) -> f32 {
  if (z >= 0.0) { return 1.0 / (1.0 + exp(-z)); }
  let t = exp(z);
  return t / (1.0 + t);
}`;

function mapCode(inputs: readonly string[], n: number, expr: string, prelude = ''): string {
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

/** One elementwise kernel: its name (also its key's family), input binding names, the output expression and helpers. */
interface MapKernel {
  name: string;
  names: readonly string[];
  expr: string;
  prelude?: string;
}

const RELU_FWD: MapKernel = { name: 'relu_fwd', names: ['x'], expr: 'max(x_i, 0.0)' };
const RELU_BWD: MapKernel = { name: 'relu_bwd', names: ['x', 'gy'], expr: 'select(0.0, gy_i, x_i > 0.0)' };
const SIGMOID_FWD: MapKernel = { name: 'sigmoid_fwd', names: ['x'], expr: 'sigmoid(x_i)', prelude: SIGMOID_WGSL };
const SIGMOID_BWD: MapKernel = { name: 'sigmoid_bwd', names: ['y', 'gy'], expr: 'gy_i * y_i * (1.0 - y_i)' };
const ADD_FWD: MapKernel = { name: 'add_fwd', names: ['a', 'b'], expr: 'a_i + b_i' };
const RELU6_FWD: MapKernel = { name: 'relu6', names: ['x'], expr: 'clamp(x_i, 0.0, 6.0)' };
const RELU6_BWD: MapKernel = { name: 'relu6_grad', names: ['y', 'gy'], expr: 'select(0.0, gy_i, y_i > 0.0 && y_i < 6.0)' };

/** Each kernel's name stands for its (constant) names, expression and prelude, so the key is the name and the size. */
function map(e: Engine, k: MapKernel, inputs: Tensor[], out?: Tensor): Tensor {
  const n = checkSame(k.name, out ? [...inputs, out] : inputs);
  const result = out ?? e.empty(inputs[0]!.shape, 'f32', k.name);
  e.run({ name: k.name, key: `${k.name}:${n}`, code: () => mapCode(k.names, n, k.expr, k.prelude), bindings: [...inputs, result], workgroups: grid(n, WG) });
  return result;
}

export function reluForward(e: Engine, x: Tensor, out?: Tensor): Tensor {
  return map(e, RELU_FWD, [x], out);
}

/** gx = gy where x > 0, else 0 (the subgradient at 0 is 0). */
export function reluBackward(e: Engine, x: Tensor, gy: Tensor, out?: Tensor): Tensor {
  return map(e, RELU_BWD, [x, gy], out);
}

export function sigmoidForward(e: Engine, x: Tensor, out?: Tensor): Tensor {
  return map(e, SIGMOID_FWD, [x], out);
}

/** gx = gy · y · (1 − y), from the forward output y. */
export function sigmoidBackward(e: Engine, y: Tensor, gy: Tensor, out?: Tensor): Tensor {
  return map(e, SIGMOID_BWD, [y, gy], out);
}

/** ReLU6: clamp to [0, 6]. */
export function relu6Forward(e: Engine, x: Tensor, out?: Tensor): Tensor {
  return map(e, RELU6_FWD, [x], out);
}

/** dL/dx = dL/dy where 0 < y < 6, else 0 (from the forward output y). */
export function relu6Backward(e: Engine, gy: Tensor, y: Tensor, out?: Tensor): Tensor {
  return map(e, RELU6_BWD, [y, gy], out);
}

export function addForward(e: Engine, a: Tensor, b: Tensor, out?: Tensor): Tensor {
  return map(e, ADD_FWD, [a, b], out);
}

/** A copy of `x` in a new buffer (for gradients that two consumers must not share). */
export function copyTensor(e: Engine, x: Tensor, shape: readonly number[] = x.shape): Tensor {
  const out = e.empty(shape, x.dtype, 'copy');
  e.copy(x, out);
  return out;
}

const HARD_SWISH_FWD: MapKernel = { name: 'hard_swish_fwd', names: ['x'], expr: 'x_i * clamp(x_i + 3.0, 0.0, 6.0) / 6.0' };
/** d/dx [x · relu6(x + 3) / 6]: 0 below −3, (2x + 3) / 6 inside, 1 above 3 (ONNX HardSwish, PyTorch's Hardswish). */
const HARD_SWISH_BWD: MapKernel = {
  name: 'hard_swish_bwd',
  names: ['x', 'gy'],
  expr: 'select(select(gy_i * (2.0 * x_i + 3.0) / 6.0, gy_i, x_i >= 3.0), 0.0, x_i <= -3.0)',
};

/** Hard swish: x · min(max(x + 3, 0), 6) / 6 (MobileNetV3). */
export function hardSwishForward(e: Engine, x: Tensor, out?: Tensor): Tensor {
  return map(e, HARD_SWISH_FWD, [x], out);
}

/** The hard-swish gradient from the forward input x. */
export function hardSwishBackward(e: Engine, x: Tensor, gy: Tensor, out?: Tensor): Tensor {
  return map(e, HARD_SWISH_BWD, [x, gy], out);
}

/** The slope is baked into the WGSL, so it is part of the kernel's name (and so of its key). */
function leakyKernels(alpha: number): [MapKernel, MapKernel] {
  const a = f32(alpha);
  return [
    { name: `leaky_relu_fwd_${a}`, names: ['x'], expr: `select(${a} * x_i, x_i, x_i >= 0.0)` },
    { name: `leaky_relu_bwd_${a}`, names: ['x', 'gy'], expr: `select(${a} * gy_i, gy_i, x_i >= 0.0)` },
  ];
}

/** Leaky ReLU: x where x ≥ 0, else alpha · x. */
export function leakyReluForward(e: Engine, x: Tensor, alpha: number, out?: Tensor): Tensor {
  return map(e, leakyKernels(alpha)[0], [x], out);
}

/** Its gradient from the forward input x (slope 1 at 0, as ONNX's LeakyRelu is x there). */
export function leakyReluBackward(e: Engine, x: Tensor, gy: Tensor, alpha: number, out?: Tensor): Tensor {
  return map(e, leakyKernels(alpha)[1], [x, gy], out);
}

/** The slope and offset are baked into the WGSL, so they are part of the kernel's name (and so of its key). */
function hardSigmoidKernels(alpha: number, beta: number): [MapKernel, MapKernel] {
  const a = f32(alpha);
  const b = f32(beta);
  const v = `(${a} * x_i + ${b})`;
  return [
    { name: `hard_sigmoid_fwd_${a}_${b}`, names: ['x'], expr: `clamp(${v}, 0.0, 1.0)` },
    { name: `hard_sigmoid_bwd_${a}_${b}`, names: ['x', 'gy'], expr: `select(0.0, ${a} * gy_i, ${v} > 0.0 && ${v} < 1.0)` },
  ];
}

/** Hard sigmoid (ONNX HardSigmoid): max(0, min(1, alpha · x + beta)). */
export function hardSigmoidForward(e: Engine, x: Tensor, alpha: number, beta: number, out?: Tensor): Tensor {
  return map(e, hardSigmoidKernels(alpha, beta)[0], [x], out);
}

/** Its gradient from the forward input x: alpha · gy where 0 < alpha · x + beta < 1, else 0. */
export function hardSigmoidBackward(e: Engine, x: Tensor, gy: Tensor, alpha: number, beta: number, out?: Tensor): Tensor {
  return map(e, hardSigmoidKernels(alpha, beta)[1], [x, gy], out);
}

/** Clip bounds as WGSL literals; null (or an infinity on its own side) is an absent bound. */
function clipBounds(min: number | null, max: number | null): [string | null, string | null] {
  if (Number.isNaN(min) || Number.isNaN(max)) throw new Error(`clip: NaN bound (min ${min}, max ${max})`);
  return [min === null || min === -Infinity ? null : f32(min), max === null || max === Infinity ? null : f32(max)];
}

/** The bounds are baked into the WGSL, so they are part of the kernel's name; min(max(x, lo), hi) as numpy when lo > hi. */
function clipKernels(min: number | null, max: number | null): [MapKernel, MapKernel] {
  const [lo, hi] = clipBounds(min, max);
  const tag = `${lo ?? 'none'}_${hi ?? 'none'}`;
  let fwd = 'x_i';
  if (lo !== null) fwd = `max(${fwd}, ${lo})`;
  if (hi !== null) fwd = `min(${fwd}, ${hi})`;
  const inside = [...(lo !== null ? [`x_i > ${lo}`] : []), ...(hi !== null ? [`x_i < ${hi}`] : [])];
  return [
    { name: `clip_fwd_${tag}`, names: ['x'], expr: fwd },
    { name: `clip_bwd_${tag}`, names: ['x', 'gy'], expr: inside.length ? `select(0.0, gy_i, ${inside.join(' && ')})` : 'gy_i' },
  ];
}

/** Clip (ONNX Clip): min(max(x, min), max); a null bound is absent (±infinity). */
export function clipForward(e: Engine, x: Tensor, min: number | null, max: number | null, out?: Tensor): Tensor {
  return map(e, clipKernels(min, max)[0], [x], out);
}

/** Its gradient from the forward input x: gy strictly inside (min, max), else 0. */
export function clipBackward(e: Engine, x: Tensor, gy: Tensor, min: number | null, max: number | null, out?: Tensor): Tensor {
  return map(e, clipKernels(min, max)[1], [x, gy], out);
}
