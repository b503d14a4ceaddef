import { expect } from 'vitest';
import type { Engine, Tensor } from '../../src/engine/index.js';
import { Rng } from '../../src/util/rng.js';

/** ‖out − ref‖ / ‖ref‖ (absolute when ref is all zeros); any NaN or infinity in `out` gives NaN, which fails every bound. */
export function relErr(out: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (out.length !== ref.length) throw new Error(`relErr: ${out.length} values against ${ref.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i]!)) return NaN;
    num += (out[i]! - ref[i]!) ** 2;
    den += ref[i]! ** 2;
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

export function expectClose(out: ArrayLike<number>, ref: ArrayLike<number>, tol: number, what = 'result'): void {
  const err = relErr(out, ref);
  expect(err, `${what}: normwise relative error ${err}`).toBeLessThanOrEqual(tol);
}

export const FWD_TOL = 1e-5;
export const GRAD_TOL = 1e-4;

/** Values from a seeded generator, uniform in [lo, hi). */
export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.uniform(lo, hi));
}

/** A tensor of NaN, to be passed as a kernel's output so unwritten elements fail the comparison. */
export function poisoned(e: Engine, shape: readonly number[]): Tensor {
  return e.full(shape, NaN);
}

export function size(shape: readonly number[]): number {
  return shape.reduce((a, d) => a * d, 1);
}

/** Central finite differences of a scalar function of x, for every component (x is restored afterwards). */
export function numericGrad(f: (x: Float64Array) => number, x: Float64Array, h = 1e-6): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    x[i] = v + h;
    const fp = f(x);
    x[i] = v - h;
    const fm = f(x);
    x[i] = v;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

/** Σ w·y: a scalar whose gradient with respect to y is w, to turn a tensor-valued op into a finite-difference check. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
