import type { Tensor } from '../../engine/index.js';
import { logSoftmaxBackward, logSoftmaxForward, softmaxBackward, softmaxForward } from '../../kernels/softmax.js';
import { refLogSoftmax, refLogSoftmaxBackward, refSoftmax, refSoftmaxBackward } from '../../reference/softmax.js';
import { apply, uniform, type OpCase, type OpDef } from './op.js';

type NoAttrs = Record<string, never>;
const NONE: NoAttrs = {};

const lastAxis = (shape: readonly number[]): number => shape[shape.length - 1]!;

const c = (shape: readonly number[], lo = -4, hi = 4, what = ''): OpCase<NoAttrs> => ({
  label: `[${shape.join(', ')}]${what ? ` ${what}` : ''}`,
  inputs: [{ shape, gen: uniform(lo, hi) }],
  attrs: NONE,
});

/** Row counts and lengths: one row, many rows, rows shorter and longer than a workgroup, logits beyond exp's range. */
const CASES: readonly OpCase<NoAttrs>[] = [
  c([4, 10]),
  c([2, 3, 5, 7], -4, 4, 'rank 4'),
  c([1, 64], -4, 4, 'one workgroup-wide row'),
  c([130, 33], -4, 4, 'many rows'),
  c([3, 1000], -4, 4, 'rows longer than a workgroup'),
  c([2, 2500]),
  c([5, 20], -100, 100, 'logits far beyond exp’s range'),
  // A row of one: the output is 1 and the gradient 0 (nothing for finite differences to check).
  { label: '[3, 1] rows of one', inputs: [{ shape: [3, 1], grad: false }], attrs: NONE },
];

/** Softmax over the last (physical) axis, stable; the backward y · (gy − Σ gy·y) reads the saved output. */
export const SOFTMAX: OpDef<NoAttrs> = {
  name: 'softmax',
  forward: (e, [x]) => ({ y: softmaxForward(e, x!) }),
  save: () => ['output'],
  backward: ({ engine }, gy, [y]) => [softmaxBackward(engine, y!, gy)],
  reference: {
    forward: ([x]) => ({ data: refSoftmax(x!.data, lastAxis(x!.shape)), shape: x!.shape }),
    backward: ([x], _, gy) => [refSoftmaxBackward(x!.data, gy, lastAxis(x!.shape))],
  },
  cases: CASES,
};

/** Log-softmax over the last (physical) axis, stable; the backward gy − e^y · Σ gy reads the saved output. */
export const LOG_SOFTMAX: OpDef<NoAttrs> = {
  name: 'logSoftmax',
  forward: (e, [x]) => ({ y: logSoftmaxForward(e, x!) }),
  save: () => ['output'],
  backward: ({ engine }, gy, [y]) => [logSoftmaxBackward(engine, y!, gy)],
  reference: {
    forward: ([x]) => ({ data: refLogSoftmax(x!.data, lastAxis(x!.shape)), shape: x!.shape }),
    backward: ([x], _, gy) => [refLogSoftmaxBackward(x!.data, gy, lastAxis(x!.shape))],
  },
  cases: CASES,
};

/** softmax over the last axis of x (physical axes: the channels of an NHWC map, the classes of [N, K]). */
export const softmax = (x: Tensor): Tensor => apply(SOFTMAX, [x], NONE);
/** log softmax over the last axis of x (physical axes), computed stably as x − max − log Σ e^(x − max). */
export const logSoftmax = (x: Tensor): Tensor => apply(LOG_SOFTMAX, [x], NONE);
