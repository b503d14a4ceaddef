import type { Tensor } from '../../engine/index.js';
import { pad2dBackward, pad2dForward, type PadMode, type Pads } from '../../kernels/pad.js';
import { refPad2d, refPad2dBackward } from '../../reference/pad.js';
import { apply, type OpCase, type OpDef } from './op.js';

export type { PadMode } from '../../kernels/pad.js';

export interface Pad2dAttrs {
  /** [top, bottom, left, right], each ≥ 0. */
  pads: Pads;
  mode: PadMode;
  /** The constant mode's fill (ignored by 'edge'). */
  value: number;
}

/** The most negative finite f32: max-pool padding that never wins against a real value. */
export const F32_LOWEST = -3.4028234663852886e38;

function padCase(shape: number[], pads: Pads, mode: PadMode, value = 0, grad = true): OpCase<Pad2dAttrs> {
  return { label: `[${shape.join(', ')}] ${mode}${mode === 'constant' ? ` ${value}` : ''} pads ${pads.join(' ')}`, inputs: [{ shape, grad }], attrs: { pads, mode, value } };
}

/**
 * Spatial padding of an NHWC tensor (ONNX Pad on H and W): 'constant' fills with `value`, 'edge' replicates the
 * border. The backward crops the gradient (constant) or gathers each border strip into its edge pixel (edge); it
 * reads no tensor.
 */
export const PAD_2D: OpDef<Pad2dAttrs> = {
  name: 'pad2d',
  forward: (e, [x], { pads, mode, value }) => ({ y: pad2dForward(e, x!, pads, mode, value) }),
  backward: ({ engine, attrs: { pads, mode }, shapes }, gy) => [pad2dBackward(engine, gy, shapes[0]!, pads, mode)],
  reference: {
    forward: ([x], { pads, mode, value }) => {
      const { y, shape } = refPad2d(x!.data, x!.shape, pads, mode, value);
      return { data: y, shape };
    },
    backward: ([x], { pads, mode }, gy) => [refPad2dBackward(gy, x!.shape, pads, mode)],
  },
  // Constant with zero, a non-zero value and the most negative f32 (forward only: finite differences of an
  // objective near 1e38 mean nothing); edge with asymmetric pads, pads wider than the input, zero pads on some sides,
  // one-pixel rows / columns (every border strip lands on one pixel) and a no-op.
  cases: [
    padCase([2, 5, 4, 3], [0, 1, 0, 1], 'constant'),
    padCase([1, 3, 6, 8], [2, 1, 3, 0], 'constant', 2.5),
    padCase([2, 4, 5, 3], [1, 2, 2, 1], 'constant', F32_LOWEST, false),
    padCase([2, 5, 4, 3], [1, 2, 3, 1], 'edge'),
    padCase([1, 3, 2, 5], [4, 0, 0, 5], 'edge'),
    padCase([3, 1, 1, 2], [2, 3, 1, 2], 'edge'),
    padCase([1, 1, 6, 4], [2, 2, 0, 0], 'edge'),
    padCase([2, 3, 3, 2], [0, 0, 0, 0], 'edge'),
  ],
};

/**
 * Pads an NHWC tensor on H and W: pads = [top, bottom, left, right] (≥ 0; negative pads throw), mode 'constant'
 * (fill `value`, default 0; ±Infinity allowed, or F32_LOWEST for max pooling) or 'edge' (replicate the border).
 */
export function pad2d(x: Tensor, pads: Pads, mode: PadMode = 'constant', value = 0): Tensor {
  return apply(PAD_2D, [x], { pads, mode, value });
}
