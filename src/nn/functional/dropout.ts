import type { Tensor } from '../../engine/index.js';
import { dropoutBackward, dropoutForward } from '../../kernels/dropout.js';

/**
 * Inverted dropout for training (callers skip it at inference): kept units are scaled by 1 / (1 − rate). The mask is
 * a hash of (seed, step, element index), recomputed by the backward; use a new `step` for every batch.
 */
export function dropout(x: Tensor, rate: number, seed: number, step: number): Tensor {
  const e = x.engine;
  const y = dropoutForward(e, x, rate, seed, step);
  e.tape.record('dropout', [x], y, (gy) => [dropoutBackward(e, gy, rate, seed, step)]);
  return y;
}
