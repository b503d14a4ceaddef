import type { Tensor } from '../../engine/tensor.js';
import { matmulForward, reluMaskColumnSums } from '../../kernels/matmul.js';

/**
 * Fully connected layer: y = x·w + b (then ReLU when `relu`), x [N,K], w [K,M], b [M] or null. Differentiable:
 * dx = gy·wᵀ, dw = xᵀ·gy, db = column sums of gy (gy masked by y > 0 first with ReLU); transposes are read in
 * place by the kernels, and only the gradients that are needed are computed (the tape holds only what they read).
 */
export function dense(x: Tensor, w: Tensor, b: Tensor | null, opts: { relu?: boolean } = {}): Tensor {
  if (x.rank !== 2 || w.rank !== 2) throw new Error(`dense: x must be [N, K] and w [K, M], got [${x.shape.join(', ')}] and [${w.shape.join(', ')}]`);
  const e = x.engine;
  const relu = opts.relu ?? false;
  const y = matmulForward(e, x, w, { bias: b, relu });
  const inputs = b ? [x, w, b] : [x, w];
  const needX = x.requiresGrad;
  const needW = w.requiresGrad;
  const needB = b?.requiresGrad ?? false;
  e.tape.record(
    'dense',
    inputs,
    y,
    (gy, [sx, sw, sy]) => {
      const needMasked = relu && (needX || needW);
      const { masked, sums } = reluMaskColumnSums(e, gy, sy, { masked: needMasked, sums: needB });
      const g = masked ?? gy;
      const gx = needX ? matmulForward(e, g, sw!, { transB: true }) : null;
      const gw = needW ? matmulForward(e, sx!, g, { transA: true }) : null;
      masked?.dispose();
      return b ? [gx, gw, sums] : [gx, gw];
    },
    [needW ? x : null, needX ? w : null, relu ? y : null],
  );
  return y;
}

/** a [M,K] · b [K,N] → [M,N], differentiable in both. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const e = a.engine;
  const y = matmulForward(e, a, b);
  const needA = a.requiresGrad;
  const needB = b.requiresGrad;
  e.tape.record(
    'matmul',
    [a, b],
    y,
    (gy, [sa, sb]) => [needA ? matmulForward(e, gy, sb!, { transB: true }) : null, needB ? matmulForward(e, sa!, gy, { transA: true }) : null],
    [needB ? a : null, needA ? b : null],
  );
  return y;
}
