import type { Tensor } from '../../engine/index.js';
import { inversePermutation, permuteForward } from '../../kernels/permute.js';
import { refPermute, refPermuteBackward } from '../../reference/permute.js';
import { apply, type OpCase, type OpDef } from './op.js';

export interface PermuteAttrs {
  /** y.shape[j] = x.shape[perm[j]]. */
  perm: readonly number[];
}

const c = (shape: readonly number[], perm: readonly number[], what = ''): OpCase<PermuteAttrs> => ({
  label: `[${shape.join(', ')}] by [${perm.join(', ')}]${what ? ` (${what})` : ''}`,
  inputs: [{ shape }],
  attrs: { perm },
});

/** A general axis permutation (numpy's transpose, any rank); the backward is the inverse permutation (reads no tensor). */
export const PERMUTE: OpDef<PermuteAttrs> = {
  name: 'permute',
  forward: (e, [x], { perm }) => ({ y: permuteForward(e, x!, perm) }),
  backward: ({ engine, attrs: { perm } }, gy) => [permuteForward(engine, gy, inversePermutation(perm))],
  reference: {
    forward: ([x], { perm }) => refPermute(x!.data, x!.shape, perm),
    backward: ([x], { perm }, gy) => [refPermuteBackward(gy, x!.shape, perm)],
  },
  cases: [
    c([2, 3, 4, 5], [0, 3, 1, 2], 'NHWC to NCHW'),
    c([2, 5, 3, 4], [0, 2, 3, 1], 'NCHW to NHWC'),
    c([7, 13], [1, 0]),
    c([4, 1, 9], [2, 0, 1]),
    c([1, 5, 1, 6], [3, 1, 2, 0], 'size-1 axes'),
    c([3, 4, 5], [0, 1, 2], 'identity'),
    c([2, 3, 4, 5], [0, 2, 1, 3], 'inner axis stays'),
    c([2, 3, 2, 4, 3], [4, 2, 0, 3, 1]),
    c([2, 3, 1, 4, 2, 3], [5, 1, 0, 3, 2, 4], 'rank 6'),
    c([2, 37, 37, 8], [0, 3, 1, 2], 'NHWC to NCHW, many workgroups'),
  ],
};

/** x with its axes permuted: y.shape[j] = x.shape[perm[j]] (physical axes; numpy's transpose). */
export const permute = (x: Tensor, perm: readonly number[]): Tensor => apply(PERMUTE, [x], { perm });
