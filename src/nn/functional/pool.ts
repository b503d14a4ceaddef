import type { Tensor } from '../../engine/index.js';
import { globalAvgPoolBackward, globalAvgPoolForward, maxPoolBackward, maxPoolForward, maxPoolForwardArgmax, type PoolOptions } from '../../kernels/pool.js';

/** Max pooling of an NHWC tensor without padding; `ceilMode` rounds the output size up (windows clipped at the border). */
export function maxPool2d(x: Tensor, opts: { size: number; stride: number; ceilMode?: boolean }): Tensor {
  const e = x.engine;
  const pool: PoolOptions = { size: opts.size, stride: opts.stride, ceilMode: opts.ceilMode ?? false };
  if (!(x.requiresGrad && e.tape.recording)) return maxPoolForward(e, x, pool);
  const { y, argmax } = maxPoolForwardArgmax(e, x, pool);
  e.tape.record('maxPool2d', [x], y, (gy) => [maxPoolBackward(e, gy, argmax, x.shape, pool)]);
  return y;
}

/** [N, H, W, C] → [N, C], the mean over the spatial positions. */
export function globalAvgPool(x: Tensor): Tensor {
  const e = x.engine;
  const y = globalAvgPoolForward(e, x);
  e.tape.record('globalAvgPool', [x], y, (gy) => [globalAvgPoolBackward(e, gy, x.shape)]);
  return y;
}
