import type { Tensor } from '../../engine/tensor.js';
import { zeroPad2d } from '../ops/index.js';
import { Layer, type ForwardContext } from '../layer.js';

/** Keras ZeroPadding2D: [top, bottom, left, right] rows / columns of zeros around each image. */
export class ZeroPadding2D extends Layer {
  readonly kind = 'ZeroPadding2D';
  readonly pads: [number, number, number, number];

  constructor(name: string, padding: number | [number, number, number, number]) {
    super(name);
    this.pads = typeof padding === 'number' ? [padding, padding, padding, padding] : [...padding];
  }

  computeOutputShape(input: readonly number[]): number[] {
    if (input.length !== 3) throw new Error(`ZeroPadding2D '${this.name}': expects (H, W, C) inputs, got (${input.join(', ')})`);
    const [t, b, l, r] = this.pads;
    return [input[0]! + t + b, input[1]! + l + r, input[2]!];
  }

  forward(x: Tensor, _ctx: ForwardContext): Tensor {
    return zeroPad2d(x, this.pads);
  }
}
