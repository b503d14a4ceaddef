/** Float64 reference of the Keras 2 RMSprop step (ε outside the square root, optional time decay of lr). */

export interface RefRmspropOptions {
  lr: number;
  rho?: number;
  epsilon?: number;
  decay?: number;
}

/** The learning rate of the update numbered `iterations` (0 for the first): lr / (1 + decay·iterations). */
export function refRmspropLr(opts: RefRmspropOptions, iterations: number): number {
  return opts.lr / (1 + (opts.decay ?? 0) * iterations);
}

/** Updates p and a in place. */
export function refRmspropStep(p: Float64Array, a: Float64Array, g: ArrayLike<number>, opts: RefRmspropOptions, iterations: number): void {
  const rho = opts.rho ?? 0.9;
  const eps = opts.epsilon ?? 1e-7;
  const lr = refRmspropLr(opts, iterations);
  for (let i = 0; i < p.length; i++) {
    a[i] = rho * a[i]! + (1 - rho) * g[i]! * g[i]!;
    p[i] = p[i]! - (lr * g[i]!) / (Math.sqrt(a[i]!) + eps);
  }
}
