import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { augmentPreview, composeGrid } from '../src/cli/commands/augment-preview.js';
import { BOOK_AUGMENTATION, sampleAugmentBatch } from '../src/data/augment-params.js';
import { SharpImageDecoder } from '../src/data/decoder-node.js';
import { affineWarpRef } from '../src/reference/augment.js';
import { preprocessRef } from '../src/reference/preprocess.js';
import { Rng } from '../src/util/rng.js';
import { testEngine } from './helpers/engine.js';

const IMAGE = resolve(import.meta.dirname, '../../shared/data/cats_and_dogs_small/train/cats/cat.3.jpg');
let dir: string | null = null;
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('augment-preview', () => {
  it('composes tiles left to right, top to bottom, with white gaps', () => {
    const tile = (v: number) => new Uint8Array(2 * 3 * 3).fill(v);
    const g = composeGrid([tile(10), tile(20), tile(30)], 2, 3, 2, 1);
    expect([g.width, g.height]).toEqual([7, 5]);
    const px = (x: number, y: number) => g.data[(y * g.width + x) * 3];
    expect([px(0, 0), px(3, 0), px(4, 1), px(0, 3), px(4, 3), px(2, 2)]).toEqual([10, 255, 20, 30, 255, 255]);
  });

  it('writes a PNG grid whose tiles are the reference augmentation of the image', async () => {
    const e = await testEngine();
    dir = await mkdtemp(join(tmpdir(), 'wt-preview-'));
    const output = join(dir, 'grid.png');
    const size = 32;
    const r = await augmentPreview(IMAGE, { n: 3, size, cols: 2, gap: 2, seed: 5, output }, e);
    expect([r.width, r.height]).toEqual([2 * size + 2, 2 * size + 2]);
    const { data, info } = await sharp(await readFile(output)).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([66, 66, 3]);

    const pixels = await new SharpImageDecoder().decode(new Uint8Array(await readFile(IMAGE)), IMAGE, [size, size], 'nearest');
    const { matrices } = sampleAugmentBatch(new Rng(5), BOOK_AUGMENTATION, 3, size, size);
    const x = preprocessRef(pixels, 'rescale');
    for (let t = 0; t < 3; t++) {
      const ref = affineWarpRef(x, [1, size, size, 3], matrices.subarray(t * 6, t * 6 + 6));
      const x0 = (t % 2) * (size + 2);
      const y0 = Math.floor(t / 2) * (size + 2);
      let maxDiff = 0;
      for (let y = 0; y < size; y++) {
        for (let xx = 0; xx < size; xx++) {
          for (let c = 0; c < 3; c++) {
            const got = data[((y0 + y) * info.width + x0 + xx) * 3 + c]!;
            maxDiff = Math.max(maxDiff, Math.abs(got - ref[(y * size + xx) * 3 + c]! * 255));
          }
        }
      }
      expect(maxDiff).toBeLessThanOrEqual(0.5 + 1e-3 * 255);
    }
    // The unused fourth cell stays white.
    expect(data[((size + 2 + 5) * info.width + size + 2 + 5) * 3]).toBe(255);
  });
});
