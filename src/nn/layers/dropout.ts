import type { Tensor } from '../../engine/tensor.js';
import { dropout } from '../ops/index.js';
import { Layer, type ForwardContext } from '../layer.js';

/** 32-bit FNV-1a of a layer name, so two dropout layers fed the same seed draw different masks. */
function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Inverted dropout in training (kept units scaled by 1 / (1 − rate)); the identity at inference. */
export class Dropout extends Layer {
  readonly kind = 'Dropout';
  readonly rate: number;

  constructor(name: string, rate: number) {
    super(name);
    if (!(rate >= 0 && rate < 1)) throw new Error(`Dropout '${name}': rate must be in [0, 1), got ${rate}`);
    this.rate = rate;
  }

  computeOutputShape(input: readonly number[]): number[] {
    return [...input];
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    if (!ctx.training || this.rate === 0) return x;
    const salt = nameHash(this.name);
    // Getters: a captured training step re-reads the context (a new step, a new epoch) before every replay.
    return dropout(x, this.rate, {
      get seed() {
        return (ctx.seed ^ salt) >>> 0;
      },
      get step() {
        return ctx.step;
      },
    });
  }
}
