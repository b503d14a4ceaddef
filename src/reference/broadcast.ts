/** Float64 references of numpy-style broadcasting (right-aligned shapes, size-1 or missing dimensions stretch). */

const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;

export function refBroadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  return Array.from({ length: rank }, (_, d) => {
    const x = a[a.length - rank + d] ?? 1;
    const y = b[b.length - rank + d] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new Error(`refBroadcastShape: ${fmt(a)} and ${fmt(b)} do not broadcast`);
    return x === 1 ? y : x;
  });
}

/** For every element of `out` (row-major), the flat index of the element of `shape` it reads. */
export function refBroadcastIndex(out: readonly number[], shape: readonly number[]): Int32Array {
  const n = out.reduce((p, d) => p * d, 1);
  const rank = out.length;
  const padded = [...Array<number>(rank - shape.length).fill(1), ...shape];
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let r = i;
    let off = 0;
    let stride = 1;
    for (let d = rank - 1; d >= 0; d--) {
      const c = r % out[d]!;
      r = Math.floor(r / out[d]!);
      if (padded[d] !== 1) off += c * stride;
      stride *= padded[d]!;
    }
    idx[i] = off;
  }
  return idx;
}

/** y[i] = f(a[ia(i)], b[ib(i)]) over the broadcast shape. */
export function refBroadcastBinary(a: Float64Array, aShape: readonly number[], b: Float64Array, bShape: readonly number[], f: (x: number, y: number) => number): { data: Float64Array; shape: number[] } {
  const shape = refBroadcastShape(aShape, bShape);
  const ia = refBroadcastIndex(shape, aShape);
  const ib = refBroadcastIndex(shape, bShape);
  return { data: Float64Array.from(ia, (j, i) => f(a[j]!, b[ib[i]!]!)), shape };
}

/** Σ of `g` (of shape `out`) into `shape`: every element adds into the element of `shape` it was broadcast from. */
export function refSumTo(g: ArrayLike<number>, out: readonly number[], shape: readonly number[]): Float64Array {
  const idx = refBroadcastIndex(out, shape);
  const r = new Float64Array(shape.reduce((p, d) => p * d, 1));
  idx.forEach((j, i) => (r[j] += g[i]!));
  return r;
}

/**
 * Gradients of y = f(a, b) broadcast: ga = sumTo(gy · ∂f/∂a), gb = sumTo(gy · ∂f/∂b), with the partials at each
 * output element's operands.
 */
export function refBroadcastBinaryBackward(
  a: Float64Array,
  aShape: readonly number[],
  b: Float64Array,
  bShape: readonly number[],
  gy: ArrayLike<number>,
  dfa: (x: number, y: number) => number,
  dfb: (x: number, y: number) => number,
): [Float64Array, Float64Array] {
  const shape = refBroadcastShape(aShape, bShape);
  const ia = refBroadcastIndex(shape, aShape);
  const ib = refBroadcastIndex(shape, bShape);
  const ga = new Float64Array(a.length);
  const gb = new Float64Array(b.length);
  ia.forEach((j, i) => {
    const k = ib[i]!;
    ga[j] += gy[i]! * dfa(a[j]!, b[k]!);
    gb[k] += gy[i]! * dfb(a[j]!, b[k]!);
  });
  return [ga, gb];
}
