import type { Tensor } from '../../engine/index.js';
import { BCAST_MUL, broadcastMap, sumTo } from '../../kernels/broadcast.js';
import { apply, type OpDef, type RefTensor } from './op.js';

interface MeanAttrs {
  /** Axes (of the tensor as stored) averaged over; the output keeps them with size 1. */
  axes: readonly number[];
}

const keptShape = (shape: readonly number[], axes: readonly number[]): number[] => shape.map((d, i) => (axes.includes(i) ? 1 : d));
const count = (shape: readonly number[], axes: readonly number[]): number => axes.reduce((a, i) => a * shape[i]!, 1);

/** For every element of a tensor of `shape`, the index of its mean's element (the reduced axes kept with size 1). */
function meanIndex(shape: readonly number[], axes: readonly number[]): Int32Array {
  const kept = keptShape(shape, axes);
  const strides = kept.map((_, i) => kept.slice(i + 1).reduce((a, d) => a * d, 1));
  const out = new Int32Array(shape.reduce((a, d) => a * d, 1));
  const pos = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < out.length; i++) {
    out[i] = pos.reduce((s, p, a) => s + (axes.includes(a) ? 0 : p * strides[a]!), 0);
    for (let a = shape.length - 1; a >= 0 && ++pos[a]! === shape[a]; a--) pos[a] = 0;
  }
  return out;
}

function refMean(x: RefTensor, axes: readonly number[]): RefTensor {
  const out = keptShape(x.shape, axes);
  const y = new Float64Array(out.reduce((a, d) => a * d, 1));
  const n = count(x.shape, axes);
  meanIndex(x.shape, axes).forEach((o, i) => (y[o] += x.data[i]! / n));
  return { data: y, shape: out };
}

/** The mean over any set of axes, keeping them (size 1): ONNX ReduceMean with keepdims (a reshape drops them). */
export const REDUCE_MEAN: OpDef<MeanAttrs> = {
  name: 'reduceMean',
  forward: (e, [x], { axes }) => {
    const shape = keptShape(x!.shape, axes);
    const sum = sumTo(e, x!, shape);
    const scale = e.full([1], 1 / count(x!.shape, axes));
    const y = broadcastMap(e, BCAST_MUL, [sum, scale], shape);
    sum.dispose();
    scale.dispose();
    return { y };
  },
  backward: ({ engine: e, attrs: { axes }, shapes: [shape] }, gy) => {
    const scale = e.full([1], 1 / count(shape!, axes));
    const gx = broadcastMap(e, BCAST_MUL, [gy, scale], shape!);
    scale.dispose();
    return [gx];
  },
  reference: {
    forward: ([x], { axes }) => refMean(x!, axes),
    backward: ([x], { axes }, gy) => {
      const n = count(x!.shape, axes);
      return [Float64Array.from(meanIndex(x!.shape, axes), (o) => gy[o]! / n)];
    },
  },
  cases: [
    { label: '[2, 5, 7, 3] over 1, 2', inputs: [{ shape: [2, 5, 7, 3] }], attrs: { axes: [1, 2] } },
    { label: '[3, 4, 5] over 0, 2', inputs: [{ shape: [3, 4, 5] }], attrs: { axes: [0, 2] } },
    { label: '[3, 2, 2] over everything', inputs: [{ shape: [3, 2, 2] }], attrs: { axes: [0, 1, 2] } },
    { label: '[4, 300] over 1', inputs: [{ shape: [4, 300] }], attrs: { axes: [1] } },
  ],
};

export function reduceMean(x: Tensor, axes: readonly number[]): Tensor {
  return apply(REDUCE_MEAN, [x], { axes });
}
