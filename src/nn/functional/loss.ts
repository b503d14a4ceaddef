import type { Engine, Tensor } from '../../engine/index.js';
import { bceWithLogitsBackward, bceWithLogitsForward } from '../../kernels/loss.js';
import { softmaxCrossEntropyBackward, softmaxCrossEntropyForward } from '../../kernels/softmax-ce.js';

type LossKernels = {
  forward: (e: Engine, logits: Tensor, labels: Tensor) => Tensor;
  backward: (e: Engine, logits: Tensor, labels: Tensor, gy: Tensor) => Tensor;
};

/** A loss from the logits on the tape: its backward reads logits and labels (saved only when a gradient is wanted). */
function lossFromLogits(name: string, k: LossKernels, logits: Tensor, labels: Tensor): Tensor {
  const e = logits.engine;
  const loss = k.forward(e, logits, labels);
  const need = logits.requiresGrad;
  e.tape.record(name, [logits, labels], loss, (gy, [z, y]) => [need ? k.backward(e, z!, y!, gy) : null, null], [need ? logits : null, need ? labels : null]);
  return loss;
}

const BCE: LossKernels = { forward: bceWithLogitsForward, backward: bceWithLogitsBackward };
const SOFTMAX_CE: LossKernels = { forward: softmaxCrossEntropyForward, backward: softmaxCrossEntropyBackward };

/**
 * Binary cross-entropy of sigmoid(logits) against 0/1 labels, mean over the batch → shape [1]. Computed from the
 * logits (what Keras does for a sigmoid output), so the model's last layer returns logits.
 */
export function bceWithLogits(logits: Tensor, labels: Tensor): Tensor {
  return lossFromLogits('bceWithLogits', BCE, logits, labels);
}

/**
 * Softmax cross-entropy of logits [N, C] against class indices [N] (f32), mean over the batch → shape [1]: Keras'
 * categorical cross-entropy on a softmax output, computed from the logits in one fused log-sum-exp kernel.
 */
export function softmaxCrossEntropy(logits: Tensor, labels: Tensor): Tensor {
  return lossFromLogits('softmaxCrossEntropy', SOFTMAX_CE, logits, labels);
}

/** The loss of a classifier's logits: BCE for one output unit ([N] or [N, 1]), softmax cross-entropy for C ≥ 2. */
export function classificationLoss(logits: Tensor, labels: Tensor): Tensor {
  return logits.shape.length === 2 && logits.shape[1]! >= 2 ? softmaxCrossEntropy(logits, labels) : bceWithLogits(logits, labels);
}
