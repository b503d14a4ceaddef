import type { Tensor } from '../../engine/tensor.js';
import { poolOutputSize } from '../../kernels/pool.js';
import { globalAvgPool, maxPool2d } from '../ops/index.js';
import { Layer, shapeText, type ForwardContext } from '../layer.js';

/** Max pooling without padding; `ceilMode` rounds the output size up (Caffe / Gluon / torchvision ceil_mode). */
export class MaxPool2D extends Layer {
  readonly kind = 'MaxPooling2D';
  readonly poolSize: number;
  readonly strides: number;
  readonly ceilMode: boolean;

  constructor(name: string, opts: { poolSize?: number; strides?: number; ceilMode?: boolean } = {}) {
    super(name);
    this.poolSize = opts.poolSize ?? 2;
    this.strides = opts.strides ?? this.poolSize;
    this.ceilMode = opts.ceilMode ?? false;
  }

  private outSize(d: number): number {
    if (d < this.poolSize) throw new Error(`MaxPool2D '${this.name}': input size ${d} is smaller than the pool size ${this.poolSize}`);
    return poolOutputSize(d, this.poolSize, this.strides, this.ceilMode);
  }

  computeOutputShape(input: readonly number[]): number[] {
    if (input.length !== 3) throw new Error(`MaxPool2D '${this.name}': expects (H, W, C) inputs, got ${shapeText(input)}`);
    return [this.outSize(input[0]!), this.outSize(input[1]!), input[2]!];
  }

  forward(x: Tensor, _ctx: ForwardContext): Tensor {
    return maxPool2d(x, { size: this.poolSize, stride: this.strides, ceilMode: this.ceilMode });
  }
}

/** [N, H, W, C] → [N, C], the spatial mean. */
export class GlobalAveragePooling2D extends Layer {
  readonly kind = 'GlobalAveragePooling2D';

  computeOutputShape(input: readonly number[]): number[] {
    if (input.length !== 3) throw new Error(`GlobalAveragePooling2D '${this.name}': expects (H, W, C) inputs, got ${shapeText(input)}`);
    return [input[2]!];
  }

  forward(x: Tensor, _ctx: ForwardContext): Tensor {
    return globalAvgPool(x);
  }
}
