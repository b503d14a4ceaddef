import type { Tensor } from '../../engine/tensor.js';
import { depthwiseForward, depthwiseGradFilter, depthwiseGradInput, type DepthwiseActivation } from '../../kernels/depthwise.js';
import { relu6Backward, relu6Forward } from '../../kernels/relu6.js';

export type { DepthwiseActivation } from '../../kernels/depthwise.js';

/**
 * Depthwise 3×3 convolution, padding 1: x [N,H,W,C] NHWC, w [3,3,C,1], b [C] or null, fused activation.
 * Differentiable in x, w and b.
 */
export function depthwiseConv2d(x: Tensor, w: Tensor, b: Tensor | null, opts: { stride?: 1 | 2; activation?: DepthwiseActivation } = {}): Tensor {
  const e = x.engine;
  const stride = opts.stride ?? 1;
  const act = opts.activation ?? 'linear';
  const y = depthwiseForward(e, x, w, b, stride, act);
  const inputs = b ? [x, w, b] : [x, w];
  e.tape.record('depthwise_conv2d', inputs, y, (gy) => {
    const mask = act === 'linear' ? null : y;
    const gx = x.requiresGrad ? depthwiseGradInput(e, gy, mask, w, x.shape, stride, act) : null;
    const { gw, gb } = depthwiseGradFilter(e, gy, mask, x, stride, act, { filter: w.requiresGrad, bias: b?.requiresGrad ?? false });
    return b ? [gx, gw, gb] : [gx, gw];
  });
  return y;
}

/** min(max(x, 0), 6), differentiable (slope 1 strictly inside (0, 6)). */
export function relu6(x: Tensor): Tensor {
  const e = x.engine;
  const y = relu6Forward(e, x);
  e.tape.record('relu6', [x], y, (gy) => [relu6Backward(e, gy, y)]);
  return y;
}
