/** Float64 references of the elementwise ops and their backward. */

export function refSigmoidScalar(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

export function refRelu(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v) => Math.max(v, 0));
}

export function refReluBackward(x: ArrayLike<number>, gy: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v, i) => (v > 0 ? gy[i]! : 0));
}

export function refSigmoid(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, refSigmoidScalar);
}

/** From the input x (not the output), so finite differences can check it. */
export function refSigmoidBackward(x: ArrayLike<number>, gy: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v, i) => {
    const s = refSigmoidScalar(v);
    return gy[i]! * s * (1 - s);
  });
}

export function refAdd(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  return Float64Array.from(a, (v, i) => v + b[i]!);
}

export function refHardSwish(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v) => (v * Math.min(Math.max(v + 3, 0), 6)) / 6);
}

export function refHardSwishBackward(x: ArrayLike<number>, gy: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v, i) => gy[i]! * (v <= -3 ? 0 : v >= 3 ? 1 : (2 * v + 3) / 6));
}

export function refLeakyRelu(x: ArrayLike<number>, alpha: number): Float64Array {
  return Float64Array.from(x, (v) => (v >= 0 ? v : alpha * v));
}

export function refLeakyReluBackward(x: ArrayLike<number>, gy: ArrayLike<number>, alpha: number): Float64Array {
  return Float64Array.from(x, (v, i) => (v >= 0 ? gy[i]! : alpha * gy[i]!));
}

export function refHardSigmoid(x: ArrayLike<number>, alpha: number, beta: number): Float64Array {
  return Float64Array.from(x, (v) => Math.max(0, Math.min(1, alpha * v + beta)));
}

export function refHardSigmoidBackward(x: ArrayLike<number>, gy: ArrayLike<number>, alpha: number, beta: number): Float64Array {
  return Float64Array.from(x, (v, i) => {
    const u = alpha * v + beta;
    return u > 0 && u < 1 ? alpha * gy[i]! : 0;
  });
}

/** min(max(x, min), max); a null bound is absent. */
export function refClip(x: ArrayLike<number>, min: number | null, max: number | null): Float64Array {
  return Float64Array.from(x, (v) => Math.min(Math.max(v, min ?? -Infinity), max ?? Infinity));
}

/** gy strictly inside (min, max), else 0. */
export function refClipBackward(x: ArrayLike<number>, gy: ArrayLike<number>, min: number | null, max: number | null): Float64Array {
  return Float64Array.from(x, (v, i) => (v > (min ?? -Infinity) && v < (max ?? Infinity) ? gy[i]! : 0));
}
