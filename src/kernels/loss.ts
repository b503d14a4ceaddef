import type { Engine, Tensor } from '../engine/index.js';
import { entry1d, f32, flatIndex, grid } from './common.js';
import { SIGMOID_WGSL } from './elementwise.js';

/**
 * Binary cross-entropy computed from the logit (sigmoid fused in), in the stable form
 * max(z, 0) − z·y + log(1 + e^−|z|), mean over the batch; backward (σ(z) − y)·gy / N.
 */

/** Threads of the one workgroup that reduces a batch (batches are small: tens to a few thousand samples). */
export const REDUCE_WG = 64;

/**
 * log(1 + u) for u in [0, 1] from arithmetic only: 2·atanh(s), s = u / (2 + u) ≤ 1/3, as an odd series to s^17
 * (truncation < 1e-9 relative). WGSL's log may be off by 2^-21 absolute near 1, which would swamp the tiny
 * losses of confident predictions.
 */
export const LOG1P_WGSL = `fn log1p_unit(u: f32) -> f32 {
  let s = u / (2.0 + u);
  let s2 = s * s;
  var p = ${f32(1 / 17)};
${[15, 13, 11, 9, 7, 5, 3, 1].map((k) => `  p = ${k === 1 ? '1.0' : f32(1 / k)} + s2 * p;`).join('\n')}
  return 2.0 * s * p;
}`;

export const BCE_WGSL = `${LOG1P_WGSL}
fn bce_term(z: f32, y: f32) -> f32 {
  return max(z, 0.0) - z * y + log1p_unit(exp(-abs(z)));
}`;

/** WGSL that sums `var<workgroup> red: array<f32, REDUCE_WG>` into red[0] (every thread must reach it). */
export function workgroupSumWgsl(array: string): string {
  let code = '';
  for (let s = REDUCE_WG / 2; s >= 1; s /= 2) {
    code += `  workgroupBarrier();\n  if (t < ${s}u) { ${array}[t] = ${array}[t] + ${array}[t + ${s}u]; }\n`;
  }
  return code + '  workgroupBarrier();\n';
}

export function checkBatch(op: string, logits: Tensor, labels: Tensor): number {
  const n = labels.size;
  if (logits.size !== n) throw new Error(`${op}: ${logits.size} logits for ${n} labels (logits must be [N] or [N, 1])`);
  if (n === 0) throw new Error(`${op}: empty batch`);
  return n;
}

function bceForwardCode(n: number): string {
  return `@group(0) @binding(0) var<storage, read> z: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;
var<workgroup> red: array<f32, ${REDUCE_WG}>;
${BCE_WGSL}
@compute @workgroup_size(${REDUCE_WG})
fn main(@builtin(local_invocation_index) t: u32) {
  var acc = 0.0;
  for (var i = t; i < ${n}u; i = i + ${REDUCE_WG}u) {
    acc = acc + bce_term(z[i], y[i]);
  }
  red[t] = acc;
${workgroupSumWgsl('red')}
  if (t == 0u) { loss[0] = red[0] * ${f32(1 / n)}; }
}`;
}

/** Mean binary cross-entropy of a batch of logits → shape [1]. */
export function bceWithLogitsForward(e: Engine, logits: Tensor, labels: Tensor, out?: Tensor): Tensor {
  const n = checkBatch('bceWithLogits', logits, labels);
  const loss = out ?? e.empty([1], 'f32', 'bce_loss');
  e.run({ name: 'bce_fwd', key: `bce_fwd:${n}`, code: () => bceForwardCode(n), bindings: [logits, labels, loss], workgroups: [1] });
  return loss;
}

const WG = 64;

function bceBackwardCode(n: number): string {
  return `@group(0) @binding(0) var<storage, read> z: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> gy: array<f32>;
@group(0) @binding(3) var<storage, read_write> gz: array<f32>;
${SIGMOID_WGSL}
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${n}u) { return; }
  gz[i] = (sigmoid(z[i]) - y[i]) * (gy[0] * ${f32(1 / n)});
}`;
}

/** d(mean BCE)/dz, scaled by the upstream gradient gy (shape [1]); shaped like `logits`. */
export function bceWithLogitsBackward(e: Engine, logits: Tensor, labels: Tensor, gy: Tensor, out?: Tensor): Tensor {
  const n = checkBatch('bceWithLogits backward', logits, labels);
  const gz = out ?? e.empty(logits.shape, 'f32', 'bce_grad');
  e.run({ name: 'bce_bwd', key: `bce_bwd:${n}`, code: () => bceBackwardCode(n), bindings: [logits, labels, gy, gz], workgroups: grid(n, WG) });
  return gz;
}
