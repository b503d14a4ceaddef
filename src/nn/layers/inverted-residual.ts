import type { Tensor } from '../../engine/tensor.js';
import { add } from '../ops/index.js';
import { Layer, type BuildContext, type ForwardContext } from '../layer.js';
import { Conv2D } from './conv2d.js';
import { DepthwiseConv2D } from './depthwise-conv2d.js';

export interface InvertedResidualOptions {
  /** Channels after the 1×1 expansion (ReLU6); null for a block without one (MobileNetV2's first block). */
  expandChannels: number | null;
  outChannels: number;
  strides: 1 | 2;
}

/**
 * MobileNetV2's inverted-residual block: [1×1 expand + ReLU6] → depthwise 3×3 (stride s) + ReLU6 → 1×1 project
 * (linear), plus the block's input when the stride is 1 and the channel counts match. Sub-layers are named as in
 * Keras: `${name}_expand`, `${name}_depthwise`, `${name}_project`.
 */
export class InvertedResidual extends Layer {
  readonly kind = 'InvertedResidual';
  readonly expand: Conv2D | null;
  readonly depthwise: DepthwiseConv2D;
  readonly project: Conv2D;
  private residual = false;

  constructor(name: string, opts: InvertedResidualOptions) {
    super(name);
    this.expand = opts.expandChannels === null ? null : new Conv2D(`${name}_expand`, { filters: opts.expandChannels, kernelSize: 1, activation: 'relu6' });
    this.depthwise = new DepthwiseConv2D(`${name}_depthwise`, { strides: opts.strides, activation: 'relu6' });
    this.project = new Conv2D(`${name}_project`, { filters: opts.outChannels, kernelSize: 1, activation: 'linear' });
  }

  /** Whether the block adds its input to its output (known once built). */
  get hasResidual(): boolean {
    return this.residual;
  }

  override children(): readonly Layer[] {
    return this.expand ? [this.expand, this.depthwise, this.project] : [this.depthwise, this.project];
  }

  computeOutputShape(input: readonly number[]): number[] {
    const e = this.expand ? this.expand.computeOutputShape(input) : [...input];
    return this.project.computeOutputShape(this.depthwise.computeOutputShape(e));
  }

  protected override createParams(input: readonly number[], ctx: BuildContext): void {
    const e = this.expand ? this.expand.build(input, ctx) : [...input];
    const out = this.project.build(this.depthwise.build(e, ctx), ctx);
    this.residual = this.depthwise.strides === 1 && out[2] === input[2];
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    const temps: Tensor[] = [];
    let h = x;
    if (this.expand) temps.push((h = this.expand.forward(h, ctx)));
    temps.push((h = this.depthwise.forward(h, ctx)));
    const p = this.project.forward(h, ctx);
    // The autograd tape holds what each op's backward reads, so the block frees its temporaries right away.
    for (const t of temps) t.dispose();
    if (!this.residual) return p;
    const y = add(x, p);
    p.dispose();
    return y;
  }
}
