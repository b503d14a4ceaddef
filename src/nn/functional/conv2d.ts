import type { Tensor } from '../../engine/tensor.js';
import { conv2dBackward, conv2dForward, conv2dGeometry, type Conv2dPadding } from '../../kernels/conv2d.js';

export interface Conv2dOptions {
  stride?: 1 | 2;
  padding?: Conv2dPadding;
  /** Fused ReLU epilogue. */
  relu?: boolean;
}

/**
 * 2-D convolution, Keras semantics: x [N,H,W,Cin] (NHWC), w [KH,KW,Cin,Cout] (HWIO), b [Cout] or null; stride 1
 * or 2, padding 'same' (default) or 'valid', optional fused ReLU. Differentiable in x, w and b; the backward runs
 * only the kernels whose inputs require a gradient (no input gradient for the first layer on images, no filter
 * gradient for frozen layers), and the tape holds only what those read: x for the filter gradient, w for the input
 * gradient, y for the ReLU mask.
 */
export function conv2d(x: Tensor, w: Tensor, b: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const e = x.engine;
  const stride = opts.stride ?? 1;
  const padding = opts.padding ?? 'same';
  const relu = opts.relu ?? false;
  const g = conv2dGeometry(x.shape, w.shape, stride, padding);
  const y = conv2dForward(e, x, w, b, { stride, padding, relu });
  const inputs = b ? [x, w, b] : [x, w];
  const want = { input: x.requiresGrad, filter: w.requiresGrad, bias: b?.requiresGrad ?? false };
  e.tape.record(
    'conv2d',
    inputs,
    y,
    (gy, [sx, sw, sy]) => {
      const r = conv2dBackward(e, sx, sw, gy, g, { ...want, y: sy });
      return b ? [r.gx, r.gw, r.gb] : [r.gx, r.gw];
    },
    [want.filter ? x : null, want.input ? w : null, relu ? y : null],
  );
  return y;
}
