import type { Tensor } from '../../engine/tensor.js';
import { depthwiseForward, depthwiseGradFilter, depthwiseGradInput, type DepthwiseActivation } from '../../kernels/depthwise.js';

export type { DepthwiseActivation } from '../../kernels/depthwise.js';

/**
 * Depthwise 3×3 convolution, padding 1: x [N,H,W,C] NHWC, w [3,3,C,1], b [C] or null, fused activation.
 * Differentiable in x, w and b; the tape holds w for the input gradient, x for the filter and bias gradients (one
 * kernel computes both), y to mask the activation.
 */
export function depthwiseConv2d(x: Tensor, w: Tensor, b: Tensor | null, opts: { stride?: 1 | 2; activation?: DepthwiseActivation } = {}): Tensor {
  const e = x.engine;
  const stride = opts.stride ?? 1;
  const act = opts.activation ?? 'linear';
  const y = depthwiseForward(e, x, w, b, stride, act);
  const inputs = b ? [x, w, b] : [x, w];
  const needX = x.requiresGrad;
  const want = { filter: w.requiresGrad, bias: b?.requiresGrad ?? false };
  const xShape = x.shape;
  e.tape.record(
    'depthwise_conv2d',
    inputs,
    y,
    (gy, [sx, sw, sy]) => {
      const gx = needX ? depthwiseGradInput(e, gy, sy, sw!, xShape, stride, act) : null;
      const { gw, gb } = want.filter || want.bias ? depthwiseGradFilter(e, gy, sy, sx!, stride, act, want) : { gw: null, gb: null };
      return b ? [gx, gw, gb] : [gx, gw];
    },
    [want.filter || want.bias ? x : null, needX ? w : null, act === 'linear' ? null : y],
  );
  return y;
}
