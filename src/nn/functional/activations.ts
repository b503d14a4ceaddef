import type { Tensor } from '../../engine/index.js';
import { addForward, copyTensor, reluBackward, reluForward, sigmoidBackward, sigmoidForward } from '../../kernels/elementwise.js';

export function relu(x: Tensor): Tensor {
  const e = x.engine;
  const y = reluForward(e, x);
  e.tape.record('relu', [x], y, (gy) => [reluBackward(e, x, gy)]);
  return y;
}

export function sigmoid(x: Tensor): Tensor {
  const e = x.engine;
  const y = sigmoidForward(e, x);
  e.tape.record('sigmoid', [x], y, (gy) => [sigmoidBackward(e, y, gy)]);
  return y;
}

/** a + b for tensors of the same shape. */
export function add(a: Tensor, b: Tensor): Tensor {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`add: shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}] differ`);
  }
  const e = a.engine;
  const y = addForward(e, a, b);
  e.tape.record('add', [a, b], y, (gy) => [
    a.requiresGrad ? gy.reshape(a.shape) : null,
    // A second alias of gy would let both inputs' gradients share one buffer (and a leaf's .grad is accumulated in place).
    b.requiresGrad ? (a.requiresGrad ? copyTensor(e, gy, b.shape) : gy.reshape(b.shape)) : null,
  ]);
  return y;
}
