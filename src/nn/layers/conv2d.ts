import type { Tensor } from '../../engine/tensor.js';
import { conv2d } from '../ops/index.js';
import { glorotUniform, zeros } from '../init.js';
import { Layer, shapeText, type BuildContext, type ForwardContext } from '../layer.js';

export type ConvActivation = 'relu' | 'relu6' | 'linear';

export interface Conv2DOptions {
  filters: number;
  kernelSize: 1 | 3;
  strides?: 1 | 2;
  padding?: 'same' | 'valid';
  /** Fused into the convolution's epilogue. */
  activation?: ConvActivation;
  useBias?: boolean;
}

/** Keras Conv2D on NHWC inputs: kernel [k, k, in, filters] (HWIO), bias [filters]. */
export class Conv2D extends Layer {
  readonly kind = 'Conv2D';
  readonly filters: number;
  readonly kernelSize: 1 | 3;
  readonly strides: 1 | 2;
  readonly padding: 'same' | 'valid';
  readonly activation: ConvActivation;
  readonly useBias: boolean;

  constructor(name: string, opts: Conv2DOptions) {
    super(name);
    if (!Number.isInteger(opts.filters) || opts.filters < 1) throw new Error(`Conv2D '${name}': filters must be a positive integer`);
    this.filters = opts.filters;
    this.kernelSize = opts.kernelSize;
    this.strides = opts.strides ?? 1;
    this.padding = opts.padding ?? 'same';
    this.activation = opts.activation ?? 'linear';
    this.useBias = opts.useBias ?? true;
  }

  computeOutputShape(input: readonly number[]): number[] {
    if (input.length !== 3) throw new Error(`Conv2D '${this.name}': expects (H, W, C) inputs, got ${shapeText(input)}`);
    const [h, w] = input as [number, number, number];
    const k = this.kernelSize;
    const s = this.strides;
    const size = (d: number): number => (this.padding === 'same' ? Math.ceil(d / s) : Math.floor((d - k) / s) + 1);
    const out = [size(h), size(w), this.filters];
    if (out[0]! < 1 || out[1]! < 1) throw new Error(`Conv2D '${this.name}': input ${shapeText(input)} is smaller than the ${k}×${k} kernel`);
    return out;
  }

  protected override createParams(input: readonly number[], ctx: BuildContext): void {
    const shape = [this.kernelSize, this.kernelSize, input[2]!, this.filters];
    this.addParam(ctx.engine, 'kernel', shape, glorotUniform(ctx.rng, shape));
    if (this.useBias) this.addParam(ctx.engine, 'bias', [this.filters], zeros(this.filters));
  }

  forward(x: Tensor, _ctx: ForwardContext): Tensor {
    return conv2d(x, this.param('kernel'), this.useBias ? this.param('bias') : null, {
      stride: this.strides,
      padding: this.padding,
      activation: this.activation,
    });
  }
}
