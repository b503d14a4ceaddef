/** Float64 reference of ReLU6 and its gradient (slope 1 strictly inside (0, 6), 0 elsewhere, kinks included). */
export function relu6Ref(x: ArrayLike<number>): Float64Array {
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    y[i] = v < 0 ? 0 : v > 6 ? 6 : v;
  }
  return y;
}

export function relu6GradRef(x: ArrayLike<number>, gy: ArrayLike<number>): Float64Array {
  const gx = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) gx[i] = x[i]! > 0 && x[i]! < 6 ? gy[i]! : 0;
  return gx;
}
