/** Float64 reference of the Keras 2 Adam step (bias correction folded into lr_t, ε outside the square root). */

export interface RefAdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/** lr_t of the update numbered `iterations` (0 for the first, so t = iterations + 1): lr·√(1 − β2^t)/(1 − β1^t). */
export function refAdamLr(opts: RefAdamOptions, iterations: number): number {
  const t = iterations + 1;
  return (opts.lr * Math.sqrt(1 - (opts.beta2 ?? 0.999) ** t)) / (1 - (opts.beta1 ?? 0.9) ** t);
}

/** Updates p, m and v in place. */
export function refAdamStep(p: Float64Array, m: Float64Array, v: Float64Array, g: ArrayLike<number>, opts: RefAdamOptions, iterations: number): void {
  const b1 = opts.beta1 ?? 0.9;
  const b2 = opts.beta2 ?? 0.999;
  const eps = opts.epsilon ?? 1e-7;
  const lr = refAdamLr(opts, iterations);
  for (let i = 0; i < p.length; i++) {
    m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
    v[i] = b2 * v[i]! + (1 - b2) * g[i]! * g[i]!;
    p[i] = p[i]! - (lr * m[i]!) / (Math.sqrt(v[i]!) + eps);
  }
}
