import type { Tensor } from '../../engine/index.js';
import { adamStep } from '../../kernels/adam.js';
import { checkParamNames, dropGrads, paramName, type Optimizer } from './optimizer.js';

/** Keras 2's Adam defaults. */
export const ADAM_DEFAULTS = Object.freeze({ beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });

export interface AdamOptions {
  lr: number;
  /** Decay of the gradient average (Keras default 0.9). */
  beta1?: number;
  /** Decay of the squared-gradient average (Keras default 0.999). */
  beta2?: number;
  /** Added to √v, outside the square root as in Keras 2 (default 1e-7). */
  epsilon?: number;
}

/**
 * Adam with Keras 2 semantics: m ← β1·m + (1 − β1)·g, v ← β2·v + (1 − β2)·g², p ← p − lr_t·m / (√v + ε) with
 * lr_t = lr·√(1 − β2^t)/(1 − β1^t) at update t (from 1), moments from zero. One fused kernel per parameter;
 * parameters whose gradient is null (frozen, or unused this step) are skipped.
 */
export class Adam implements Optimizer {
  readonly name = 'adam';
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  iterations = 0;
  private readonly m: Tensor[];
  private readonly v: Tensor[];
  /** lr_t of the current update, written by the host once per step (a captured step rewrites it per replay). */
  private readonly lrTensor: Tensor;

  constructor(
    readonly params: Tensor[],
    opts: AdamOptions,
  ) {
    this.lr = opts.lr;
    this.beta1 = opts.beta1 ?? ADAM_DEFAULTS.beta1;
    this.beta2 = opts.beta2 ?? ADAM_DEFAULTS.beta2;
    this.epsilon = opts.epsilon ?? ADAM_DEFAULTS.epsilon;
    const unit = (b: number): boolean => b >= 0 && b < 1;
    if (!(this.lr > 0) || !unit(this.beta1) || !unit(this.beta2) || !(this.epsilon >= 0)) {
      throw new Error(`Adam: invalid options lr=${this.lr} beta1=${this.beta1} beta2=${this.beta2} epsilon=${this.epsilon}`);
    }
    checkParamNames('Adam', params);
    const e = params[0]?.engine;
    if (!e) throw new Error('Adam: no parameters to optimize');
    this.m = params.map((p) => e.keep(e.full(p.shape, 0)));
    this.v = params.map((p) => e.keep(e.full(p.shape, 0)));
    this.lrTensor = e.keep(e.full([1], this.lr));
  }

  /** The bias-corrected lr_t the next update uses. */
  get currentLr(): number {
    const t = this.iterations + 1;
    return (this.lr * Math.sqrt(1 - this.beta2 ** t)) / (1 - this.beta1 ** t);
  }

  step(): void {
    const e = this.lrTensor.engine;
    e.perStep(() => {
      e.write(this.lrTensor, new Float32Array([this.currentLr]));
      this.iterations++;
    });
    this.params.forEach((p, i) => {
      if (!p.grad) return;
      e.noGrad(() => adamStep(e, p, p.grad!, this.m[i]!, this.v[i]!, this.lrTensor, this.beta1, this.beta2, this.epsilon));
    });
  }

  zeroGrad(): void {
    dropGrads(this.params);
  }

  /** The first moments as `m/<param>` and the second as `v/<param>`. */
  stateTensors(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    this.params.forEach((p, i) => out.set(`m/${paramName(p, i)}`, this.m[i]!));
    this.params.forEach((p, i) => out.set(`v/${paramName(p, i)}`, this.v[i]!));
    return out;
  }

  dispose(): void {
    for (const t of [...this.m, ...this.v]) t.dispose();
    this.lrTensor.dispose();
  }
}
