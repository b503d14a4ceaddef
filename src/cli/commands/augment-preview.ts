// `webgpu-transfer augment-preview <image>`: a grid of randomly augmented versions of one image, made by the GPU kernel.
import type { Command } from 'commander';
import { readFile, writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import { BOOK_AUGMENTATION, type AugmentConfig } from '../../data/augment-params.js';
import { SharpImageDecoder } from '../../data/decoder-node.js';
import type { Interpolation } from '../../data/types.js';
import { Engine } from '../../engine/index.js';
import { augmentedCopies } from '../../train/index.js';

export interface PreviewOptions {
  n?: number;
  output?: string;
  size?: number;
  seed?: number;
  cols?: number;
  gap?: number;
  interpolation?: Interpolation;
  config?: AugmentConfig;
}

/** Lays out `tiles` (each h×w×3) in a grid with `gap` white pixels between them. */
export function composeGrid(tiles: Uint8Array[], h: number, w: number, cols: number, gap: number): { data: Uint8Array; width: number; height: number } {
  const rows = Math.ceil(tiles.length / cols);
  const width = cols * w + (cols - 1) * gap;
  const height = rows * h + (rows - 1) * gap;
  const data = new Uint8Array(width * height * 3).fill(255);
  tiles.forEach((t, i) => {
    const x0 = (i % cols) * (w + gap);
    const y0 = Math.floor(i / cols) * (h + gap);
    for (let y = 0; y < h; y++) data.set(t.subarray(y * w * 3, (y + 1) * w * 3), ((y0 + y) * width + x0) * 3);
  });
  return { data, width, height };
}

/** Augments `n` copies of the image on the GPU (rescale, then the book's random affine) and writes a PNG grid. */
export async function augmentPreview(imagePath: string, opts: PreviewOptions = {}, engine?: Engine): Promise<{ output: string; width: number; height: number }> {
  const n = opts.n ?? 8;
  const size = opts.size ?? 150;
  const output = opts.output ?? 'augment-preview.png';
  const cols = opts.cols ?? Math.min(n, 4);
  const pixels = await new SharpImageDecoder().decode(new Uint8Array(await readFile(imagePath)), imagePath, [size, size], opts.interpolation ?? 'nearest');
  const e = engine ?? (await Engine.create());
  try {
    const out = await augmentedCopies(e, pixels, size, { n, seed: opts.seed ?? 0, config: opts.config ?? BOOK_AUGMENTATION });
    const tiles = Array.from({ length: n }, (_, i) => Uint8Array.from(out.subarray(i * pixels.length, (i + 1) * pixels.length), (v) => Math.round(Math.min(1, Math.max(0, v)) * 255)));
    const grid = composeGrid(tiles, size, size, cols, opts.gap ?? 4);
    const png = await sharp(grid.data, { raw: { width: grid.width, height: grid.height, channels: 3 } }).png().toBuffer();
    await writeFile(output, png);
    return { output, width: grid.width, height: grid.height };
  } finally {
    if (!engine) e.destroy();
  }
}

function positiveInt(name: string): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got "${v}"`);
    return n;
  };
}

export function registerAugmentPreview(program: Command): void {
  program
    .command('augment-preview')
    .description("write a grid of randomly augmented versions of an image (the book's augmentation, on the GPU)")
    .argument('<image>', 'image file')
    .option('-n, --n <count>', 'number of augmented versions', positiveInt('n'), 8)
    .option('-o, --output <file>', 'PNG to write', 'augment-preview.png')
    .option('--size <n>', 'resize to n×n first', positiveInt('size'), 150)
    .option('--cols <n>', 'images per row (default min(n, 4))', positiveInt('cols'))
    .option('--seed <n>', 'random seed', (v) => Number(v), 0)
    .option('--shear-degrees', 'read the shear range 0.2 as degrees (later Keras) instead of radians (Keras 2.0)')
    .action(async (image: string, o: { n: number; output: string; size: number; cols?: number; seed: number; shearDegrees?: boolean }) => {
      const config: AugmentConfig = o.shearDegrees ? { ...BOOK_AUGMENTATION, shearUnits: 'degrees' } : BOOK_AUGMENTATION;
      const r = await augmentPreview(image, { n: o.n, output: o.output, size: o.size, seed: o.seed, config, ...(o.cols ? { cols: o.cols } : {}) });
      console.log(`wrote ${r.output} (${r.width}×${r.height}, ${o.n} augmented versions)`);
    });
}
