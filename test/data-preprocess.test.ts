import { describe, expect, it } from 'vitest';
import { preprocess, type PreprocessMode } from '../src/kernels/preprocess.js';
import { preprocessRef } from '../src/reference/preprocess.js';
import { Rng } from '../src/util/rng.js';
import { testEngine } from './helpers/engine.js';

function relErr(out: Float32Array, ref: Float64Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = out[i]! - ref[i]!;
    num += Number.isNaN(d) ? Infinity : d * d;
    den += ref[i]! * ref[i]!;
  }
  return Math.sqrt(num / den);
}

describe('preprocess kernel (u8 NHWC → f32 NHWC)', () => {
  const rng = new Rng(17);
  // 2×5×7×3 = 210 bytes: not a multiple of 4, so the last packed word is partial.
  const shape = [2, 5, 7, 3];
  const bytes = Uint8Array.from({ length: 210 }, () => rng.int(256));
  bytes[0] = 0;
  bytes[1] = 255;

  for (const mode of ['rescale', 'imagenet', 'caffe'] as PreprocessMode[]) {
    it(`${mode} matches the float64 reference`, async () => {
      const e = await testEngine();
      const x = e.upload(bytes, shape, 'u8');
      const out = e.full(shape, NaN);
      preprocess(e, x, mode, out);
      const y = await out.readF32();
      const ref = preprocessRef(bytes, mode);
      expect(y.every((v) => Number.isFinite(v))).toBe(true);
      expect(relErr(y, ref)).toBeLessThan(1e-6);
      x.dispose();
      out.dispose();
    });
  }

  it('allocates its own output with the input shape', async () => {
    const e = await testEngine();
    const x = e.upload(bytes, shape, 'u8');
    const y = preprocess(e, x, 'rescale');
    expect(y.shape).toEqual(shape);
    expect(y.dtype).toBe('f32');
    expect(relErr(await y.readF32(), preprocessRef(bytes, 'rescale'))).toBeLessThan(1e-6);
    x.dispose();
    y.dispose();
  });

  it('rejects non-u8 or non-RGB input', async () => {
    const e = await testEngine();
    const f = e.full([2, 3], 1);
    expect(() => preprocess(e, f, 'rescale')).toThrow(/u8/);
    const g = e.upload(new Uint8Array(8), [2, 4], 'u8');
    expect(() => preprocess(e, g, 'rescale')).toThrow(/RGB/);
    f.dispose();
    g.dispose();
  });
});
