import type { Tensor } from '../../engine/index.js';
import { globalAvgPoolBackward, globalAvgPoolForward, maxPoolBackward, maxPoolForward, maxPoolForwardArgmax, type PoolOptions } from '../../kernels/pool.js';

/** Max pooling of an NHWC tensor without padding; `ceilMode` rounds the output size up (windows clipped at the border). */
export function maxPool2d(x: Tensor, opts: { size: number; stride: number; ceilMode?: boolean }): Tensor {
  const e = x.engine;
  const pool: PoolOptions = { size: opts.size, stride: opts.stride, ceilMode: opts.ceilMode ?? false };
  // Without a tape record nobody reads the argmax: the plain kernel does not write one.
  if (!e.tape.wouldRecord([x])) return maxPoolForward(e, x, pool);
  const { y, argmax } = maxPoolForwardArgmax(e, x, pool);
  const xShape = x.shape;
  e.tape.record('maxPool2d', [x], y, (gy, [am]) => [maxPoolBackward(e, gy, am, xShape, pool)], [argmax]);
  // The argmax is the op's own: the tape holds it until the backward has read it.
  argmax.dispose();
  return y;
}

/** [N, H, W, C] → [N, C], the mean over the spatial positions. */
export function globalAvgPool(x: Tensor): Tensor {
  const e = x.engine;
  const y = globalAvgPoolForward(e, x);
  const xShape = x.shape;
  e.tape.record('globalAvgPool', [x], y, (gy) => [globalAvgPoolBackward(e, gy, xShape)]);
  return y;
}
