import type { Tensor } from '../../engine/index.js';
import {
  avgPool2dBackward,
  avgPool2dForward,
  globalAvgPoolBackward,
  globalAvgPoolForward,
  isClassicMaxPool,
  maxPool2dBackward,
  maxPool2dForward,
  maxPoolBackward,
  maxPoolForward,
  maxPoolForwardArgmax,
  type Pool2dWindow,
  type PoolOptions,
} from '../../kernels/pool.js';
import { refAvgPool2d, refAvgPool2dBackward, refGlobalAvgPool, refGlobalAvgPoolBackward, refMaxPool2d, refMaxPoolBackward } from '../../reference/pool.js';
import { apply, type OpCase, type OpDef } from './op.js';

/** ONNX MaxPool's attributes on NHWC: kernel, strides, pads [top, bottom, left, right], dilations, ceil_mode. */
export type MaxPoolAttrs = Pool2dWindow;

/** ONNX AveragePool's attributes on NHWC, count_include_pad included. */
export interface AvgPoolAttrs extends Pool2dWindow {
  countIncludePad: boolean;
}

/** The old kernels' options for a window they compute (isClassicMaxPool). */
function classic(win: Pool2dWindow): PoolOptions {
  return { size: win.kernel[0], stride: win.strides[0], ceilMode: win.ceilMode };
}

function windowLabel(shape: readonly number[], a: Pool2dWindow): string {
  const square = a.kernel[0] === a.kernel[1] && a.strides[0] === a.strides[1];
  const base = square ? `${a.kernel[0]}/${a.strides[0]}` : `${a.kernel.join('×')}/${a.strides.join('×')}`;
  const pads = a.pads.some((p) => p !== 0) ? ` pads ${a.pads.join(',')}` : '';
  const dil = a.dilations.some((d) => d !== 1) ? ` dil ${a.dilations.join('×')}` : '';
  return `[${shape.join(', ')}] ${base}${pads}${dil}${a.ceilMode ? ' ceil' : ''}`;
}

function win(kernel: [number, number], strides: [number, number], pads: [number, number, number, number] = [0, 0, 0, 0], ceilMode = false, dilations: [number, number] = [1, 1]): Pool2dWindow {
  return { kernel, strides, pads, dilations, ceilMode };
}

/**
 * Max pooling of an NHWC tensor with ONNX MaxPool semantics (padded cells never win; ceil_mode drops a last window
 * that would start in the trailing padding). Without pads, with a square window and stride, dilation 1 and no dropped
 * window it runs the original kernels (bit for bit what VGG16 / SqueezeNet / MobileNetV2 ran before).
 */
export const MAX_POOL_2D: OpDef<MaxPoolAttrs> = {
  name: 'maxPool2d',
  // Without a tape record nobody reads the argmax: the plain kernel does not write one.
  forward: (e, [x], w, record) => {
    if (isClassicMaxPool(x!.shape, w)) {
      if (!record) return { y: maxPoolForward(e, x!, classic(w)) };
      const { y, argmax } = maxPoolForwardArgmax(e, x!, classic(w));
      return { y, own: [argmax] };
    }
    const { y, argmax } = maxPool2dForward(e, x!, w, record);
    return argmax ? { y, own: [argmax] } : { y };
  },
  save: () => [{ own: 0 }],
  backward: ({ engine, attrs, shapes }, gy, [argmax]) => [
    isClassicMaxPool(shapes[0]!, attrs) ? maxPoolBackward(engine, gy, argmax!, shapes[0]!, classic(attrs)) : maxPool2dBackward(engine, gy, argmax!, shapes[0]!, attrs),
  ],
  reference: {
    forward: ([x], attrs) => {
      const { y, shape } = refMaxPool2d(x!.data, x!.shape, attrs);
      return { data: y, shape };
    },
    backward: ([x], attrs, gy) => [refMaxPoolBackward(gy, refMaxPool2d(x!.data, x!.shape, attrs).argmax, x!.data.length)],
  },
  // The original kernels: floor and ceil rounding, overlapping windows, one channel, channels in fours (the vec4
  // kernel, also with ceil-mode windows clipped at the border). Then the general ones: symmetric and asymmetric pads
  // (ResNet's 3/2 pad 1), rectangular windows and strides, ceil mode with pads, ceil mode dropping the last window
  // (kernel 1 stride 2), windows with a single input cell (pads = kernel − 1), dilation 2, stride larger than the
  // window, and channels in fours.
  cases: (
    [
      [[3, 7, 5, 6], win([2, 2], [2, 2])],
      [[3, 7, 5, 5], win([3, 3], [2, 2], undefined, true)],
      [[2, 8, 9, 3], win([3, 3], [2, 2])],
      [[1, 6, 7, 1], win([3, 3], [1, 1])],
      [[2, 7, 9, 8], win([3, 3], [2, 2], undefined, true)],
      [[3, 7, 5, 4], win([2, 2], [2, 2])],
      [[2, 9, 8, 3], win([3, 3], [2, 2], [1, 1, 1, 1])],
      [[2, 10, 7, 8], win([3, 3], [2, 2], [1, 1, 1, 1])],
      [[1, 7, 8, 5], win([2, 3], [1, 2], [0, 1, 2, 1])],
      [[2, 8, 7, 3], win([3, 3], [2, 2], [1, 1, 1, 1], true)],
      [[1, 6, 7, 4], win([1, 1], [2, 2], undefined, true)],
      [[1, 5, 5, 2], win([3, 3], [1, 1], [2, 2, 2, 2])],
      [[2, 9, 8, 3], win([2, 2], [1, 1], [1, 0, 0, 1], true, [2, 2])],
      [[1, 11, 9, 2], win([2, 2], [3, 3], [0, 1, 1, 0], true)],
    ] as [number[], MaxPoolAttrs][]
  ).map(([shape, attrs]) => ({ label: windowLabel(shape, attrs), inputs: [{ shape }], attrs })),
};

function avgCase(shape: number[], w: Pool2dWindow, countIncludePad: boolean): OpCase<AvgPoolAttrs> {
  return { label: `${windowLabel(shape, w)}${countIncludePad ? ' count pads' : ''}`, inputs: [{ shape }], attrs: { ...w, countIncludePad } };
}

/**
 * Average pooling of an NHWC tensor with ONNX AveragePool semantics: the divisor counts the window's input cells,
 * or with count_include_pad its cells inside the padded extent (never those a ceil-mode window reaches beyond it).
 * Its backward reads no tensor.
 */
export const AVG_POOL_2D: OpDef<AvgPoolAttrs> = {
  name: 'avgPool2d',
  forward: (e, [x], { countIncludePad, ...w }) => ({ y: avgPool2dForward(e, x!, w, countIncludePad) }),
  backward: ({ engine, attrs: { countIncludePad, ...w }, shapes }, gy) => [avgPool2dBackward(engine, gy, shapes[0]!, w, countIncludePad)],
  reference: {
    forward: ([x], { countIncludePad, ...w }) => {
      const { y, shape } = refAvgPool2d(x!.data, x!.shape, w, countIncludePad);
      return { data: y, shape };
    },
    backward: ([x], { countIncludePad, ...w }, gy) => [refAvgPool2dBackward(gy, x!.shape, w, countIncludePad)],
  },
  // No pads (floor, and ceil with windows clipped at the border, with and without counting the clipped cells), pads
  // with and without count_include_pad, asymmetric pads, ceil mode with count_include_pad and a dropped last window
  // (ONNX's last_window_starts_on_pad), rectangular windows and strides, dilation 2, stride larger than the window,
  // windows entirely in the padding (count_include_pad: zeros), channels in fours (vec4) and not.
  cases: [
    avgCase([2, 7, 6, 3], win([2, 2], [2, 2]), false),
    avgCase([1, 7, 9, 5], win([3, 3], [2, 2], undefined, true), false),
    avgCase([1, 7, 9, 5], win([3, 3], [2, 2], undefined, true), true),
    avgCase([2, 6, 7, 4], win([3, 3], [1, 1], [1, 1, 1, 1]), false),
    avgCase([2, 6, 7, 3], win([3, 3], [2, 2], [1, 1, 1, 1]), true),
    avgCase([1, 8, 7, 8], win([3, 2], [2, 1], [0, 2, 1, 1]), false),
    avgCase([1, 8, 7, 3], win([3, 2], [2, 1], [0, 2, 1, 1]), true),
    avgCase([1, 2, 2, 3], win([3, 3], [3, 3], [1, 1, 1, 1], true), true),
    avgCase([2, 7, 8, 3], win([3, 3], [2, 2], [1, 1, 1, 1], true), true),
    avgCase([2, 7, 8, 4], win([3, 3], [2, 2], [1, 1, 1, 1], true), false),
    avgCase([1, 9, 8, 2], win([2, 2], [1, 1], [1, 1, 0, 1], true, [2, 2]), false),
    avgCase([1, 9, 8, 2], win([2, 3], [3, 3], [0, 0, 1, 0]), true),
    avgCase([1, 3, 3, 2], win([2, 2], [1, 1], [2, 2, 2, 2]), true),
    avgCase([1, 5, 5, 4], win([5, 5], [1, 1], [2, 2, 2, 2]), true),
  ],
};

/** [N, H, W, C] → [N, C], the mean over the spatial positions. Its backward reads no tensor. */
export const GLOBAL_AVG_POOL: OpDef<Record<string, never>> = {
  name: 'globalAvgPool',
  forward: (e, [x]) => ({ y: globalAvgPoolForward(e, x!) }),
  backward: ({ engine, shapes }, gy) => [globalAvgPoolBackward(engine, gy, shapes[0]!)],
  reference: {
    forward: ([x]) => ({ data: refGlobalAvgPool(x!.data, x!.shape), shape: [x!.shape[0]!, x!.shape[3]!] }),
    backward: ([x], _, gy) => [refGlobalAvgPoolBackward(gy, x!.shape)],
  },
  cases: [[2, 5, 7, 3], [1, 13, 13, 64], [3, 1, 1, 9], [1, 20, 20, 5]].map((shape) => ({ label: `[${shape.join(', ')}]`, inputs: [{ shape }], attrs: {} })),
};

type Pair = readonly [number, number];

/** Options of maxPool2d / avgPool2d: `size` / `stride` (square, the old form) or `kernel` / `strides`. */
export interface MaxPool2dOptions {
  /** A square window (or give `kernel`). */
  size?: number;
  /** One stride for both axes (or give `strides`); default 1. */
  stride?: number;
  kernel?: Pair;
  strides?: Pair;
  /** [top, bottom, left, right] (default none). */
  pads?: readonly [number, number, number, number];
  /** Default [1, 1]. */
  dilations?: Pair;
  /** ONNX ceil_mode (default false). */
  ceilMode?: boolean;
}

export interface AvgPool2dOptions extends MaxPool2dOptions {
  /** ONNX count_include_pad (default false). */
  countIncludePad?: boolean;
}

function poolWindow(opts: MaxPool2dOptions, what: string): Pool2dWindow {
  const kernel = opts.kernel ?? (opts.size !== undefined ? ([opts.size, opts.size] as const) : null);
  if (!kernel) throw new Error(`${what}: give the window as kernel [kh, kw] or size`);
  const strides = opts.strides ?? (opts.stride !== undefined ? ([opts.stride, opts.stride] as const) : ([1, 1] as const));
  return { kernel: [kernel[0], kernel[1]], strides: [strides[0], strides[1]], pads: opts.pads ?? [0, 0, 0, 0], dilations: opts.dilations ?? [1, 1], ceilMode: opts.ceilMode ?? false };
}

/**
 * ONNX MaxPool on an NHWC tensor: `maxPool2d(x, { size, stride, ceilMode })` as before, or
 * `maxPool2d(x, { kernel: [kh, kw], strides: [sh, sw], pads: [t, b, l, r], dilations, ceilMode })`.
 */
export function maxPool2d(x: Tensor, opts: MaxPool2dOptions): Tensor {
  return apply(MAX_POOL_2D, [x], poolWindow(opts, 'maxPool2d'));
}

/** ONNX AveragePool on an NHWC tensor: `avgPool2d(x, { kernel, strides, pads, dilations, ceilMode, countIncludePad })`. */
export function avgPool2d(x: Tensor, opts: AvgPool2dOptions): Tensor {
  return apply(AVG_POOL_2D, [x], { ...poolWindow(opts, 'avgPool2d'), countIncludePad: opts.countIncludePad ?? false });
}

export function globalAvgPool(x: Tensor): Tensor {
  return apply(GLOBAL_AVG_POOL, [x], {});
}
