import type { Tensor } from '../../engine/index.js';
import { concatChannelsForward, sliceChannels } from '../../kernels/concat.js';

/** Concatenates NHWC tensors on the channel (last) axis; the backward hands each input its slice of the gradient. */
export function concatChannels(xs: Tensor[]): Tensor {
  if (xs.length === 0) throw new Error('concatChannels: no inputs');
  const e = xs[0]!.engine;
  const y = concatChannelsForward(e, xs);
  // Only channel counts and which inputs need a gradient: saves no tensor.
  const parts = xs.map((x) => ({ channels: x.shape[x.rank - 1]!, need: x.requiresGrad }));
  e.tape.record('concatChannels', xs, y, (gy) => {
    let offset = 0;
    return parts.map(({ channels, need }) => {
      const g = need ? sliceChannels(e, gy, offset, channels) : null;
      offset += channels;
      return g;
    });
  });
  return y;
}
