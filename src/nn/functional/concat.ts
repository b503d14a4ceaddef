import type { Tensor } from '../../engine/index.js';
import { concatChannelsForward, sliceChannels } from '../../kernels/concat.js';

/** Concatenates NHWC tensors on the channel (last) axis; the backward hands each input its slice of the gradient. */
export function concatChannels(xs: Tensor[]): Tensor {
  if (xs.length === 0) throw new Error('concatChannels: no inputs');
  const e = xs[0]!.engine;
  const y = concatChannelsForward(e, xs);
  e.tape.record('concatChannels', xs, y, (gy) => {
    let offset = 0;
    return xs.map((x) => {
      const c = x.shape[x.rank - 1]!;
      const g = x.requiresGrad ? sliceChannels(e, gy, offset, c) : null;
      offset += c;
      return g;
    });
  });
  return y;
}
