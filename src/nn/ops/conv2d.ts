import type { Tensor } from '../../engine/index.js';
import { conv2dBackward, conv2dForward, conv2dGeometry, type Conv2dPadding } from '../../kernels/conv2d.js';
import type { GemmActivation } from '../../kernels/gemm-spec.js';
import { refConv2d, refConv2dBackward, refConvGeometry, type RefConvGeometry } from '../../reference/conv2d.js';
import { apply, uniform, type OpCase, type OpDef, type RefTensor } from './op.js';

export interface Conv2dOptions {
  stride?: 1 | 2;
  padding?: Conv2dPadding;
  /** Fused activation epilogue (default 'linear'). */
  activation?: GemmActivation;
  /** Short for `activation: 'relu'`. */
  relu?: boolean;
}

interface Conv2dAttrs {
  stride: 1 | 2;
  padding: Conv2dPadding;
  activation: GemmActivation;
}

function refGeometry(x: RefTensor, w: RefTensor, a: Conv2dAttrs): RefConvGeometry {
  const [n, h, wd, cin] = x.shape as [number, number, number, number];
  const [kh, kw, , cout] = w.shape as [number, number, number, number];
  return refConvGeometry({ n, h, w: wd, cin, kh, kw, cout, stride: a.stride, padding: a.padding });
}

/** [n, h, w, cin] → cout with k×k filters; bias present or not; inputs in [−4, 4) with ReLU6, else [−1, 1). */
function convCase(n: number, h: number, w: number, cin: number, cout: number, k: number, attrs: Conv2dAttrs, bias: boolean): OpCase<Conv2dAttrs> {
  const r = attrs.activation === 'relu6' ? 4 : 1;
  return {
    label: `${n}×${h}×${w}×${cin} → ${cout}, ${k}×${k} stride ${attrs.stride} ${attrs.padding}${attrs.activation === 'linear' ? '' : ` ${attrs.activation}`}${bias ? ' +bias' : ''}`,
    inputs: [
      { shape: [n, h, w, cin], gen: uniform(-r, r) },
      { shape: [k, k, cin, cout], gen: uniform(-0.5, 0.5) },
      { shape: bias ? [cout] : null, gen: uniform(-0.3, 0.3) },
    ],
    attrs,
  };
}

/**
 * 2-D convolution, Keras semantics: x [N,H,W,Cin] (NHWC), w [KH,KW,Cin,Cout] (HWIO), b [Cout] or null; stride 1 or 2,
 * padding 'same' or 'valid', optional fused ReLU or ReLU6. The backward runs only the kernels whose inputs need a
 * gradient and the tape holds only what those read: x for the filter gradient, w for the input gradient, y for the
 * activation's mask (ReLU: y > 0; ReLU6: 0 < y < 6).
 */
export const CONV2D: OpDef<Conv2dAttrs> = {
  name: 'conv2d',
  forward: (e, [x, w, b], a) => ({ y: conv2dForward(e, x!, w!, b, a) }),
  save: ([needX, needW], a) => [needW ? { input: 0 } : null, needX ? { input: 1 } : null, a.activation !== 'linear' ? 'output' : null],
  backward: ({ engine, attrs, need, shapes }, gy, [sx, sw, sy]) => {
    const g = conv2dGeometry(shapes[0]!, shapes[1]!, attrs.stride, attrs.padding);
    const r = conv2dBackward(engine, sx ?? null, sw ?? null, gy, g, {
      input: need[0]!,
      filter: need[1]!,
      bias: need[2]!,
      y: sy ?? null,
      relu6: attrs.activation === 'relu6',
    });
    return [r.gx, r.gw, r.gb];
  },
  reference: {
    forward: ([x, w, b], a) => {
      const g = refGeometry(x!, w!, a);
      return { data: refConv2d(x!.data, w!.data, b?.data ?? null, g, a.activation), shape: [g.n, g.oh, g.ow, g.cout] };
    },
    backward: ([x, w, b], a, gy) => {
      const r = refConv2dBackward(x!.data, w!.data, b?.data ?? null, gy, refGeometry(x!, w!, a), a.activation);
      return [r.gx, r.gw, b ? r.gb : null];
    },
  },
  // Odd sizes, batch 3, channel counts that are and are not multiples of 4 (vec4 or scalar loads), both strides and
  // paddings (Keras' asymmetric 'same' at stride 2 on even sizes), 1×1 (stride 1: a plain GEMM) and 3×3 (Winograd),
  // with and without ReLU / ReLU6 and bias. ReLU6 cases draw inputs in [−4, 4) so that outputs land on both sides of 6.
  cases: [
    convCase(3, 7, 5, 3, 5, 3, { stride: 1, padding: 'same', activation: 'relu' }, true),
    convCase(2, 8, 5, 6, 10, 3, { stride: 2, padding: 'same', activation: 'linear' }, true),
    convCase(3, 7, 5, 8, 12, 3, { stride: 2, padding: 'valid', activation: 'relu' }, false),
    convCase(2, 6, 9, 5, 7, 1, { stride: 1, padding: 'valid', activation: 'linear' }, true),
    convCase(1, 9, 7, 16, 36, 1, { stride: 2, padding: 'same', activation: 'relu' }, true),
    convCase(3, 5, 7, 12, 40, 3, { stride: 1, padding: 'same', activation: 'relu' }, true),
    convCase(1, 7, 5, 40, 3, 3, { stride: 1, padding: 'valid', activation: 'linear' }, true),
    convCase(2, 6, 5, 24, 36, 1, { stride: 1, padding: 'same', activation: 'relu6' }, true),
    convCase(3, 5, 3, 6, 9, 1, { stride: 1, padding: 'valid', activation: 'relu6' }, false),
    convCase(2, 9, 8, 3, 8, 3, { stride: 2, padding: 'same', activation: 'relu6' }, true),
    convCase(1, 6, 7, 16, 20, 3, { stride: 1, padding: 'same', activation: 'relu6' }, true),
    // No horizontal padding and channels not a multiple of 4: kernel-row taps of KW·Cin floats (MobileNetV2's Conv1).
    convCase(2, 9, 7, 3, 8, 3, { stride: 2, padding: 'valid', activation: 'relu6' }, true),
    convCase(1, 6, 7, 5, 6, 3, { stride: 1, padding: 'valid', activation: 'linear' }, true),
  ],
};

/** Differentiable in x, w and b; see CONV2D. */
export function conv2d(x: Tensor, w: Tensor, b: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const activation = opts.activation ?? (opts.relu ? 'relu' : 'linear');
  return apply(CONV2D, [x, w, b], { stride: opts.stride ?? 1, padding: opts.padding ?? 'same', activation });
}
