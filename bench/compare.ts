// How far apart two implementations' outputs are. One number per case, comparable across cases:
// the largest absolute difference relative to the largest magnitude of the reference (TF.js).
// Elementwise relative error is useless near zeros (ReLU outputs are full of them); this is not.

/** max|a − b| / max|b|, over all elements; Infinity when any element is NaN/∞ or the lengths differ. */
export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    const d = Math.abs(x - y);
    if (!Number.isFinite(d)) return Infinity;
    if (d > diff) diff = d;
    const m = Math.abs(y);
    if (m > scale) scale = m;
  }
  if (diff === 0) return 0;
  return scale > 0 ? diff / scale : Infinity;
}

/** The worst maxRelDiff over matching pairs of outputs (a case may produce several, e.g. loss and gradients). */
export function maxRelDiffAll(a: readonly ArrayLike<number>[], b: readonly ArrayLike<number>[]): number {
  if (a.length !== b.length || a.length === 0) return Infinity;
  return Math.max(...a.map((x, i) => maxRelDiff(x, b[i]!)));
}

/**
 * ‖a − b‖₂ / ‖b‖₂: for outputs where a few elements may legitimately differ a lot — gradients routed through a
 * max-pool, whose argmax flips between implementations wherever two window elements are within rounding of each
 * other — while any systematic error still shows. Infinity on NaN/∞ or a length mismatch.
 */
export function normRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    if (!Number.isFinite(d)) return Infinity;
    num += d * d;
    den += b[i]! * b[i]!;
  }
  if (num === 0) return 0;
  return den > 0 ? Math.sqrt(num / den) : Infinity;
}
