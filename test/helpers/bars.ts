import { Rng } from '../../src/util/rng.js';

/**
 * A synthetic task that needs spatial features: 12×12 single-channel images holding one bar of length 6 at a random
 * position, horizontal (label 0) or vertical (label 1), plus uniform noise. Every image has the same bar mass, so
 * neither brightness nor any fixed pixel gives the class away.
 */
export const IMG = 12;
const BAR = 6;

export interface BarData {
  images: Float32Array; // [n, 12, 12, 1]
  labels: Float32Array; // [n]
  n: number;
}

export function makeBars(n: number, seed: number, noise = 0.35): BarData {
  const rng = new Rng(seed);
  const images = new Float32Array(n * IMG * IMG);
  const labels = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    const vertical = rng.int(2);
    labels[k] = vertical;
    const img = images.subarray(k * IMG * IMG, (k + 1) * IMG * IMG);
    for (let i = 0; i < img.length; i++) img[i] = rng.uniform(-noise, noise);
    const along = rng.int(IMG - BAR + 1);
    const across = rng.int(IMG);
    for (let t = 0; t < BAR; t++) {
      const [r, c] = vertical ? [along + t, across] : [across, along + t];
      img[r * IMG + c]! += 1;
    }
  }
  return { images, labels, n };
}

/** The batch of samples `idx` as host arrays. */
export function gather(d: BarData, idx: number[]): { x: Float32Array; y: Float32Array } {
  const x = new Float32Array(idx.length * IMG * IMG);
  const y = new Float32Array(idx.length);
  idx.forEach((s, k) => {
    x.set(d.images.subarray(s * IMG * IMG, (s + 1) * IMG * IMG), k * IMG * IMG);
    y[k] = d.labels[s]!;
  });
  return { x, y };
}

/**
 * Four classes of the same kind: a bar of length 6 that is horizontal (0), vertical (1), diagonal ↘ (2) or
 * anti-diagonal ↙ (3), at a random position, plus uniform noise; every image has the same bar mass.
 */
export function makeBars4(n: number, seed: number, noise = 0.35): BarData {
  const rng = new Rng(seed);
  const images = new Float32Array(n * IMG * IMG);
  const labels = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    const cls = rng.int(4);
    labels[k] = cls;
    const img = images.subarray(k * IMG * IMG, (k + 1) * IMG * IMG);
    for (let i = 0; i < img.length; i++) img[i] = rng.uniform(-noise, noise);
    const a = rng.int(IMG - BAR + 1);
    const b = cls < 2 ? rng.int(IMG) : rng.int(IMG - BAR + 1);
    for (let t = 0; t < BAR; t++) {
      const [r, c] = cls === 0 ? [b, a + t] : cls === 1 ? [a + t, b] : cls === 2 ? [a + t, b + t] : [a + t, b + BAR - 1 - t];
      img[r * IMG + c]! += 1;
    }
  }
  return { images, labels, n };
}
