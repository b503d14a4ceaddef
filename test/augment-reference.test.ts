import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  augmentParamsToMatrix,
  BOOK_AUGMENTATION,
  IDENTITY_AUGMENT,
  sampleAugmentBatch,
  sampleAugmentParams,
  type AugmentParams,
} from '../src/data/augment-params.js';
import { affineWarpRef } from '../src/reference/augment.js';
import { Rng } from '../src/util/rng.js';

interface Fixture {
  shape: [number, number, number];
  image: number[];
  cases: { params: AugmentParams; output: number[] }[];
}
const fixture = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures/keras-augment.json'), 'utf8')) as Fixture;

describe('augmentation parameters and float64 reference warp', () => {
  it("reproduces Keras' apply_transform (scipy affine_transform, order 1, mode nearest, then flip) on known answers", () => {
    const [h, w, c] = fixture.shape;
    for (const { params, output } of fixture.cases) {
      const m = augmentParamsToMatrix(params, h, w);
      const out = affineWarpRef(fixture.image, [1, h, w, c], m);
      let maxErr = 0;
      for (let i = 0; i < out.length; i++) maxErr = Math.max(maxErr, Math.abs(out[i]! - output[i]!));
      expect(maxErr, JSON.stringify(params)).toBeLessThan(1e-12);
    }
  });

  it('identity parameters give the identity matrix; a flip maps column c to w − 1 − c', () => {
    expect(Array.from(augmentParamsToMatrix(IDENTITY_AUGMENT, 10, 12))).toEqual([1, 0, 0, 0, 1, 0]);
    const f = augmentParamsToMatrix({ ...IDENTITY_AUGMENT, flipHorizontal: true }, 10, 12);
    for (const [r, col] of [[0, 0], [3, 7], [9, 11]] as const) {
      expect(f[0]! * r + f[1]! * col + f[2]!).toBeCloseTo(r, 12);
      expect(f[3]! * r + f[4]! * col + f[5]!).toBeCloseTo(11 - col, 12);
    }
  });

  it('a pure rotation keeps the Keras centre (h/2 + 0.5, w/2 + 0.5) fixed and preserves distances', () => {
    const h = 150;
    const w = 150;
    const m = augmentParamsToMatrix({ ...IDENTITY_AUGMENT, theta: 33 }, h, w);
    const map = (r: number, c: number) => [m[0]! * r + m[1]! * c + m[2]!, m[3]! * r + m[4]! * c + m[5]!] as const;
    const [cr, cc] = map(h / 2 + 0.5, w / 2 + 0.5);
    expect(cr).toBeCloseTo(h / 2 + 0.5, 10);
    expect(cc).toBeCloseTo(w / 2 + 0.5, 10);
    const [ar, ac] = map(10, 20);
    const [br, bc] = map(50, 90);
    expect(Math.hypot(ar - br, ac - bc)).toBeCloseTo(Math.hypot(40, 70), 10);
  });

  it('samples every parameter inside the book ranges, both flips, and repeats with the same seed', () => {
    const rng = new Rng(5);
    let flips = 0;
    const n = 2000;
    for (let i = 0; i < n; i++) {
      const p = sampleAugmentParams(rng, BOOK_AUGMENTATION, 150, 120);
      expect(Math.abs(p.theta)).toBeLessThanOrEqual(40);
      expect(Math.abs(p.tx)).toBeLessThanOrEqual(0.2 * 150);
      expect(Math.abs(p.ty)).toBeLessThanOrEqual(0.2 * 120);
      expect(Math.abs(p.shear)).toBeLessThanOrEqual(0.2);
      expect(p.zx >= 0.8 && p.zx <= 1.2 && p.zy >= 0.8 && p.zy <= 1.2).toBe(true);
      if (p.flipHorizontal) flips++;
    }
    expect(flips / n).toBeGreaterThan(0.45);
    expect(flips / n).toBeLessThan(0.55);
    const a = sampleAugmentBatch(new Rng(9), BOOK_AUGMENTATION, 4, 32, 32);
    const b = sampleAugmentBatch(new Rng(9), BOOK_AUGMENTATION, 4, 32, 32);
    expect(a.matrices).toEqual(b.matrices);
    expect(a.params).toEqual(b.params);
    for (let i = 0; i < 4; i++) expect(Array.from(a.matrices.subarray(i * 6, i * 6 + 6))).toEqual(Array.from(augmentParamsToMatrix(a.params[i]!, 32, 32), Math.fround));
  });

  it("reads the shear range as degrees when asked (later Keras' reading)", () => {
    const p = sampleAugmentParams(new Rng(1), { ...BOOK_AUGMENTATION, shearRange: 20, shearUnits: 'degrees' }, 10, 10);
    expect(Math.abs(p.shear)).toBeLessThanOrEqual((20 * Math.PI) / 180);
  });
});
