/**
 * Float64 references of the matrix product and of a dense layer (y = x·W + b, optional ReLU) with its backward:
 * the oracle for src/kernels/matmul.ts and src/nn/ops/dense.ts.
 */

type Numbers = ArrayLike<number>;

/** C[M,N] = op(A)·op(B); A is [M,K] (or [K,M] with transA), B is [K,N] (or [N,K] with transB). */
export function refMatmul(a: Numbers, b: Numbers, M: number, N: number, K: number, transA = false, transB = false): Float64Array {
  const c = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let k = 0; k < K; k++) {
      const av = transA ? a[k * M + m]! : a[m * K + k]!;
      if (av === 0) continue;
      const row = m * N;
      if (transB) for (let n = 0; n < N; n++) c[row + n] += av * b[n * K + k]!;
      else {
        const bk = k * N;
        for (let n = 0; n < N; n++) c[row + n] += av * b[bk + n]!;
      }
    }
  }
  return c;
}

/** y[N,M] = x[N,K]·w[K,M] + b, then ReLU when `relu`. */
export function refDense(x: Numbers, w: Numbers, b: Numbers | null, N: number, K: number, M: number, relu: boolean): Float64Array {
  const y = refMatmul(x, w, N, M, K);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < M; j++) {
      let v = y[i * M + j]! + (b ? b[j]! : 0);
      if (relu && v < 0) v = 0;
      y[i * M + j] = v;
    }
  }
  return y;
}

/**
 * Gradients of refDense given the output gradient gy [N,M]: with ReLU the gradient flows only where the output is
 * positive (the pre-activation is recomputed here, so finite differences away from the kink agree).
 */
export function refDenseBackward(
  x: Numbers,
  w: Numbers,
  b: Numbers | null,
  gy: Numbers,
  N: number,
  K: number,
  M: number,
  relu: boolean,
): { gx: Float64Array; gw: Float64Array; gb: Float64Array } {
  const g = Float64Array.from(gy);
  if (relu) {
    const z = refDense(x, w, b, N, K, M, false);
    for (let i = 0; i < g.length; i++) if (!(z[i]! > 0)) g[i] = 0;
  }
  const gx = refMatmul(g, w, N, K, M, false, true);
  const gw = refMatmul(x, g, K, M, N, true, false);
  const gb = new Float64Array(M);
  for (let i = 0; i < N; i++) for (let j = 0; j < M; j++) gb[j] += g[i * M + j]!;
  return { gx, gw, gb };
}
