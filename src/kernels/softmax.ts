import type { Engine, Tensor } from '../engine/index.js';
import { grid } from './common.js';

/**
 * Softmax over the last axis of a tensor viewed as [rows, length], numerically stable (exp of x − max), and its
 * backward gx = y · (gy − Σ gy·y) from the saved output. One workgroup of 64 invocations per row: each strides over
 * the row, then a tree in workgroup memory combines the partial max / sums (deterministic: a fixed order).
 * Log-softmax shares them: y = x − max − log Σ e^(x−max), backward gx = gy − e^y · Σ gy.
 */

const WG = 64;

/** WGSL combining `red[0..WG)` into red[0] with `op` (every invocation must reach it; ends with a barrier). */
function treeWgsl(op: (a: string, b: string) => string): string {
  let code = '';
  for (let s = WG / 2; s >= 1; s /= 2) code += `  workgroupBarrier();\n  if (t < ${s}u) { red[t] = ${op('red[t]', `red[t + ${s}u]`)}; }\n`;
  return `${code}  workgroupBarrier();\n`;
}

const HEADER = `var<workgroup> red: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32)`;

function forwardCode(rows: number, len: number, log = false): string {
  return `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
${HEADER} {
  let row = wid.x + wid.y * nwg.x;
  if (row >= ${rows}u) { return; }
  let base = row * ${len}u;
  var m = x[base + min(t, ${len - 1}u)];
  for (var j = t + ${WG}u; j < ${len}u; j = j + ${WG}u) { m = max(m, x[base + j]); }
  red[t] = m;
${treeWgsl((a, b) => `max(${a}, ${b})`)}
  let rm = red[0];
  workgroupBarrier();
  var s = 0.0;
  for (var j = t; j < ${len}u; j = j + ${WG}u) { s = s + exp(x[base + j] - rm); }
  red[t] = s;
${treeWgsl((a, b) => `${a} + ${b}`)}
  let rs = red[0];
${
  log
    ? `  let shift = rm + log(rs);
  for (var j = t; j < ${len}u; j = j + ${WG}u) { y[base + j] = x[base + j] - shift; }`
    : `  for (var j = t; j < ${len}u; j = j + ${WG}u) { y[base + j] = exp(x[base + j] - rm) / rs; }`
}
}`;
}

function backwardCode(rows: number, len: number, log = false): string {
  const d = log ? 'gy[base + j]' : 'gy[base + j] * y[base + j]';
  const g = log ? 'gy[base + j] - exp(y[base + j]) * rd' : 'y[base + j] * (gy[base + j] - rd)';
  return `@group(0) @binding(0) var<storage, read> y: array<f32>;
@group(0) @binding(1) var<storage, read> gy: array<f32>;
@group(0) @binding(2) var<storage, read_write> gx: array<f32>;
${HEADER} {
  let row = wid.x + wid.y * nwg.x;
  if (row >= ${rows}u) { return; }
  let base = row * ${len}u;
  var d = 0.0;
  for (var j = t; j < ${len}u; j = j + ${WG}u) { d = d + ${d}; }
  red[t] = d;
${treeWgsl((a, b) => `${a} + ${b}`)}
  let rd = red[0];
  for (var j = t; j < ${len}u; j = j + ${WG}u) { gx[base + j] = ${g}; }
}`;
}

function rowsOf(op: string, x: Tensor): { rows: number; len: number } {
  if (x.dtype !== 'f32') throw new Error(`${op}: expects an f32 tensor, got ${x.dtype}`);
  if (x.rank === 0) throw new Error(`${op}: a rank-0 tensor has no last axis`);
  const len = x.shape[x.rank - 1]!;
  if (len === 0) throw new Error(`${op}: empty last axis in [${x.shape.join(', ')}]`);
  return { rows: x.size / len, len };
}

/** y = softmax(x) over the last axis. */
export function softmaxForward(e: Engine, x: Tensor, out?: Tensor): Tensor {
  const { rows, len } = rowsOf('softmax', x);
  const y = out ?? e.empty(x.shape, 'f32', 'softmax');
  if (y.size !== x.size) throw new Error(`softmax: output holds ${y.size} values, needs ${x.size}`);
  e.run({ name: 'softmax_fwd', key: `softmax_fwd:${rows},${len}`, code: () => forwardCode(rows, len), bindings: [x, y], workgroups: grid(rows, 1) });
  return y;
}

/** gx = y · (gy − Σ_row gy·y), from the forward output y. */
export function softmaxBackward(e: Engine, y: Tensor, gy: Tensor, out?: Tensor): Tensor {
  const { rows, len } = rowsOf('softmax backward', y);
  if (gy.size !== y.size) throw new Error(`softmax backward: gradient of ${gy.size} values for an output of ${y.size}`);
  const gx = out ?? e.empty(y.shape, 'f32', 'softmax_grad');
  e.run({ name: 'softmax_bwd', key: `softmax_bwd:${rows},${len}`, code: () => backwardCode(rows, len), bindings: [y, gy, gx], workgroups: grid(rows, 1) });
  return gx;
}

/** y = log softmax(x) over the last axis: x − max − log Σ e^(x − max). */
export function logSoftmaxForward(e: Engine, x: Tensor, out?: Tensor): Tensor {
  const { rows, len } = rowsOf('logSoftmax', x);
  const y = out ?? e.empty(x.shape, 'f32', 'log_softmax');
  if (y.size !== x.size) throw new Error(`logSoftmax: output holds ${y.size} values, needs ${x.size}`);
  e.run({ name: 'log_softmax_fwd', key: `log_softmax_fwd:${rows},${len}`, code: () => forwardCode(rows, len, true), bindings: [x, y], workgroups: grid(rows, 1) });
  return y;
}

/** gx = gy − e^y · Σ_row gy, from the forward output y. */
export function logSoftmaxBackward(e: Engine, y: Tensor, gy: Tensor, out?: Tensor): Tensor {
  const { rows, len } = rowsOf('logSoftmax backward', y);
  if (gy.size !== y.size) throw new Error(`logSoftmax backward: gradient of ${gy.size} values for an output of ${y.size}`);
  const gx = out ?? e.empty(y.shape, 'f32', 'log_softmax_grad');
  e.run({ name: 'log_softmax_bwd', key: `log_softmax_bwd:${rows},${len}`, code: () => backwardCode(rows, len, true), bindings: [y, gy, gx], workgroups: grid(rows, 1) });
  return gx;
}
