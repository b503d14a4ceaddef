import type { Tensor } from '../../engine/tensor.js';
import { conv2dForward } from '../../kernels/conv2d.js';
import { Layer, type BuildContext, type ForwardContext } from '../layer.js';
import { Concatenate } from './concatenate.js';
import { Conv2D } from './conv2d.js';

export interface FireOptions {
  squeeze: number;
  expand1x1: number;
  expand3x3: number;
}

/**
 * SqueezeNet's fire module: a 1×1 "squeeze" conv + ReLU, then a 1×1 and a 3×3 (padding 1) "expand" conv, each + ReLU,
 * concatenated on channels (1×1 part first). Sub-layers are named `${name}/squeeze1x1`, `/expand1x1`, `/expand3x3`.
 */
export class Fire extends Layer {
  readonly kind = 'Fire';
  readonly squeeze: Conv2D;
  readonly expand1: Conv2D;
  readonly expand3: Conv2D;
  private readonly concat: Concatenate;

  constructor(name: string, opts: FireOptions) {
    super(name);
    this.squeeze = new Conv2D(`${name}/squeeze1x1`, { filters: opts.squeeze, kernelSize: 1, activation: 'relu' });
    this.expand1 = new Conv2D(`${name}/expand1x1`, { filters: opts.expand1x1, kernelSize: 1, activation: 'relu' });
    this.expand3 = new Conv2D(`${name}/expand3x3`, { filters: opts.expand3x3, kernelSize: 3, padding: 'same', activation: 'relu' });
    this.concat = new Concatenate(`${name}/concat`);
  }

  override children(): readonly Layer[] {
    return [this.squeeze, this.expand1, this.expand3];
  }

  computeOutputShape(input: readonly number[]): number[] {
    const s = this.squeeze.computeOutputShape(input);
    return this.concat.computeOutputShape([this.expand1.computeOutputShape(s), this.expand3.computeOutputShape(s)]);
  }

  protected override createParams(input: readonly number[], ctx: BuildContext): void {
    const s = this.squeeze.build(input, ctx);
    this.expand1.build(s, ctx);
    this.expand3.build(s, ctx);
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    const s = this.squeeze.forward(x, ctx);
    const e = s.engine;
    const params = [this.expand1, this.expand3].flatMap((c) => [c.param('kernel'), c.param('bias')]);
    // The declared fused path, taken only when nothing needs a gradient: exactly when the tape would record none of
    // the expand convs (the same rule `Tape.record` applies). Both expand convs then write their halves of one output
    // directly, so there is no concatenation pass; the values are those of the differentiable path, bit for bit.
    const fused = !e.tape.wouldRecord([s, ...params]);
    const y = fused ? this.expandFused(s, params as [Tensor, Tensor, Tensor, Tensor]) : this.expandDifferentiable(s, ctx);
    s.dispose();
    return y;
  }

  /** Outside autograd: only for `forward`'s no-gradient case. */
  private expandFused(s: Tensor, [w1, b1, w3, b3]: [Tensor, Tensor, Tensor, Tensor]): Tensor {
    const e = s.engine;
    const [N, H, W] = s.shape as [number, number, number, number];
    const y = e.empty([N, H, W, this.expand1.filters + this.expand3.filters], 'f32', 'fire');
    conv2dForward(e, s, w1, b1, { relu: true, out: y, outChannelOffset: 0 });
    conv2dForward(e, s, w3, b3, { relu: true, padding: 'same', out: y, outChannelOffset: this.expand1.filters });
    return y;
  }

  private expandDifferentiable(s: Tensor, ctx: ForwardContext): Tensor {
    const a = this.expand1.forward(s, ctx);
    const b = this.expand3.forward(s, ctx);
    const y = this.concat.apply([a, b]);
    a.dispose(); // the tape holds what the convs' backward passes read
    b.dispose();
    return y;
  }
}
