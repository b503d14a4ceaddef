import type { Tensor } from '../../engine/index.js';
import { depthwiseForward, depthwiseGradFilter, depthwiseGradInput, type DepthwiseActivation } from '../../kernels/depthwise.js';
import { depthwiseBackward as refDepthwiseBackward, depthwiseForward as refDepthwiseForward } from '../../reference/depthwise.js';
import { apply, uniform, type OpCase, type OpDef } from './op.js';

export type { DepthwiseActivation } from '../../kernels/depthwise.js';

interface DepthwiseAttrs {
  stride: 1 | 2;
  activation: DepthwiseActivation;
}

function depthwiseCase(n: number, h: number, w: number, c: number, attrs: DepthwiseAttrs, bias: boolean): OpCase<DepthwiseAttrs> {
  return {
    label: `${n}×${h}×${w}×${c} stride ${attrs.stride} ${attrs.activation}${bias ? ' +bias' : ''}`,
    inputs: [{ shape: [n, h, w, c], gen: uniform(-3, 3) }, { shape: [3, 3, c, 1], gen: uniform(-1.5, 1.5) }, { shape: bias ? [c] : null }],
    attrs,
  };
}

/**
 * Depthwise 3×3 convolution, padding 1: x [N,H,W,C] NHWC, w [3,3,C,1], b [C] or null, fused activation. The tape
 * holds w for the input gradient, x for the filter and bias gradients (one kernel computes both), y to mask the
 * activation.
 */
export const DEPTHWISE_CONV2D: OpDef<DepthwiseAttrs> = {
  name: 'depthwise_conv2d',
  forward: (e, [x, w, b], { stride, activation }) => ({ y: depthwiseForward(e, x!, w!, b, stride, activation) }),
  save: ([needX, needW, needB], { activation }) => [needW || needB ? { input: 0 } : null, needX ? { input: 1 } : null, activation === 'linear' ? null : 'output'],
  backward: ({ engine: e, attrs: { stride, activation }, need: [needX, needW, needB], shapes }, gy, [sx, sw, sy]) => {
    const gx = needX ? depthwiseGradInput(e, gy, sy ?? null, sw!, shapes[0]!, stride, activation) : null;
    const want = { filter: needW!, bias: needB! };
    const { gw, gb } = want.filter || want.bias ? depthwiseGradFilter(e, gy, sy ?? null, sx!, stride, activation, want) : { gw: null, gb: null };
    return [gx, gw, gb];
  },
  reference: {
    forward: ([x, w, b], attrs) => {
      const { y, shape } = refDepthwiseForward(x!.data, x!.shape, w!.data, b?.data ?? null, attrs);
      return { data: y, shape };
    },
    backward: ([x, w, b], attrs, gy) => {
      const r = refDepthwiseBackward(x!.data, x!.shape, w!.data, b?.data ?? null, gy, attrs);
      return [r.gx, r.gw, b ? r.gb : null];
    },
  },
  // Odd sizes, batch 3, channel counts that are and are not multiples of 4 (vec4 and scalar paths), both strides,
  // a 1×1 input, MobileNetV2's widest layer (960 channels), and enough positions × channels that each reduction
  // slice of the filter gradient sums more than the minimum chunk, with a ragged last slice.
  cases: [
    depthwiseCase(3, 7, 5, 6, { stride: 1, activation: 'linear' }, true),
    depthwiseCase(3, 9, 6, 5, { stride: 2, activation: 'relu6' }, true),
    depthwiseCase(2, 8, 8, 8, { stride: 2, activation: 'relu6' }, true),
    depthwiseCase(3, 5, 7, 12, { stride: 1, activation: 'relu' }, false),
    depthwiseCase(1, 3, 4, 960, { stride: 2, activation: 'relu6' }, true),
    depthwiseCase(2, 1, 1, 3, { stride: 2, activation: 'linear' }, true),
    depthwiseCase(1, 45, 47, 132, { stride: 1, activation: 'relu6' }, true),
  ],
};

/** Differentiable in x, w and b; see DEPTHWISE_CONV2D. */
export function depthwiseConv2d(x: Tensor, w: Tensor, b: Tensor | null, opts: { stride?: 1 | 2; activation?: DepthwiseActivation } = {}): Tensor {
  return apply(DEPTHWISE_CONV2D, [x, w, b], { stride: opts.stride ?? 1, activation: opts.activation ?? 'linear' });
}
