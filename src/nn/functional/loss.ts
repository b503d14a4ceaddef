import type { Tensor } from '../../engine/index.js';
import { bceWithLogitsBackward, bceWithLogitsForward } from '../../kernels/loss.js';
import { softmaxCrossEntropyBackward, softmaxCrossEntropyForward } from '../../kernels/softmax-ce.js';

/**
 * Binary cross-entropy of sigmoid(logits) against 0/1 labels, mean over the batch → shape [1]. Computed from the
 * logits (what Keras does for a sigmoid output), so the model's last layer returns logits.
 */
export function bceWithLogits(logits: Tensor, labels: Tensor): Tensor {
  const e = logits.engine;
  const loss = bceWithLogitsForward(e, logits, labels);
  const need = logits.requiresGrad;
  e.tape.record('bceWithLogits', [logits, labels], loss, (gy, [z, y]) => [need ? bceWithLogitsBackward(e, z!, y!, gy) : null, null], [
    need ? logits : null,
    need ? labels : null,
  ]);
  return loss;
}

/**
 * Softmax cross-entropy of logits [N, C] against class indices [N] (f32), mean over the batch → shape [1]: Keras'
 * categorical cross-entropy on a softmax output, computed from the logits in one fused log-sum-exp kernel.
 */
export function softmaxCrossEntropy(logits: Tensor, labels: Tensor): Tensor {
  const e = logits.engine;
  const loss = softmaxCrossEntropyForward(e, logits, labels);
  const need = logits.requiresGrad;
  e.tape.record('softmaxCrossEntropy', [logits, labels], loss, (gy, [z, y]) => [need ? softmaxCrossEntropyBackward(e, z!, y!, gy) : null, null], [
    need ? logits : null,
    need ? labels : null,
  ]);
  return loss;
}

/** The loss of a classifier's logits: BCE for one output unit ([N] or [N, 1]), softmax cross-entropy for C ≥ 2. */
export function classificationLoss(logits: Tensor, labels: Tensor): Tensor {
  return logits.shape.length === 2 && logits.shape[1]! >= 2 ? softmaxCrossEntropy(logits, labels) : bceWithLogits(logits, labels);
}
