import type { Tensor } from '../../engine/index.js';
import { addForward, copyTensor, relu6Backward, relu6Forward, reluBackward, reluForward, sigmoidBackward, sigmoidForward } from '../../kernels/elementwise.js';

export function relu(x: Tensor): Tensor {
  const e = x.engine;
  const y = reluForward(e, x);
  e.tape.record('relu', [x], y, (gy, [sx]) => [reluBackward(e, sx, gy)], [x]);
  return y;
}

export function sigmoid(x: Tensor): Tensor {
  const e = x.engine;
  const y = sigmoidForward(e, x);
  e.tape.record('sigmoid', [x], y, (gy, [sy]) => [sigmoidBackward(e, sy, gy)], [y]);
  return y;
}

/** a + b for tensors of the same shape. */
export function add(a: Tensor, b: Tensor): Tensor {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`add: shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}] differ`);
  }
  const e = a.engine;
  const y = addForward(e, a, b);
  const [needA, needB] = [a.requiresGrad, b.requiresGrad];
  const shape = a.shape;
  // Reads no tensor data: saves nothing.
  e.tape.record('add', [a, b], y, (gy) => [
    needA ? gy.reshape(shape) : null,
    // A second alias of gy would let both inputs' gradients share one buffer (and a leaf's .grad is accumulated in place).
    needB ? (needA ? copyTensor(e, gy, shape) : gy.reshape(shape)) : null,
  ]);
  return y;
}

/** min(max(x, 0), 6), differentiable (slope 1 strictly inside (0, 6)). */
export function relu6(x: Tensor): Tensor {
  const e = x.engine;
  const y = relu6Forward(e, x);
  e.tape.record('relu6', [x], y, (gy, [sy]) => [relu6Backward(e, gy, sy)], [y]);
  return y;
}
