import type { Engine, Tensor } from '../engine/index.js';
import { f32, grid } from './common.js';
import { LOG1P_WGSL, REDUCE_WG, workgroupSumWgsl } from './loss.js';

/**
 * Softmax cross-entropy from logits [N, C] against class indices [N] (f32 holding integers), mean over the batch,
 * as one fused kernel in the log-sum-exp form: with m = max_j z_j (first index k on ties) and u = Σ_{j≠k} e^(z_j−m),
 * loss_i = log1p(u) + (m − z_y). log1p(u) keeps the tiny losses of confident, correct predictions (u ≪ 1) accurate,
 * and nothing overflows at any logit size. Backward: (softmax(z) − onehot(y))·gy / N, one workgroup per row, with
 * p_y − 1 computed as −u/(1+u) when y is the argmax (no cancellation).
 *
 * Labels outside [0, C) are clamped to C − 1 here; the data layer never produces them.
 */

/**
 * WGSL: `argmax_row(base)`, the first index of the largest of `z[base .. base + C)`, and `label_of(v)`, a label
 * clamped to [0, C); needs `z` bound.
 */
function argmaxWgsl(c: number): string {
  return `fn argmax_row(base: u32) -> u32 {
  var m = z[base];
  var k = 0u;
  for (var j = 1u; j < ${c}u; j = j + 1u) {
    let v = z[base + j];
    if (v > m) { m = v; k = j; }
  }
  return k;
}
fn label_of(v: f32) -> u32 {
  return min(u32(max(v, 0.0)), ${c - 1}u);
}`;
}

/** WGSL: `row_stats(base)` over `z[base .. base + C)` → max, its first index and u (see above); needs `z` bound. */
function rowStatsWgsl(c: number): string {
  return `${argmaxWgsl(c)}
struct RowStats { m: f32, k: u32, u: f32 }
fn row_stats(base: u32) -> RowStats {
  let k = argmax_row(base);
  let m = z[base + k];
  var u = 0.0;
  for (var j = 0u; j < ${c}u; j = j + 1u) {
    if (j != k) { u = u + exp(z[base + j] - m); }
  }
  return RowStats(m, k, u);
}
${LOG1P_WGSL}
fn log1p_pos(u: f32) -> f32 {
  if (u <= 1.0) { return log1p_unit(u); }
  return log(1.0 + u);
}`;
}

/** Batch size and classes of a softmax loss; logits [N, C], labels [N]. */
export function checkCategorical(op: string, logits: Tensor, labels: Tensor): { n: number; c: number } {
  if (logits.shape.length !== 2) throw new Error(`${op}: logits must be [N, C], got [${logits.shape.join(', ')}]`);
  const [n, c] = logits.shape as [number, number];
  if (labels.size !== n) throw new Error(`${op}: ${n} rows of logits for ${labels.size} labels`);
  if (n === 0) throw new Error(`${op}: empty batch`);
  if (c < 2) throw new Error(`${op}: at least 2 classes are needed, got ${c}`);
  return { n, c };
}

function forwardCode(n: number, c: number): string {
  return `@group(0) @binding(0) var<storage, read> z: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;
var<workgroup> red: array<f32, ${REDUCE_WG}>;
${rowStatsWgsl(c)}
@compute @workgroup_size(${REDUCE_WG})
fn main(@builtin(local_invocation_index) t: u32) {
  var acc = 0.0;
  for (var i = t; i < ${n}u; i = i + ${REDUCE_WG}u) {
    let base = i * ${c}u;
    let s = row_stats(base);
    acc = acc + log1p_pos(s.u) + (s.m - z[base + label_of(y[i])]);
  }
  red[t] = acc;
${workgroupSumWgsl('red')}
  if (t == 0u) { loss[0] = red[0] * ${f32(1 / n)}; }
}`;
}

/** Mean softmax cross-entropy of a batch: logits [N, C], labels [N] → shape [1]. */
export function softmaxCrossEntropyForward(e: Engine, logits: Tensor, labels: Tensor, out?: Tensor): Tensor {
  const { n, c } = checkCategorical('softmaxCrossEntropy', logits, labels);
  const loss = out ?? e.empty([1], 'f32', 'softmax_ce_loss');
  e.run({ name: 'softmax_ce_fwd', key: `softmax_ce_fwd:${n},${c}`, code: () => forwardCode(n, c), bindings: [logits, labels, loss], workgroups: [1] });
  return loss;
}

const ROW_WG = 64;

function backwardCode(n: number, c: number): string {
  return `@group(0) @binding(0) var<storage, read> z: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> gy: array<f32>;
@group(0) @binding(3) var<storage, read_write> gz: array<f32>;
var<workgroup> redM: array<f32, ${ROW_WG}>;
var<workgroup> redK: array<u32, ${ROW_WG}>;
var<workgroup> redU: array<f32, ${ROW_WG}>;
@compute @workgroup_size(${ROW_WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= ${n}u) { return; }
  let base = row * ${c}u;
  // Max and its first index: each thread over its columns, then a tree (ties keep the smaller index).
  var m = z[base + min(t, ${c - 1}u)];
  var k = min(t, ${c - 1}u);
  for (var j = t + ${ROW_WG}u; j < ${c}u; j = j + ${ROW_WG}u) {
    let v = z[base + j];
    if (v > m) { m = v; k = j; }
  }
  redM[t] = m;
  redK[t] = k;
${treeArgmax()}
  let rm = redM[0];
  let rk = redK[0];
  var u = 0.0;
  for (var j = t; j < ${c}u; j = j + ${ROW_WG}u) {
    if (j != rk) { u = u + exp(z[base + j] - rm); }
  }
  redU[t] = u;
${workgroupSumWgsl('redU')}
  let su = redU[0];
  let s = 1.0 + su;
  let yi = min(u32(max(y[row], 0.0)), ${c - 1}u);
  let scale = gy[0] * ${f32(1 / n)};
  for (var j = t; j < ${c}u; j = j + ${ROW_WG}u) {
    var g: f32;
    if (j == yi && j == rk) {
      g = -su / s;
    } else {
      var p: f32;
      if (j == rk) { p = 1.0 / s; } else { p = exp(z[base + j] - rm) / s; }
      g = select(p, p - 1.0, j == yi);
    }
    gz[base + j] = g * scale;
  }
}`;
}

function treeArgmax(): string {
  let code = '';
  for (let s = ROW_WG / 2; s >= 1; s /= 2) {
    code += `  workgroupBarrier();
  if (t < ${s}u) {
    let om = redM[t + ${s}u];
    let ok = redK[t + ${s}u];
    if (om > redM[t] || (om == redM[t] && ok < redK[t])) { redM[t] = om; redK[t] = ok; }
  }
`;
  }
  return code + '  workgroupBarrier();';
}

/** d(mean softmax CE)/dz scaled by gy ([1]); shaped like `logits` [N, C]. */
export function softmaxCrossEntropyBackward(e: Engine, logits: Tensor, labels: Tensor, gy: Tensor, out?: Tensor): Tensor {
  const { n, c } = checkCategorical('softmaxCrossEntropy backward', logits, labels);
  const gz = out ?? e.empty(logits.shape, 'f32', 'softmax_ce_grad');
  e.run({ name: 'softmax_ce_bwd', key: `softmax_ce_bwd:${n},${c}`, code: () => backwardCode(n, c), bindings: [logits, labels, gy, gz], workgroups: grid(n * ROW_WG, ROW_WG) });
  return gz;
}

// ------------------------------------------------------------------------------------------------ metrics

/** [loss sum, correct (argmax = label), count, top-k correct]. */
export const CATEGORICAL_STATE_SIZE = 4;

function categoricalMetricsCode(n: number, c: number, topK: number, withLoss: boolean): string {
  const lossBinding = withLoss ? '@group(0) @binding(2) var<storage, read> meanLoss: array<f32>;' : '';
  return `@group(0) @binding(0) var<storage, read> z: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
${lossBinding}
@group(0) @binding(${withLoss ? 3 : 2}) var<storage, read_write> state: array<f32>;
var<workgroup> redLoss: array<f32, ${REDUCE_WG}>;
var<workgroup> redHits: array<f32, ${REDUCE_WG}>;
var<workgroup> redTop: array<f32, ${REDUCE_WG}>;
${rowStatsWgsl(c)}
@compute @workgroup_size(${REDUCE_WG})
fn main(@builtin(local_invocation_index) t: u32) {
  var loss = 0.0;
  var hits = 0.0;
  var top = 0.0;
  for (var i = t; i < ${n}u; i = i + ${REDUCE_WG}u) {
    let base = i * ${c}u;
    let s = row_stats(base);
    let yi = label_of(y[i]);
    let zy = z[base + yi];
    ${withLoss ? '' : 'loss = loss + log1p_pos(s.u) + (s.m - zy);'}
    hits = hits + select(0.0, 1.0, s.k == yi);
    // In the top k when fewer than k classes score strictly higher (ties straddling the boundary count, as TF's in_top_k).
    var above = 0u;
    for (var j = 0u; j < ${c}u; j = j + 1u) { above = above + select(0u, 1u, z[base + j] > zy); }
    top = top + select(0.0, 1.0, above < ${topK}u && zy == zy);
  }
  redLoss[t] = loss;
  redHits[t] = hits;
  redTop[t] = top;
${workgroupSumWgsl('redLoss')}${workgroupSumWgsl('redHits')}${workgroupSumWgsl('redTop')}
  if (t == 0u) {
    state[0] = state[0] + ${withLoss ? `meanLoss[0] * ${n}.0` : 'redLoss[0]'};
    state[1] = state[1] + redHits[0];
    state[2] = state[2] + ${n}.0;
    state[3] = state[3] + redTop[0];
  }
}`;
}

/** Adds one batch to `state` ([4] f32: loss sum, argmax hits, count, top-k hits): no readback. */
export function accumulateCategoricalMetrics(e: Engine, state: Tensor, logits: Tensor, labels: Tensor, opts: { meanLoss?: Tensor; topK?: number } = {}): void {
  const { n, c } = checkCategorical('CategoricalMetrics', logits, labels);
  if (state.size !== CATEGORICAL_STATE_SIZE) throw new Error(`CategoricalMetrics: state must hold ${CATEGORICAL_STATE_SIZE} values`);
  const meanLoss = opts.meanLoss;
  if (meanLoss && meanLoss.size !== 1) throw new Error(`CategoricalMetrics: loss must be a scalar, got [${meanLoss.shape.join(', ')}]`);
  const topK = Math.min(opts.topK ?? 5, c);
  const withLoss = !!meanLoss;
  const bindings = meanLoss ? [logits, labels, meanLoss, state] : [logits, labels, state];
  e.run({
    name: 'categorical_metrics',
    key: `categorical_metrics:${n},${c},${topK},${withLoss ? 1 : 0}`,
    code: () => categoricalMetricsCode(n, c, topK, withLoss),
    bindings,
    workgroups: [1],
  });
}

function confusionCode(n: number, c: number, binary: boolean): string {
  const pred = binary ? 'select(0u, 1u, z[i] > 0.0)' : 'argmax_row(i * ' + `${c}u)`;
  return `@group(0) @binding(0) var<storage, read> z: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> conf: array<atomic<u32>>;
${argmaxWgsl(c)}
@compute @workgroup_size(${REDUCE_WG})
fn main(@builtin(local_invocation_index) t: u32) {
  for (var i = t; i < ${n}u; i = i + ${REDUCE_WG}u) {
    let yi = label_of(y[i]);
    let p = ${pred};
    atomicAdd(&conf[yi * ${c}u + p], 1u);
  }
}`;
}

/**
 * Adds a batch to a confusion matrix `conf` (u32 [C, C], rows true class, columns predicted). Logits [N] or [N, 1]
 * are binary (class 1 when z > 0), [N, C] with C ≥ 2 predict their argmax (first index on ties).
 */
export function accumulateConfusion(e: Engine, conf: Tensor, logits: Tensor, labels: Tensor): void {
  const n = labels.size;
  if (n === 0) throw new Error('confusion: empty batch');
  const binary = logits.size === n && (logits.shape.length === 1 || logits.shape[logits.shape.length - 1] === 1);
  const c = binary ? 2 : logits.shape[logits.shape.length - 1]!;
  if (!binary && (logits.shape.length !== 2 || logits.shape[0] !== n)) throw new Error(`confusion: logits [${logits.shape.join(', ')}] for ${n} labels`);
  if (conf.dtype !== 'u32' || conf.size !== c * c) throw new Error(`confusion: the matrix must be u32 [${c}, ${c}], got ${conf.dtype} [${conf.shape.join(', ')}]`);
  e.run({ name: 'confusion', key: `confusion:${n},${c},${binary ? 1 : 0}`, code: () => confusionCode(n, c, binary), bindings: [logits, labels, conf], workgroups: [1] });
}
