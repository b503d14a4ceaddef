import type { Tensor } from '../../engine/index.js';
import { matmulForward, reluMaskColumnSums } from '../../kernels/matmul.js';
import { refDense, refDenseBackward, refMatmul } from '../../reference/matmul.js';
import { apply, uniform, type OpCase, type OpDef } from './op.js';

interface DenseAttrs {
  relu: boolean;
}

function denseCase(n: number, k: number, m: number, relu: boolean, bias: boolean): OpCase<DenseAttrs> {
  return {
    label: `${n}×${k} → ${m}${relu ? ' relu' : ''}${bias ? ' +bias' : ''}`,
    inputs: [{ shape: [n, k] }, { shape: [k, m], gen: uniform(-0.5, 0.5) }, { shape: bias ? [m] : null, gen: uniform(-0.3, 0.3) }],
    attrs: { relu },
  };
}

/**
 * Fully connected layer: y = x·w + b (then ReLU when `relu`), x [N,K], w [K,M], b [M] or null. dx = gy·wᵀ,
 * dw = xᵀ·gy, db = column sums of gy (masked by y > 0 first with ReLU); transposes are read in place by the kernels,
 * only the needed gradients are computed, and the tape holds only what they read.
 */
export const DENSE: OpDef<DenseAttrs> = {
  name: 'dense',
  forward: (e, [x, w, b], { relu }) => {
    if (x!.rank !== 2 || w!.rank !== 2) throw new Error(`dense: x must be [N, K] and w [K, M], got [${x!.shape.join(', ')}] and [${w!.shape.join(', ')}]`);
    return { y: matmulForward(e, x!, w!, { bias: b, relu }) };
  },
  save: ([needX, needW], { relu }) => [needW ? { input: 0 } : null, needX ? { input: 1 } : null, relu ? 'output' : null],
  backward: ({ engine: e, attrs: { relu }, need: [needX, needW, needB] }, gy, [sx, sw, sy]) => {
    const { masked, sums } = reluMaskColumnSums(e, gy, sy ?? null, { masked: relu && (needX! || needW!), sums: needB! });
    const g = masked ?? gy;
    const gx = needX ? matmulForward(e, g, sw!, { transB: true }) : null;
    const gw = needW ? matmulForward(e, sx!, g, { transA: true }) : null;
    masked?.dispose();
    return [gx, gw, sums];
  },
  reference: {
    forward: ([x, w, b], { relu }) => {
      const [n, k] = x!.shape as [number, number];
      const m = w!.shape[1]!;
      return { data: refDense(x!.data, w!.data, b?.data ?? null, n, k, m, relu), shape: [n, m] };
    },
    backward: ([x, w, b], { relu }, gy) => {
      const [n, k] = x!.shape as [number, number];
      const r = refDenseBackward(x!.data, w!.data, b?.data ?? null, gy, n, k, w!.shape[1]!, relu);
      return [r.gx, r.gw, b ? r.gb : null];
    },
  },
  // Sizes that fill no tile evenly, one output unit (the binary head), more rows than one workgroup covers.
  cases: [denseCase(5, 7, 3, false, true), denseCase(20, 130, 33, true, true), denseCase(3, 64, 1, false, true), denseCase(70, 9, 12, true, false)],
};

/** a [M,K] · b [K,N] → [M,N]. */
export const MATMUL: OpDef<Record<string, never>> = {
  name: 'matmul',
  forward: (e, [a, b]) => ({ y: matmulForward(e, a!, b!) }),
  save: ([needA, needB]) => [needB ? { input: 0 } : null, needA ? { input: 1 } : null],
  backward: ({ engine: e, need: [needA, needB] }, gy, [sa, sb]) => [
    needA ? matmulForward(e, gy, sb!, { transB: true }) : null,
    needB ? matmulForward(e, sa!, gy, { transA: true }) : null,
  ],
  reference: {
    forward: ([a, b]) => {
      const [m, k] = a!.shape as [number, number];
      const n = b!.shape[1]!;
      return { data: refMatmul(a!.data, b!.data, m, n, k), shape: [m, n] };
    },
    backward: ([a, b], _, gy) => {
      const [m, k] = a!.shape as [number, number];
      const n = b!.shape[1]!;
      return [refMatmul(gy, b!.data, m, k, n, false, true), refMatmul(a!.data, gy, k, n, m, true, false)];
    },
  },
  cases: [
    { label: '9×13 · 13×6', inputs: [{ shape: [9, 13] }, { shape: [13, 6] }], attrs: {} },
    { label: '33×64 · 64×65', inputs: [{ shape: [33, 64] }, { shape: [64, 65] }], attrs: {} },
  ],
};

/** Fully connected layer, differentiable in x, w and b; see DENSE. */
export function dense(x: Tensor, w: Tensor, b: Tensor | null, opts: { relu?: boolean } = {}): Tensor {
  return apply(DENSE, [x, w, b], { relu: opts.relu ?? false });
}

/** a [M,K] · b [K,N] → [M,N], differentiable in both. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  return apply(MATMUL, [a, b], {});
}
