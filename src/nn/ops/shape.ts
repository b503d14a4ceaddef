import type { Tensor } from '../../engine/index.js';
import { concatChannelsForward, concatLayout, sliceChannels } from '../../kernels/concat.js';
import { zeroPadBackward, zeroPadForward, type Pads } from '../../kernels/pad.js';
import { refConcatChannels, refConcatChannelsBackward } from '../../reference/concat.js';
import { refZeroPad, refZeroPadBackward } from '../../reference/pad.js';
import { apply, type OpDef } from './op.js';

/** Concatenation of NHWC tensors on the channel (last) axis; the backward hands each input its slice of the gradient. */
export const CONCAT_CHANNELS: OpDef<Record<string, never>> = {
  name: 'concatChannels',
  forward: (e, xs) => ({ y: concatChannelsForward(e, xs as Tensor[]) }),
  // Only channel counts and which inputs need a gradient: saves no tensor.
  backward: ({ engine, need, shapes }, gy) => {
    let offset = 0;
    return shapes.map((shape, i) => {
      const channels = shape![shape!.length - 1]!;
      const g = need[i] ? sliceChannels(engine, gy, offset, channels) : null;
      offset += channels;
      return g;
    });
  },
  reference: {
    forward: (xs) => {
      const { positions, channels, total } = concatLayout(xs.map((x) => x!.shape));
      return { data: refConcatChannels(xs.map((x) => x!.data), channels, positions), shape: [...xs[0]!.shape.slice(0, -1), total] };
    },
    backward: (xs, _, gy) => {
      const { positions, channels } = concatLayout(xs.map((x) => x!.shape));
      return refConcatChannelsBackward(gy, channels, positions);
    },
  },
  // Channel counts that are and are not multiples of 4, rank 2 and 4, and more inputs than a shader may bind.
  cases: [
    { label: '[2, 5, 3] × 3 + 8', inputs: [{ shape: [2, 5, 3] }, { shape: [2, 5, 8] }], attrs: {} },
    { label: '[2, 3, 4, 4] × 1 + 6 + 4', inputs: [{ shape: [2, 3, 4, 1] }, { shape: [2, 3, 4, 6] }, { shape: [2, 3, 4, 4] }], attrs: {} },
    { label: '[7] × 12 inputs', inputs: Array.from({ length: 12 }, (_, i) => ({ shape: [7, 1 + (i % 3)] })), attrs: {} },
  ],
};

interface SliceAttrs {
  offset: number;
  count: number;
}

/** Channels [offset, offset + count) of the last axis; the backward places the gradient back between zeros. */
export const SLICE_CHANNELS: OpDef<SliceAttrs> = {
  name: 'sliceChannels',
  forward: (e, [x], { offset, count }) => ({ y: sliceChannels(e, x!, offset, count) }),
  backward: ({ engine: e, attrs: { offset, count }, shapes: [shape] }, gy) => {
    const lead = shape!.slice(0, -1);
    const after = shape![shape!.length - 1]! - offset - count;
    const parts = [offset > 0 ? e.full([...lead, offset], 0) : null, gy, after > 0 ? e.full([...lead, after], 0) : null].filter((t): t is Tensor => t !== null);
    if (parts.length === 1) return [gy.reshape(shape!)];
    const gx = concatChannelsForward(e, parts);
    for (const t of parts) if (t !== gy) t.dispose();
    return [gx];
  },
  reference: {
    forward: ([x], { offset, count }) => {
      const c = x!.shape[x!.shape.length - 1]!;
      const positions = x!.data.length / c;
      const y = new Float64Array(positions * count);
      for (let p = 0; p < positions; p++) for (let k = 0; k < count; k++) y[p * count + k] = x!.data[p * c + offset + k]!;
      return { data: y, shape: [...x!.shape.slice(0, -1), count] };
    },
    backward: ([x], { offset, count }, gy) => {
      const c = x!.shape[x!.shape.length - 1]!;
      const gx = new Float64Array(x!.data.length);
      for (let p = 0; p < gx.length / c; p++) for (let k = 0; k < count; k++) gx[p * c + offset + k] = gy[p * count + k]!;
      return [gx];
    },
  },
  cases: [
    { label: '[2, 3, 4, 10] channels 3..8', inputs: [{ shape: [2, 3, 4, 10] }], attrs: { offset: 3, count: 5 } },
    { label: '[5, 8] channels 0..4', inputs: [{ shape: [5, 8] }], attrs: { offset: 0, count: 4 } },
    { label: '[3, 3, 7] channels 2..7', inputs: [{ shape: [3, 3, 7] }], attrs: { offset: 2, count: 5 } },
  ],
};

interface PadAttrs {
  /** [top, bottom, left, right] */
  pads: Pads;
}

/** Zero padding of an NHWC tensor; the backward crops the gradient (reads no tensor). */
export const ZERO_PAD_2D: OpDef<PadAttrs> = {
  name: 'zeroPad2d',
  forward: (e, [x], { pads }) => ({ y: zeroPadForward(e, x!, pads) }),
  backward: ({ engine, attrs: { pads }, shapes }, gy) => [zeroPadBackward(engine, gy, shapes[0]!, pads)],
  reference: {
    forward: ([x], { pads }) => {
      const { y, shape } = refZeroPad(x!.data, x!.shape, pads);
      return { data: y, shape };
    },
    backward: ([x], { pads }, gy) => [refZeroPadBackward(gy, x!.shape, pads)],
  },
  cases: [
    { label: '[2, 5, 4, 3] pads 0 1 0 1', inputs: [{ shape: [2, 5, 4, 3] }], attrs: { pads: [0, 1, 0, 1] } },
    { label: '[1, 3, 6, 8] pads 2 1 3 0', inputs: [{ shape: [1, 3, 6, 8] }], attrs: { pads: [2, 1, 3, 0] } },
  ],
};

/** Concatenates NHWC tensors on the channel axis. */
export function concatChannels(xs: Tensor[]): Tensor {
  if (xs.length === 0) throw new Error('concatChannels: no inputs');
  return apply(CONCAT_CHANNELS, xs, {});
}

/** Channels [offset, offset + count) of the last axis. */
export function sliceLastAxis(x: Tensor, offset: number, count: number): Tensor {
  return apply(SLICE_CHANNELS, [x], { offset, count });
}

/** Pads an NHWC tensor with zeros: pads = [top, bottom, left, right]. */
export function zeroPad2d(x: Tensor, pads: Pads): Tensor {
  return apply(ZERO_PAD_2D, [x], { pads });
}
