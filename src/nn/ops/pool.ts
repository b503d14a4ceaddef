import type { Tensor } from '../../engine/index.js';
import { globalAvgPoolBackward, globalAvgPoolForward, maxPoolBackward, maxPoolForward, maxPoolForwardArgmax, type PoolOptions } from '../../kernels/pool.js';
import { refGlobalAvgPool, refGlobalAvgPoolBackward, refMaxPool, refMaxPoolBackward } from '../../reference/pool.js';
import { apply, type OpDef } from './op.js';

type MaxPoolAttrs = Required<PoolOptions>;

/** Max pooling of an NHWC tensor without padding; `ceilMode` rounds the output size up (windows clipped at the border). */
export const MAX_POOL_2D: OpDef<MaxPoolAttrs> = {
  name: 'maxPool2d',
  // Without a tape record nobody reads the argmax: the plain kernel does not write one.
  forward: (e, [x], pool, record) => {
    if (!record) return { y: maxPoolForward(e, x!, pool) };
    const { y, argmax } = maxPoolForwardArgmax(e, x!, pool);
    return { y, own: [argmax] };
  },
  save: () => [{ own: 0 }],
  backward: ({ engine, attrs, shapes }, gy, [argmax]) => [maxPoolBackward(engine, gy, argmax!, shapes[0]!, attrs)],
  reference: {
    forward: ([x], attrs) => {
      const { y, shape } = refMaxPool(x!.data, x!.shape, attrs);
      return { data: y, shape };
    },
    backward: ([x], attrs, gy) => [refMaxPoolBackward(gy, refMaxPool(x!.data, x!.shape, attrs).argmax, x!.data.length)],
  },
  // Floor and ceil rounding, overlapping windows, one channel, channels in fours (the vec4 kernel, also with
  // ceil-mode windows clipped at the border).
  cases: (
    [
      [[3, 7, 5, 6], { size: 2, stride: 2, ceilMode: false }],
      [[3, 7, 5, 5], { size: 3, stride: 2, ceilMode: true }],
      [[2, 8, 9, 3], { size: 3, stride: 2, ceilMode: false }],
      [[1, 6, 7, 1], { size: 3, stride: 1, ceilMode: false }],
      [[2, 7, 9, 8], { size: 3, stride: 2, ceilMode: true }],
      [[3, 7, 5, 4], { size: 2, stride: 2, ceilMode: false }],
    ] as [number[], MaxPoolAttrs][]
  ).map(([shape, attrs]) => ({ label: `[${shape.join(', ')}] ${attrs.size}/${attrs.stride}${attrs.ceilMode ? ' ceil' : ''}`, inputs: [{ shape }], attrs })),
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

export function maxPool2d(x: Tensor, opts: { size: number; stride: number; ceilMode?: boolean }): Tensor {
  return apply(MAX_POOL_2D, [x], { size: opts.size, stride: opts.stride, ceilMode: opts.ceilMode ?? false });
}

export function globalAvgPool(x: Tensor): Tensor {
  return apply(GLOBAL_AVG_POOL, [x], {});
}
