import type { Tensor } from '../../engine/index.js';
import { dropoutBackward, dropoutForward } from '../../kernels/dropout.js';

/** Where a dropout mask comes from. Read when the step runs — and again before every replay of a captured step. */
export interface DropoutDraw {
  readonly seed: number;
  readonly step: number;
}

/**
 * Inverted dropout for training (callers skip it at inference): kept units are scaled by 1 / (1 − rate). The mask is
 * a hash of (seed, step, element index), recomputed by the backward; use a new `step` for every batch. `draw` may
 * use getters over a context that changes per step: a captured step re-reads it before each replay.
 */
export function dropout(x: Tensor, rate: number, draw: DropoutDraw): Tensor {
  const e = x.engine;
  const seeds = e.uploadPerStep(() => new Uint32Array([draw.seed >>> 0, draw.step >>> 0]), [2], 'u32');
  const y = dropoutForward(e, x, rate, seeds);
  // The seeds are the op's own: the tape holds them for the backward (when it records), nobody else needs them.
  e.tape.record('dropout', [x], y, (gy, [s]) => [dropoutBackward(e, gy, rate, s)], [seeds]);
  seeds.dispose();
  return y;
}
