import type { Tensor } from '../../engine/tensor.js';
import { Layer, type ForwardContext } from '../layer.js';

/** [N, ...] → [N, prod(...)] as a view (no copy; the gradient passes straight through). */
export class Flatten extends Layer {
  readonly kind = 'Flatten';

  computeOutputShape(input: readonly number[]): number[] {
    return [input.reduce((a, d) => a * d, 1)];
  }

  forward(x: Tensor, _ctx: ForwardContext): Tensor {
    return x.flatten();
  }
}
