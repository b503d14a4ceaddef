import type { Tensor } from '../../engine/index.js';
import {
  depthwiseForward,
  depthwiseGeneralForward,
  depthwiseGeneralGradFilter,
  depthwiseGeneralGradInput,
  depthwiseGradFilter,
  depthwiseGradInput,
  isClassicDepthwise,
  type DepthwiseActivation,
  type DepthwiseWindow,
} from '../../kernels/depthwise.js';
import { depthwiseBackward as refDepthwiseBackward, depthwiseForward as refDepthwiseForward } from '../../reference/depthwise.js';
import { apply, uniform, type OpCase, type OpDef } from './op.js';

export type { DepthwiseActivation } from '../../kernels/depthwise.js';

type Pair = number | readonly [number, number];

export interface DepthwiseAttrs {
  /** One stride for both axes, or [sh, sw]. */
  stride: Pair;
  activation: DepthwiseActivation;
  /** [KH, KW] (default [3, 3]); the filter is [KH, KW, C, 1]. */
  kernel?: readonly [number, number];
  /** Zero padding [top, bottom, left, right] (default 1 on every side). */
  pads?: readonly [number, number, number, number];
  /** One dilation for both axes, or [dh, dw] (default 1). */
  dilation?: Pair;
}

const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

function windowOf(a: DepthwiseAttrs): DepthwiseWindow {
  return { kernel: a.kernel ?? [3, 3], strides: pair(a.stride), pads: a.pads ?? [1, 1, 1, 1], dilations: pair(a.dilation ?? 1) };
}

function depthwiseCase(n: number, h: number, w: number, c: number, attrs: DepthwiseAttrs, bias: boolean): OpCase<DepthwiseAttrs> {
  const win = windowOf(attrs);
  const geometry = isClassicDepthwise(win)
    ? ''
    : ` k${win.kernel.join('×')} pads ${win.pads.join(',')}${win.dilations.some((d) => d !== 1) ? ` dil ${win.dilations.join('×')}` : ''}`;
  return {
    label: `${n}×${h}×${w}×${c} stride ${typeof attrs.stride === 'number' ? attrs.stride : attrs.stride.join('×')} ${attrs.activation}${bias ? ' +bias' : ''}${geometry}`,
    inputs: [{ shape: [n, h, w, c], gen: uniform(-3, 3) }, { shape: [...win.kernel, c, 1], gen: uniform(-1.5, 1.5) }, { shape: bias ? [c] : null }],
    attrs,
  };
}

/**
 * Depthwise convolution: x [N,H,W,C] NHWC, w [KH,KW,C,1], b [C] or null, fused activation; any kernel, strides,
 * zero pads [top, bottom, left, right] and dilations (defaults: 3×3, pads 1, dilation 1), one family of kernels
 * for every window (MobileNetV2's 3×3 gets the numbers it always got, bit for bit). The tape holds w
 * for the input gradient, x for the filter and bias gradients (one kernel computes both), y to mask the activation.
 */
export const DEPTHWISE_CONV2D: OpDef<DepthwiseAttrs> = {
  name: 'depthwise_conv2d',
  forward: (e, [x, w, b], attrs) => {
    const win = windowOf(attrs);
    if (isClassicDepthwise(win)) return { y: depthwiseForward(e, x!, w!, b, win.strides[0] as 1 | 2, attrs.activation) };
    return { y: depthwiseGeneralForward(e, x!, w!, b, win, attrs.activation) };
  },
  save: ([needX, needW, needB], { activation }) => [needW || needB ? { input: 0 } : null, needX ? { input: 1 } : null, activation === 'linear' ? null : 'output'],
  backward: ({ engine: e, attrs, need: [needX, needW, needB], shapes }, gy, [sx, sw, sy]) => {
    const { activation } = attrs;
    const win = windowOf(attrs);
    const classic = isClassicDepthwise(win);
    const stride = win.strides[0] as 1 | 2;
    let gx: Tensor | null = null;
    if (needX) gx = classic ? depthwiseGradInput(e, gy, sy ?? null, sw!, shapes[0]!, stride, activation) : depthwiseGeneralGradInput(e, gy, sy ?? null, sw!, shapes[0]!, win, activation);
    const want = { filter: needW!, bias: needB! };
    let grads: { gw: Tensor | null; gb: Tensor | null } = { gw: null, gb: null };
    if (want.filter || want.bias) {
      grads = classic ? depthwiseGradFilter(e, gy, sy ?? null, sx!, stride, activation, want) : depthwiseGeneralGradFilter(e, gy, sy ?? null, sx!, win, activation, want);
    }
    return [gx, grads.gw, grads.gb];
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
  // slice of the filter gradient sums more than the minimum chunk, with a ragged last slice. Then the general
  // kernels: MobileNetV3 / EfficientNet's 3×3 and 5×5 at strides 1 and 2 with pads (k − 1) / 2, TF-"same"-style
  // asymmetric pads, rectangular kernels and strides, stride 3, no padding, dilation 2, pads wider than the window's
  // reach (outputs that see only padding), a 3×3 stride-2 case with pads 1 only on some sides, and a large 5×5 case
  // with a ragged last reduction slice.
  cases: [
    depthwiseCase(3, 7, 5, 6, { stride: 1, activation: 'linear' }, true),
    depthwiseCase(3, 9, 6, 5, { stride: 2, activation: 'relu6' }, true),
    depthwiseCase(2, 8, 8, 8, { stride: 2, activation: 'relu6' }, true),
    depthwiseCase(3, 5, 7, 12, { stride: 1, activation: 'relu' }, false),
    depthwiseCase(1, 3, 4, 960, { stride: 2, activation: 'relu6' }, true),
    depthwiseCase(2, 1, 1, 3, { stride: 2, activation: 'linear' }, true),
    depthwiseCase(1, 45, 47, 132, { stride: 1, activation: 'relu6' }, true),
    depthwiseCase(2, 9, 7, 8, { stride: 1, activation: 'relu', kernel: [5, 5], pads: [2, 2, 2, 2] }, true),
    depthwiseCase(3, 11, 8, 5, { stride: 2, activation: 'relu6', kernel: [5, 5], pads: [2, 2, 2, 2] }, true),
    depthwiseCase(2, 10, 9, 12, { stride: 2, activation: 'linear', kernel: [5, 5], pads: [2, 2, 2, 2] }, false),
    depthwiseCase(2, 8, 7, 4, { stride: 2, activation: 'linear', kernel: [3, 3], pads: [0, 1, 0, 1] }, true),
    depthwiseCase(2, 7, 9, 3, { stride: 2, activation: 'relu', kernel: [3, 3], pads: [1, 1, 0, 1] }, true),
    depthwiseCase(2, 9, 10, 7, { stride: [2, 1], activation: 'linear', kernel: [3, 5], pads: [1, 2, 0, 3] }, true),
    depthwiseCase(1, 13, 11, 8, { stride: 3, activation: 'relu6', kernel: [4, 2], pads: [0, 0, 0, 0] }, true),
    depthwiseCase(2, 9, 9, 6, { stride: 1, activation: 'linear', kernel: [3, 3], pads: [2, 2, 2, 2], dilation: 2 }, true),
    depthwiseCase(1, 4, 5, 4, { stride: 1, activation: 'linear', kernel: [3, 3], pads: [4, 1, 3, 5] }, true),
    depthwiseCase(1, 1, 1, 5, { stride: 2, activation: 'linear', kernel: [5, 5], pads: [2, 2, 2, 2] }, true),
    depthwiseCase(1, 31, 29, 96, { stride: 1, activation: 'relu6', kernel: [5, 5], pads: [2, 2, 2, 2] }, true),
  ],
};

/**
 * Differentiable in x, w and b; see DEPTHWISE_CONV2D. Defaults: 3×3 (w [3,3,C,1]), stride 1, pads [1,1,1,1],
 * dilation 1, linear.
 */
export function depthwiseConv2d(
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  opts: { stride?: Pair; activation?: DepthwiseActivation; kernel?: readonly [number, number]; pads?: readonly [number, number, number, number]; dilation?: Pair } = {},
): Tensor {
  const attrs: DepthwiseAttrs = { stride: opts.stride ?? 1, activation: opts.activation ?? 'linear' };
  if (opts.kernel) attrs.kernel = opts.kernel;
  if (opts.pads) attrs.pads = opts.pads;
  if (opts.dilation !== undefined) attrs.dilation = opts.dilation;
  return apply(DEPTHWISE_CONV2D, [x, w, b], attrs);
}
