import type { Tensor } from '../../engine/index.js';
import { bceWithLogitsBackward, bceWithLogitsForward } from '../../kernels/loss.js';

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
