/** Float64 references of softmax cross-entropy from logits, argmax / top-k accuracy and the confusion matrix. */

/** Row i of `z` (N×C, row-major). */
const row = (z: ArrayLike<number>, c: number, i: number): number[] => Array.from({ length: c }, (_, j) => z[i * c + j]!);

/** log Σ e^z, stable. */
export function refLogSumExp(v: readonly number[]): number {
  const m = Math.max(...v);
  let s = 0;
  for (const x of v) s += Math.exp(x - m);
  return m + Math.log(s);
}

/** Mean over the batch of lse(z_i) − z_i[y_i]. */
export function refSoftmaxCrossEntropy(z: ArrayLike<number>, y: ArrayLike<number>, c: number): number {
  const n = y.length;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const r = row(z, c, i);
    s += refLogSumExp(r) - r[y[i]!]!;
  }
  return s / n;
}

/** Softmax of each row. */
export function refSoftmax(z: ArrayLike<number>, c: number): Float64Array {
  const n = z.length / c;
  const out = new Float64Array(z.length);
  for (let i = 0; i < n; i++) {
    const r = row(z, c, i);
    const lse = refLogSumExp(r);
    for (let j = 0; j < c; j++) out[i * c + j] = Math.exp(r[j]! - lse);
  }
  return out;
}

/** d(mean softmax CE)/dz · gy: (softmax − onehot(y))·gy / N. */
export function refSoftmaxCrossEntropyBackward(z: ArrayLike<number>, y: ArrayLike<number>, c: number, gy = 1): Float64Array {
  const n = y.length;
  const p = refSoftmax(z, c);
  for (let i = 0; i < n; i++) {
    // p_y − 1 = −Σ_{j≠y} p_j, summed so that a confident correct row keeps its tiny gradient.
    let rest = 0;
    for (let j = 0; j < c; j++) if (j !== y[i]) rest += p[i * c + j]!;
    p[i * c + y[i]!] = -rest;
    for (let j = 0; j < c; j++) p[i * c + j] = (p[i * c + j]! * gy) / n;
  }
  return p;
}

/** First index of the largest value of each row. */
export function refArgmax(z: ArrayLike<number>, c: number): Int32Array {
  const n = z.length / c;
  return Int32Array.from({ length: n }, (_, i) => {
    let k = 0;
    for (let j = 1; j < c; j++) if (z[i * c + j]! > z[i * c + k]!) k = j;
    return k;
  });
}

/** Rows whose argmax is the label. */
export function refCategoricalCorrect(z: ArrayLike<number>, y: ArrayLike<number>, c: number): number {
  const a = refArgmax(z, c);
  let k = 0;
  for (let i = 0; i < y.length; i++) if (a[i] === y[i]) k++;
  return k;
}

/** Rows whose label is among the k best scores (fewer than k classes score strictly higher, as TF's in_top_k). */
export function refTopKCorrect(z: ArrayLike<number>, y: ArrayLike<number>, c: number, k: number): number {
  let hits = 0;
  for (let i = 0; i < y.length; i++) {
    const zy = z[i * c + y[i]!]!;
    let above = 0;
    for (let j = 0; j < c; j++) if (z[i * c + j]! > zy) above++;
    if (above < k) hits++;
  }
  return hits;
}

/** Confusion matrix [C × C] (rows true, columns predicted); `c` 1 means binary logits (class 1 when z > 0). */
export function refConfusion(z: ArrayLike<number>, y: ArrayLike<number>, c: number): number[][] {
  const classes = c === 1 ? 2 : c;
  const pred = c === 1 ? Int32Array.from({ length: y.length }, (_, i) => (z[i]! > 0 ? 1 : 0)) : refArgmax(z, c);
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < y.length; i++) m[y[i]!]![pred[i]!]!++;
  return m;
}
