import { refSigmoidScalar } from './elementwise.js';

/** Float64 references of binary cross-entropy from logits and binary accuracy. */

export function refBceTerm(z: number, y: number): number {
  return Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z)));
}

/** Mean over the batch. */
export function refBceWithLogits(z: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < z.length; i++) s += refBceTerm(z[i]!, y[i]!);
  return s / z.length;
}

/** d(mean BCE)/dz · gy. */
export function refBceWithLogitsBackward(z: ArrayLike<number>, y: ArrayLike<number>, gy = 1): Float64Array {
  return Float64Array.from(z, (v, i) => ((refSigmoidScalar(v) - y[i]!) * gy) / z.length);
}

/** Correct predictions (sigmoid(z) > 0.5 ⇔ z > 0 is class 1). */
export function refBinaryCorrect(z: ArrayLike<number>, y: ArrayLike<number>): number {
  let k = 0;
  for (let i = 0; i < z.length; i++) if (z[i]! > 0 === y[i]! > 0.5) k++;
  return k;
}
