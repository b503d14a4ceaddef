import type { Engine, Tensor } from '../../engine/index.js';
import { bceWithLogitsBackward, bceWithLogitsForward } from '../../kernels/loss.js';
import { softmaxCrossEntropyBackward, softmaxCrossEntropyForward } from '../../kernels/softmax-ce.js';
import { refBceWithLogits, refBceWithLogitsBackward } from '../../reference/loss.js';
import { refSoftmaxCrossEntropy, refSoftmaxCrossEntropyBackward } from '../../reference/softmax-ce.js';
import type { Rng } from '../../util/rng.js';
import { apply, uniform, type OpCase, type OpDef, type RefTensor } from './op.js';

type NoAttrs = Record<string, never>;

/**
 * A loss of (logits, labels) → [1], mean over the batch. Its backward reads logits and labels (saved only when the
 * logits need a gradient); labels never get one.
 */
function lossFromLogits(spec: {
  name: string;
  forward: (e: Engine, logits: Tensor, labels: Tensor) => Tensor;
  backward: (e: Engine, logits: Tensor, labels: Tensor, gy: Tensor) => Tensor;
  ref: (z: RefTensor, y: RefTensor) => number;
  refBackward: (z: RefTensor, y: RefTensor, gy: number) => Float64Array;
  cases: OpCase<NoAttrs>[];
}): OpDef<NoAttrs> {
  return {
    name: spec.name,
    forward: (e, [z, y]) => ({ y: spec.forward(e, z!, y!) }),
    save: ([needZ]) => (needZ ? [{ input: 0 }, { input: 1 }] : []),
    backward: ({ engine, need: [needZ] }, gy, [z, y]) => [needZ ? spec.backward(engine, z!, y!, gy) : null, null],
    reference: {
      forward: ([z, y]) => ({ data: Float64Array.of(spec.ref(z!, y!)), shape: [1] }),
      backward: ([z, y], _, gy) => [spec.refBackward(z!, y!, gy[0]!), null],
    },
    cases: spec.cases,
  };
}

const labels01 = (n: number, rng: Rng): Float32Array => Float32Array.from({ length: n }, () => (rng.uniform(0, 1) < 0.5 ? 0 : 1));
const classes = (c: number) => (n: number, rng: Rng): Float32Array => Float32Array.from({ length: n }, () => Math.min(c - 1, Math.floor(rng.uniform(0, c))));

/**
 * Binary cross-entropy of sigmoid(logits) against 0/1 labels, mean over the batch → [1]. Computed from the logits
 * (what Keras does for a sigmoid output), so the model's last layer returns logits.
 */
export const BCE_WITH_LOGITS = lossFromLogits({
  name: 'bceWithLogits',
  forward: bceWithLogitsForward,
  backward: bceWithLogitsBackward,
  ref: (z, y) => refBceWithLogits(z.data, y.data),
  refBackward: (z, y, gy) => refBceWithLogitsBackward(z.data, y.data, gy),
  cases: (
    [
      [[7], 3],
      [[20, 1], 8],
      [[300], 20],
    ] as [number[], number][]
  ).map(([shape, scale]) => ({
    label: `[${shape.join(', ')}], logits in ±${scale}`,
    inputs: [{ shape, gen: uniform(-scale, scale) }, { shape: [shape[0]!], gen: labels01, grad: false }],
    attrs: {},
  })),
});

/**
 * Softmax cross-entropy of logits [N, C] against class indices [N] (f32), mean over the batch → [1]: Keras'
 * categorical cross-entropy on a softmax output, in one fused log-sum-exp kernel.
 */
export const SOFTMAX_CROSS_ENTROPY = lossFromLogits({
  name: 'softmaxCrossEntropy',
  forward: softmaxCrossEntropyForward,
  backward: softmaxCrossEntropyBackward,
  ref: (z, y) => refSoftmaxCrossEntropy(z.data, y.data, z.shape[1]!),
  refBackward: (z, y, gy) => refSoftmaxCrossEntropyBackward(z.data, y.data, z.shape[1]!, gy),
  cases: (
    [
      [5, 2, 4],
      [20, 12, 10],
      [3, 70, 30],
      [7, 1000, 100],
    ] as [number, number, number][]
  ).map(([n, c, scale]) => ({
    label: `${n}×${c}, logits in ±${scale}`,
    inputs: [{ shape: [n, c], gen: uniform(-scale, scale) }, { shape: [n], gen: classes(c), grad: false }],
    attrs: {},
    // Large logits make the objective large: a wider step keeps rounding below the (smooth) function's curvature.
    fdStep: scale >= 30 ? 1e-4 : undefined,
  })),
});

export function bceWithLogits(logits: Tensor, labels: Tensor): Tensor {
  return apply(BCE_WITH_LOGITS, [logits, labels], {});
}

export function softmaxCrossEntropy(logits: Tensor, labels: Tensor): Tensor {
  return apply(SOFTMAX_CROSS_ENTROPY, [logits, labels], {});
}

/** The loss of a classifier's logits: BCE for one output unit ([N] or [N, 1]), softmax cross-entropy for C ≥ 2. */
export function classificationLoss(logits: Tensor, labels: Tensor): Tensor {
  return logits.shape.length === 2 && logits.shape[1]! >= 2 ? softmaxCrossEntropy(logits, labels) : bceWithLogits(logits, labels);
}
