/**
 * The dropout mask in uint32 TypeScript, bit for bit the hash of src/kernels/dropout.ts
 * (PCG hash of seed, step and element index; keep iff the top 24 bits ≥ round(rate·2^24)).
 */

export function refPcgHash(v: number): number {
  const s = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const w = Math.imul(((s >>> ((s >>> 28) + 4)) ^ s) >>> 0, 277803737) >>> 0;
  return ((w >>> 22) ^ w) >>> 0;
}

export function refDropoutBits(seed: number, step: number, i: number): number {
  const k1 = refPcgHash(seed >>> 0);
  const k2 = refPcgHash(((step >>> 0) ^ refPcgHash(((seed >>> 0) ^ 0x9e3779b9) >>> 0)) >>> 0);
  return refPcgHash((refPcgHash((i + k1) >>> 0) + k2) >>> 0);
}

export function refDropoutMask(n: number, rate: number, seed: number, step: number): Uint8Array {
  const threshold = Math.round(rate * 16777216);
  const mask = new Uint8Array(n);
  for (let i = 0; i < n; i++) mask[i] = refDropoutBits(seed, step, i) >>> 8 >= threshold ? 1 : 0;
  return mask;
}

/** Inverted dropout: kept values scaled by 1 / (1 − rate). The backward is the same map applied to gy. */
export function refDropout(x: ArrayLike<number>, rate: number, seed: number, step: number): Float64Array {
  const mask = refDropoutMask(x.length, rate, seed, step);
  return Float64Array.from(x, (v, i) => (mask[i] ? v / (1 - rate) : 0));
}
