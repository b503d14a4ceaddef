import type { Tensor } from '../../engine/index.js';
import { conv2dDirectBackward, conv2dDirectForward, type Conv2dDirectWindow } from '../../kernels/conv2d-direct.js';
import { refConvGeneral, refConvGeneralBackward, refConvGeneralGeometry } from '../../reference/conv2d-general.js';
import { apply, uniform, type OpCase, type OpDef } from './op.js';

type Pair = number | readonly [number, number];

export interface Conv2dGeneralOptions {
  /** One stride for both axes, or [sh, sw] (default 1). */
  strides?: Pair;
  /** One dilation for both axes, or [dh, dw] (default 1). */
  dilations?: Pair;
  /** Zero padding [top, bottom, left, right] (default none). */
  pads?: readonly [number, number, number, number];
  /** Fused ReLU epilogue (default false). */
  relu?: boolean;
}

export interface Conv2dGeneralAttrs {
  strides: readonly [number, number];
  dilations: readonly [number, number];
  pads: readonly [number, number, number, number];
  relu: boolean;
}

const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

function windowOf(shapeW: readonly number[], a: Conv2dGeneralAttrs): Conv2dDirectWindow {
  return { kernel: [shapeW[0]!, shapeW[1]!], strides: a.strides, pads: a.pads, dilations: a.dilations };
}

function generalCase(
  n: number,
  h: number,
  w: number,
  cin: number,
  cout: number,
  k: readonly [number, number],
  attrs: Conv2dGeneralAttrs,
  bias: boolean,
): OpCase<Conv2dGeneralAttrs> {
  return {
    label: `${n}×${h}×${w}×${cin} → ${cout}, ${k.join('×')} strides ${attrs.strides.join('×')} dil ${attrs.dilations.join('×')} pads ${attrs.pads.join(',')}${attrs.relu ? ' relu' : ''}${bias ? ' +bias' : ''}`,
    inputs: [
      { shape: [n, h, w, cin] },
      { shape: [k[0], k[1], cin, cout], gen: uniform(-0.5, 0.5) },
      { shape: bias ? [cout] : null, gen: uniform(-0.3, 0.3) },
    ],
    attrs,
  };
}

const attrs = (strides: Pair, dilations: Pair, pads: readonly [number, number, number, number], relu: boolean): Conv2dGeneralAttrs => ({
  strides: pair(strides),
  dilations: pair(dilations),
  pads,
  relu,
});

/**
 * 2-D convolution for the windows the fast conv2d cannot run: x [N,H,W,Cin] (NHWC), w [KH,KW,Cin,Cout] (HWIO),
 * b [Cout] or null; any strides and dilations ≥ 1, explicit zero pads [top, bottom, left, right], optional fused
 * ReLU. Direct loops (src/kernels/conv2d-direct.ts). The backward runs only the kernels whose inputs need a gradient
 * and the tape holds only what those read: x for the filter gradient, w for the input gradient, y for the ReLU mask.
 */
export const CONV2D_GENERAL: OpDef<Conv2dGeneralAttrs> = {
  name: 'conv2dGeneral',
  forward: (e, [x, w, b], a) => ({ y: conv2dDirectForward(e, x!, w!, b, windowOf(w!.shape, a), a.relu) }),
  save: ([needX, needW], a) => [needW ? { input: 0 } : null, needX ? { input: 1 } : null, a.relu ? 'output' : null],
  backward: ({ engine, attrs: a, need, shapes }, gy, [sx, sw, sy]) => {
    const r = conv2dDirectBackward(
      engine,
      gy,
      { x: sx ?? null, w: sw ?? null, y: sy ?? null },
      { x: shapes[0]!, w: shapes[1]! },
      windowOf(shapes[1]!, a),
      a.relu,
      { input: need[0]!, filter: need[1]!, bias: need[2]! },
    );
    return [r.gx, r.gw, r.gb];
  },
  reference: {
    forward: ([x, w, b], a) => {
      const g = refConvGeneralGeometry(x!.shape, w!.shape, a);
      return { data: refConvGeneral(x!.data, w!.data, b?.data ?? null, g, a.relu), shape: [g.n, g.oh, g.ow, g.cout] };
    },
    backward: ([x, w, b], a, gy) => {
      const r = refConvGeneralBackward(x!.data, w!.data, b?.data ?? null, gy, refConvGeneralGeometry(x!.shape, w!.shape, a), a.relu);
      return [r.gx, r.gw, b ? r.gb : null];
    },
  },
  // Dilations 2 and 3 (and mixed), strides 3 and (2, 3), asymmetric pads (and pads wider than the window's reach),
  // 1×1, 3×3 and 5×3 kernels, channel counts that are not multiples of 4, with and without bias and ReLU.
  cases: [
    generalCase(2, 9, 8, 3, 5, [3, 3], attrs(1, 2, [2, 1, 0, 3], true), true),
    generalCase(1, 13, 11, 5, 3, [3, 3], attrs(3, 3, [3, 3, 3, 3], false), true),
    generalCase(2, 11, 13, 6, 7, [5, 3], attrs([2, 3], 1, [2, 1, 1, 0], true), false),
    generalCase(3, 7, 9, 5, 6, [1, 1], attrs(3, 1, [1, 0, 0, 2], false), true),
    generalCase(2, 10, 12, 7, 9, [5, 3], attrs([2, 3], [2, 3], [1, 3, 2, 0], false), false),
    generalCase(1, 8, 7, 4, 2, [3, 3], attrs([3, 2], [1, 2], [0, 0, 1, 1], true), true),
    generalCase(2, 5, 6, 3, 4, [3, 3], attrs(2, 1, [4, 1, 3, 5], false), true),
  ],
};

/** Differentiable in x, w and b; see CONV2D_GENERAL. Defaults: strides 1, dilations 1, pads [0, 0, 0, 0], no ReLU. */
export function conv2dGeneral(x: Tensor, w: Tensor, b: Tensor | null, opts: Conv2dGeneralOptions = {}): Tensor {
  return apply(CONV2D_GENERAL, [x, w, b], attrs(opts.strides ?? 1, opts.dilations ?? 1, opts.pads ?? [0, 0, 0, 0], opts.relu ?? false));
}
