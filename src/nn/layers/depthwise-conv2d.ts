import type { Tensor } from '../../engine/tensor.js';
import { depthwiseConv2d, type DepthwiseActivation } from '../ops/index.js';
import { glorotUniform, zeros } from '../init.js';
import { Layer, shapeText, type BuildContext, type ForwardContext } from '../layer.js';

export interface DepthwiseConv2DOptions {
  strides?: 1 | 2;
  /** Fused into the convolution's epilogue. */
  activation?: DepthwiseActivation;
  useBias?: boolean;
}

/**
 * Depthwise 3×3 convolution with symmetric padding 1 (PyTorch / ONNX style, which is also Keras 'same' for stride 1
 * and for odd sizes at stride 2): depthwise_kernel [3, 3, C, 1], bias [C].
 */
export class DepthwiseConv2D extends Layer {
  readonly kind = 'DepthwiseConv2D';
  readonly strides: 1 | 2;
  readonly activation: DepthwiseActivation;
  readonly useBias: boolean;

  constructor(name: string, opts: DepthwiseConv2DOptions = {}) {
    super(name);
    this.strides = opts.strides ?? 1;
    this.activation = opts.activation ?? 'linear';
    this.useBias = opts.useBias ?? true;
  }

  computeOutputShape(input: readonly number[]): number[] {
    if (input.length !== 3) throw new Error(`DepthwiseConv2D '${this.name}': expects (H, W, C) inputs, got ${shapeText(input)}`);
    const [h, w, c] = input as [number, number, number];
    return [Math.floor((h - 1) / this.strides) + 1, Math.floor((w - 1) / this.strides) + 1, c];
  }

  protected override createParams(input: readonly number[], ctx: BuildContext): void {
    const c = input[2]!;
    const shape = [3, 3, c, 1];
    this.addParam(ctx.engine, 'depthwise_kernel', shape, glorotUniform(ctx.rng, shape));
    if (this.useBias) this.addParam(ctx.engine, 'bias', [c], zeros(c));
  }

  forward(x: Tensor, _ctx: ForwardContext): Tensor {
    return depthwiseConv2d(x, this.param('depthwise_kernel'), this.useBias ? this.param('bias') : null, {
      stride: this.strides,
      activation: this.activation,
    });
  }
}
