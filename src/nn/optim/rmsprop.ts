import type { Tensor } from '../../engine/index.js';
import { rmspropStep } from '../../kernels/rmsprop.js';
import { checkParamNames, dropGrads, paramName, type Optimizer } from './optimizer.js';

/** Keras 2's RMSprop defaults. */
export const RMSPROP_DEFAULTS = Object.freeze({ rho: 0.9, epsilon: 1e-7 });

export interface RMSpropOptions {
  lr: number;
  /** Decay of the squared-gradient average (Keras default 0.9). */
  rho?: number;
  /** Added to √a, outside the square root as in Keras 2 (default 1e-7). */
  epsilon?: number;
  /** Keras 2 time decay: update k (from 0) uses lr / (1 + decay·k). */
  decay?: number;
}

/**
 * RMSprop with Keras 2 semantics: a ← ρ·a + (1 − ρ)·g², p ← p − lr_t·g / (√a + ε), accumulators from zero.
 * One fused kernel per parameter; parameters whose gradient is null (frozen, or unused this step) are skipped.
 */
export class RMSprop implements Optimizer {
  readonly name = 'rmsprop';
  readonly lr: number;
  readonly rho: number;
  readonly epsilon: number;
  readonly decay: number;
  /** Updates made so far (Keras' `iterations`); settable when restoring a checkpoint. */
  iterations = 0;
  private readonly accumulators: Tensor[];
  /** lr_t of the current update, written by the host once per step (a captured step rewrites it per replay). */
  private readonly lrTensor: Tensor;

  constructor(
    readonly params: Tensor[],
    opts: RMSpropOptions,
  ) {
    this.lr = opts.lr;
    this.rho = opts.rho ?? RMSPROP_DEFAULTS.rho;
    this.epsilon = opts.epsilon ?? RMSPROP_DEFAULTS.epsilon;
    this.decay = opts.decay ?? 0;
    if (!(this.lr > 0) || !(this.rho >= 0 && this.rho < 1) || !(this.epsilon >= 0) || !(this.decay >= 0)) {
      throw new Error(`RMSprop: invalid options lr=${this.lr} rho=${this.rho} epsilon=${this.epsilon} decay=${this.decay}`);
    }
    checkParamNames('RMSprop', params);
    this.accumulators = params.map((p) => p.engine.keep(p.engine.full(p.shape, 0)));
    const e = params[0]?.engine;
    if (!e) throw new Error('RMSprop: no parameters to optimize');
    this.lrTensor = e.keep(e.full([1], this.lr));
  }

  /** The learning rate the next update uses. */
  get currentLr(): number {
    return this.lr / (1 + this.decay * this.iterations);
  }

  step(): void {
    const e = this.lrTensor.engine;
    e.perStep(() => {
      e.write(this.lrTensor, new Float32Array([this.currentLr]));
      this.iterations++;
    });
    this.params.forEach((p, i) => {
      if (!p.grad) return;
      e.noGrad(() => rmspropStep(e, p, p.grad!, this.accumulators[i]!, this.lrTensor, this.rho, this.epsilon));
    });
  }

  /** Drops every gradient (backward allocates fresh ones; until then gradients accumulate). */
  zeroGrad(): void {
    dropGrads(this.params);
  }

  /** The squared-gradient accumulators by parameter name (for checkpoints; write into them to restore). */
  stateTensors(): Map<string, Tensor> {
    return new Map(this.params.map((p, i) => [paramName(p, i), this.accumulators[i]!]));
  }

  dispose(): void {
    for (const a of this.accumulators) a.dispose();
    this.lrTensor.dispose();
  }
}
