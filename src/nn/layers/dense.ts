import type { Tensor } from '../../engine/tensor.js';
import { sigmoid } from '../ops/index.js';
import { dense } from '../ops/index.js';
import { glorotUniform, zeros } from '../init.js';
import { Layer, shapeText, type BuildContext, type ForwardContext } from '../layer.js';

export type DenseActivation = 'relu' | 'linear' | 'sigmoid';

/**
 * Keras Dense on [N, K] inputs: kernel [K, units], bias [units]. ReLU is fused. With 'sigmoid' the forward pass
 * returns probabilities; `forwardLogits` returns the pre-activation, which is what a stable binary cross-entropy takes.
 */
export class Dense extends Layer {
  readonly kind = 'Dense';
  readonly units: number;
  readonly activation: DenseActivation;
  readonly useBias: boolean;

  constructor(name: string, opts: { units: number; activation?: DenseActivation; useBias?: boolean }) {
    super(name);
    if (!Number.isInteger(opts.units) || opts.units < 1) throw new Error(`Dense '${name}': units must be a positive integer`);
    this.units = opts.units;
    this.activation = opts.activation ?? 'linear';
    this.useBias = opts.useBias ?? true;
  }

  computeOutputShape(input: readonly number[]): number[] {
    if (input.length !== 1) throw new Error(`Dense '${this.name}': expects flat (K,) inputs, got ${shapeText(input)}; add a Flatten layer`);
    return [this.units];
  }

  protected override createParams(input: readonly number[], ctx: BuildContext): void {
    const shape = [input[0]!, this.units];
    this.addParam(ctx.engine, 'kernel', shape, glorotUniform(ctx.rng, shape));
    if (this.useBias) this.addParam(ctx.engine, 'bias', [this.units], zeros(this.units));
  }

  /** The output before a sigmoid (ReLU, when that is the activation, is still applied). */
  forwardLogits(x: Tensor): Tensor {
    return dense(x, this.param('kernel'), this.useBias ? this.param('bias') : null, { relu: this.activation === 'relu' });
  }

  forward(x: Tensor, _ctx: ForwardContext): Tensor {
    const z = this.forwardLogits(x);
    if (this.activation !== 'sigmoid') return z;
    const y = sigmoid(z);
    z.dispose(); // the tape holds what sigmoid's backward reads
    return y;
  }
}
