// Host-side inputs and weights, generated once from a seed and uploaded unchanged to every implementation.
import { Rng } from '../src/util/rng.js';

export function uniform(n: number, lo: number, hi: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.uniform(lo, hi);
  return out;
}

/** Keras' Glorot-uniform for a conv kernel [kh, kw, cin, cout] or a dense kernel [in, out]. */
export function glorot(shape: readonly number[], seed: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const receptive = shape.length === 4 ? shape[0]! * shape[1]! : 1;
  const fanIn = receptive * shape[shape.length - 2]!;
  const fanOut = receptive * shape[shape.length - 1]!;
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  return uniform(n, -limit, limit, seed);
}

/**
 * Keras' He-uniform (limit √(6 / fan_in)): keeps the activation scale through a deep ReLU stack, as trained weights do.
 * Under Glorot the scale halves at every VGG16 conv, so by block5 the small biases dominate, the 2×2 max-pool windows
 * hold near-ties, and which element wins depends on the order of rounding — the gradients would then compare
 * rounding, not kernels.
 */
export function heUniform(shape: readonly number[], seed: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const receptive = shape.length === 4 ? shape[0]! * shape[1]! : 1;
  const limit = Math.sqrt(6 / (receptive * shape[shape.length - 2]!));
  return uniform(n, -limit, limit, seed);
}

/** Small random biases (not zero, so a kernel that forgets the bias is caught by the comparison). */
export function bias(n: number, seed: number): Float32Array {
  return uniform(n, -0.05, 0.05, seed);
}

export function labels01(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => (rng.next() < 0.5 ? 0 : 1));
}

/** Memoises a generator, so the sides of a case (and several cases) share one host copy. */
export function lazy<T>(make: () => T): () => T {
  let v: T | undefined;
  let done = false;
  return () => {
    if (!done) {
      v = make();
      done = true;
    }
    return v as T;
  };
}
