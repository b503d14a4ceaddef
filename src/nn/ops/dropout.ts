import type { Tensor } from '../../engine/index.js';
import { dropoutBackward, dropoutForward } from '../../kernels/dropout.js';
import { refDropout } from '../../reference/dropout.js';
import { apply, type OpDef } from './op.js';

/** Where a dropout mask comes from. Read when the step runs — and again before every replay of a captured step. */
export interface DropoutDraw {
  readonly seed: number;
  readonly step: number;
}

interface DropoutAttrs {
  rate: number;
  draw: DropoutDraw;
}

/**
 * Inverted dropout for training (callers skip it at inference): kept units are scaled by 1 / (1 − rate). The mask is
 * a hash of (seed, step, element index), recomputed by the backward from the seeds the forward uploaded.
 */
export const DROPOUT: OpDef<DropoutAttrs> = {
  name: 'dropout',
  forward: (e, [x], { rate, draw }) => {
    const seeds = e.uploadPerStep(() => new Uint32Array([draw.seed >>> 0, draw.step >>> 0]), [2], 'u32');
    // The seeds are the op's own: the tape holds them for the backward (when it records), nobody else needs them.
    return { y: dropoutForward(e, x!, rate, seeds), own: [seeds] };
  },
  save: () => [{ own: 0 }],
  backward: ({ engine, attrs: { rate } }, gy, [seeds]) => [dropoutBackward(engine, gy, rate, seeds!)],
  reference: {
    forward: ([x], { rate, draw }) => ({ data: refDropout(x!.data, rate, draw.seed, draw.step), shape: x!.shape }),
    backward: (_, { rate, draw }, gy) => [refDropout(gy, rate, draw.seed, draw.step)],
  },
  cases: [
    { label: '[4, 37] rate 0.5', inputs: [{ shape: [4, 37] }], attrs: { rate: 0.5, draw: { seed: 7, step: 3 } } },
    { label: '[2, 5, 5, 8] rate 0.25', inputs: [{ shape: [2, 5, 5, 8] }], attrs: { rate: 0.25, draw: { seed: 0xfffffff0, step: 1 } } },
    { label: '[300] rate 0', inputs: [{ shape: [300] }], attrs: { rate: 0, draw: { seed: 1, step: 0 } } },
  ],
};

/** `draw` may use getters over a context that changes per step: a captured step re-reads it before each replay. */
export function dropout(x: Tensor, rate: number, draw: DropoutDraw): Tensor {
  return apply(DROPOUT, [x], { rate, draw });
}
