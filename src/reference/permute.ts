/** Float64 reference of an axis permutation: y.shape[j] = x.shape[perm[j]] (numpy's transpose). */
export function refPermute(x: ArrayLike<number>, shape: readonly number[], perm: readonly number[]): { data: Float64Array; shape: number[] } {
  const outShape = perm.map((a) => shape[a]!);
  const inStrides = shape.map((_, i) => shape.slice(i + 1).reduce((a, d) => a * d, 1));
  const n = shape.reduce((a, d) => a * d, 1);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let r = i;
    let src = 0;
    for (let j = outShape.length - 1; j >= 0; j--) {
      src += (r % outShape[j]!) * inStrides[perm[j]!]!;
      r = Math.floor(r / outShape[j]!);
    }
    data[i] = x[src]!;
  }
  return { data, shape: outShape };
}

/** Its backward: the gradient permuted back by the inverse permutation. */
export function refPermuteBackward(gy: ArrayLike<number>, shape: readonly number[], perm: readonly number[]): Float64Array {
  const inv = Array<number>(perm.length);
  perm.forEach((a, j) => (inv[a] = j));
  return refPermute(gy, perm.map((a) => shape[a]!), inv).data;
}
