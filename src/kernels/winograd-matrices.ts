/**
 * The transform matrices of Winograd's minimal filtering F(m×m, 3×3) (Lavin & Gray 2016), α = m + 2 points:
 * y = Aᵀ·[(G·g·Gᵀ) ⊙ (Bᵀ·d·B)]·A for a 3×3 filter g and an α×α input patch d gives the m×m 'valid' correlation.
 * F(2, 3) interpolates at 0, ±1, ∞ (coefficients 0, ±1, ½: exact in floating point); F(4, 3) at 0, ±1, ±2, ∞.
 */
export interface WinogradMatrices {
  /** Output block size m and patch size α = m + 2. */
  m: number;
  alpha: number;
  /** α × α, applied to the input patch. */
  BT: number[][];
  /** α × 3, applied to the filter. */
  G: number[][];
  /** m × α, applied to the product. */
  AT: number[][];
}

export const F2x3: WinogradMatrices = {
  m: 2,
  alpha: 4,
  BT: [
    [1, 0, -1, 0],
    [0, 1, 1, 0],
    [0, -1, 1, 0],
    [0, 1, 0, -1],
  ],
  G: [
    [1, 0, 0],
    [0.5, 0.5, 0.5],
    [0.5, -0.5, 0.5],
    [0, 0, 1],
  ],
  AT: [
    [1, 1, 1, 0],
    [0, 1, -1, -1],
  ],
};

export const F4x3: WinogradMatrices = {
  m: 4,
  alpha: 6,
  BT: [
    [4, 0, -5, 0, 1, 0],
    [0, -4, -4, 1, 1, 0],
    [0, 4, -4, -1, 1, 0],
    [0, -2, -1, 2, 1, 0],
    [0, 2, -1, -2, 1, 0],
    [0, 4, 0, -5, 0, 1],
  ],
  G: [
    [1 / 4, 0, 0],
    [-1 / 6, -1 / 6, -1 / 6],
    [-1 / 6, 1 / 6, -1 / 6],
    [1 / 24, 1 / 12, 1 / 6],
    [1 / 24, -1 / 12, 1 / 6],
    [0, 0, 1],
  ],
  AT: [
    [1, 1, 1, 1, 1, 0],
    [0, 1, -1, 2, -2, 0],
    [0, 1, 1, 4, 4, 0],
    [0, 1, -1, 8, -8, 1],
  ],
};

/** In float64: y = Aᵀ·[(G·g·Gᵀ) ⊙ (Bᵀ·d·B)]·A for row-major g (3×3) and d (α×α); returns m×m row-major. */
export function winogradTile(w: WinogradMatrices, d: ArrayLike<number>, g: ArrayLike<number>): Float64Array {
  const { alpha: a, m } = w;
  const mul = (X: number[][], Y: (i: number, j: number) => number, rows: number, inner: number, cols: number): number[][] =>
    Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => X[i]!.slice(0, inner).reduce((s, x, k) => s + x * Y(k, j), 0)));
  const Gg = mul(w.G, (k, j) => g[k * 3 + j]!, a, 3, 3);
  const U = mul(Gg, (k, j) => w.G[j]![k]!, a, 3, a);
  const Bd = mul(w.BT, (k, j) => d[k * a + j]!, a, a, a);
  const V = mul(Bd, (k, j) => w.BT[j]![k]!, a, a, a);
  const P = U.map((row, i) => row.map((u, j) => u * V[i]![j]!));
  const AP = mul(w.AT, (k, j) => P[k]![j]!, m, a, a);
  return Float64Array.from(mul(AP, (k, j) => w.AT[j]![k]!, m, a, m).flat());
}
