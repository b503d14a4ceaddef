import type { Tensor } from '../../engine/index.js';
import { bceWithLogitsBackward, bceWithLogitsForward } from '../../kernels/loss.js';

/**
 * Binary cross-entropy of sigmoid(logits) against 0/1 labels, mean over the batch → shape [1]. Computed from the
 * logits (what Keras does for a sigmoid output), so the model's last layer returns logits.
 */
export function bceWithLogits(logits: Tensor, labels: Tensor): Tensor {
  const e = logits.engine;
  const loss = bceWithLogitsForward(e, logits, labels);
  e.tape.record('bceWithLogits', [logits, labels], loss, (gy) => [
    logits.requiresGrad ? bceWithLogitsBackward(e, logits, labels, gy) : null,
    null,
  ]);
  return loss;
}
