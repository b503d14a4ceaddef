import { describe, expect, it } from 'vitest';
import { Rng } from '../src/util/rng.js';

describe('Rng', () => {
  it('is reproducible from its seed and differs between seeds', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xa = Array.from({ length: 100 }, () => a.next());
    const xb = Array.from({ length: 100 }, () => b.next());
    const xc = Array.from({ length: 100 }, () => c.next());
    expect(xa).toEqual(xb);
    expect(xa).not.toEqual(xc);
  });

  it('draws next() in [0, 1) with roughly uniform bins', () => {
    const r = new Rng(0);
    const bins = new Array(10).fill(0);
    const n = 100_000;
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < n; i++) {
      const x = r.next();
      min = Math.min(min, x);
      max = Math.max(max, x);
      bins[Math.floor(x * 10)]++;
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    // chi-square with 9 degrees of freedom: 99.9% quantile is 27.9
    const expected = n / 10;
    const chi2 = bins.reduce((s, o) => s + (o - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(27.9);
  });

  it('uniform(a, b) stays in [a, b) and int(n) covers 0..n-1', () => {
    const r = new Rng(7);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const u = r.uniform(-0.2, 0.2);
      expect(u >= -0.2 && u < 0.2).toBe(true);
      const k = r.int(7);
      expect(Number.isInteger(k) && k >= 0 && k < 7).toBe(true);
      seen.add(k);
    }
    expect(seen.size).toBe(7);
    expect(() => r.int(0)).toThrow();
  });

  it('shuffle returns a permutation of the same array', () => {
    const r = new Rng(3);
    const arr = Array.from({ length: 50 }, (_, i) => i);
    const out = r.shuffle(arr);
    expect(out).toBe(arr);
    expect([...out].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(out).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('resumes the same sequence from a saved state', () => {
    const r = new Rng(11);
    for (let i = 0; i < 5; i++) r.next();
    const s = r.getState();
    const copy = Rng.fromState(s);
    expect(Array.from({ length: 20 }, () => copy.next())).toEqual(Array.from({ length: 20 }, () => r.next()));
  });
});
