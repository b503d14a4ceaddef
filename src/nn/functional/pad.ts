import type { Tensor } from '../../engine/tensor.js';
import { zeroPadBackward, zeroPadForward, type Pads } from '../../kernels/pad.js';

/** Pads an NHWC tensor with zeros: pads = [top, bottom, left, right]. Differentiable (the backward saves nothing). */
export function zeroPad2d(x: Tensor, pads: Pads): Tensor {
  const e = x.engine;
  const y = zeroPadForward(e, x, pads);
  const xShape = x.shape;
  e.tape.record('zeroPad2d', [x], y, (gy) => [zeroPadBackward(e, gy, xShape, pads)]);
  return y;
}
