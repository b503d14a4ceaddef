import type { Engine, Tensor } from '../engine/index.js';
import { BCE_WGSL, checkBatch, REDUCE_WG, workgroupSumWgsl } from './loss.js';

/**
 * Accumulates binary-classification metrics of a batch into a small GPU state [loss sum, correct, count]
 * (f32; counts stay exact below 2^24 samples). A prediction is class 1 when sigmoid(z) > 0.5, i.e. z > 0.
 * The loss sum adds mean-loss·N from a given loss tensor, or the BCE of each sample computed here.
 */

export const METRICS_STATE_SIZE = 3;

function metricsCode(n: number, withLoss: boolean): string {
  const lossBinding = withLoss ? '@group(0) @binding(2) var<storage, read> meanLoss: array<f32>;' : '';
  const stateBinding = withLoss ? 3 : 2;
  return `@group(0) @binding(0) var<storage, read> z: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
${lossBinding}
@group(0) @binding(${stateBinding}) var<storage, read_write> state: array<f32>;
var<workgroup> redLoss: array<f32, ${REDUCE_WG}>;
var<workgroup> redHits: array<f32, ${REDUCE_WG}>;
${BCE_WGSL}
@compute @workgroup_size(${REDUCE_WG})
fn main(@builtin(local_invocation_index) t: u32) {
  var loss = 0.0;
  var hits = 0.0;
  for (var i = t; i < ${n}u; i = i + ${REDUCE_WG}u) {
    let zi = z[i];
    let yi = y[i];
    ${withLoss ? '' : 'loss = loss + bce_term(zi, yi);'}
    hits = hits + select(0.0, 1.0, (zi > 0.0) == (yi > 0.5));
  }
  redLoss[t] = loss;
  redHits[t] = hits;
${workgroupSumWgsl('redLoss')}${workgroupSumWgsl('redHits')}
  if (t == 0u) {
    state[0] = state[0] + ${withLoss ? `meanLoss[0] * ${n}.0` : 'redLoss[0]'};
    state[1] = state[1] + redHits[0];
    state[2] = state[2] + ${n}.0;
  }
}`;
}

/** Adds one batch to `state` (a [3] f32 tensor): no readback. */
export function accumulateBinaryMetrics(e: Engine, state: Tensor, logits: Tensor, labels: Tensor, meanLoss?: Tensor): void {
  const n = checkBatch('BinaryMetrics', logits, labels);
  if (state.size !== METRICS_STATE_SIZE) throw new Error('BinaryMetrics: state must hold 3 values');
  if (meanLoss && meanLoss.size !== 1) throw new Error(`BinaryMetrics: loss must be a scalar, got [${meanLoss.shape.join(', ')}]`);
  const bindings = meanLoss ? [logits, labels, meanLoss, state] : [logits, labels, state];
  const withLoss = !!meanLoss;
  e.run({ name: 'binary_metrics', key: `binary_metrics:${n},${withLoss ? 1 : 0}`, code: () => metricsCode(n, withLoss), bindings, workgroups: [1] });
}
