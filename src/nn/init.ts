/** Parameter initialisers (Keras defaults): Glorot-uniform kernels from a seeded generator, zero biases. */
import type { Rng } from '../util/rng.js';

/**
 * Keras' fan-in / fan-out of a kernel: the last two dimensions are (in, out) and the leading ones are the
 * receptive field (HWIO conv kernels, [in, out] dense kernels, [kh, kw, C, 1] depthwise kernels).
 */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) throw new Error(`fans: a kernel needs at least two dimensions, got [${shape.join(', ')}]`);
  const receptive = shape.slice(0, -2).reduce((a, d) => a * d, 1);
  return { fanIn: receptive * shape[shape.length - 2]!, fanOut: receptive * shape[shape.length - 1]! };
}

/** U(−l, l) with l = √(6 / (fanIn + fanOut)), drawn in row-major order from `rng`. */
export function glorotUniform(rng: Rng, shape: readonly number[]): Float32Array {
  const { fanIn, fanOut } = fans(shape);
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const n = shape.reduce((a, d) => a * d, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.uniform(-limit, limit);
  return out;
}

export function zeros(n: number): Float32Array {
  return new Float32Array(n);
}
