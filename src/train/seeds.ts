import { Rng } from '../util/rng.js';

/**
 * A 32-bit seed derived from a run seed and counters (epoch, step, stream), so every random draw in training
 * (shuffles, dropout masks, augmentation parameters) is a pure function of (seed, epoch, step): a run resumed
 * from a checkpoint draws exactly what the uninterrupted run would have drawn.
 */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    let v = (Math.trunc(p) ^ Math.trunc(p / 4294967296)) >>> 0;
    // murmur3 finaliser per part, folded into an FNV-style running hash.
    v = Math.imul(v ^ (v >>> 16), 0x85ebca6b);
    v = Math.imul(v ^ (v >>> 13), 0xc2b2ae35);
    v = (v ^ (v >>> 16)) >>> 0;
    h = Math.imul(h ^ v, 0x01000193) >>> 0;
    h = (h ^ (h >>> 15)) >>> 0;
  }
  return h >>> 0;
}

/** Streams of randomness used by training, kept apart so adding one never shifts another. */
export const STREAM = { shuffle: 1, dropout: 2, augment: 3, init: 4 } as const;

/** The order of the training examples in `epoch` (0-based). */
export function epochOrder(n: number, seed: number, epoch: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  return new Rng(mixSeed(seed, STREAM.shuffle, epoch)).shuffle(order);
}
