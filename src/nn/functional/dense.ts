import type { Tensor } from '../../engine/tensor.js';
import { matmulForward, reluMaskColumnSums } from '../../kernels/matmul.js';

/**
 * Fully connected layer: y = x·w + b (then ReLU when `relu`), x [N,K], w [K,M], b [M] or null. Differentiable:
 * dx = gy·wᵀ, dw = xᵀ·gy, db = column sums of gy (gy masked by y > 0 first with ReLU); transposes are read in
 * place by the kernels, and only the gradients that are needed are computed.
 */
export function dense(x: Tensor, w: Tensor, b: Tensor | null, opts: { relu?: boolean } = {}): Tensor {
  if (x.rank !== 2 || w.rank !== 2) throw new Error(`dense: x must be [N, K] and w [K, M], got [${x.shape.join(', ')}] and [${w.shape.join(', ')}]`);
  const e = x.engine;
  const relu = opts.relu ?? false;
  const y = matmulForward(e, x, w, { bias: b, relu });
  const inputs = b ? [x, w, b] : [x, w];
  e.tape.record('dense', inputs, y, (gy) => {
    const needMasked = relu && (x.requiresGrad || w.requiresGrad);
    const { masked, sums } = reluMaskColumnSums(e, gy, relu ? y : null, { masked: needMasked, sums: b?.requiresGrad ?? false });
    const g = masked ?? gy;
    const gx = x.requiresGrad ? matmulForward(e, g, w, { transB: true }) : null;
    const gw = w.requiresGrad ? matmulForward(e, x, g, { transA: true }) : null;
    masked?.dispose();
    return b ? [gx, gw, sums] : [gx, gw];
  });
  return y;
}

/** a [M,K] · b [K,N] → [M,N], differentiable in both. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const e = a.engine;
  const y = matmulForward(e, a, b);
  e.tape.record('matmul', [a, b], y, (gy) => [
    a.requiresGrad ? matmulForward(e, gy, b, { transB: true }) : null,
    b.requiresGrad ? matmulForward(e, a, gy, { transA: true }) : null,
  ]);
  return y;
}
