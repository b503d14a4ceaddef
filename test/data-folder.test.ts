import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { DiskPixelCache } from '../src/data/cache-node.js';
import { listImageFolder } from '../src/data/directory.js';
import { nodeDataFs } from '../src/data/fs-node.js';
import { openImageFolder } from '../src/data/image-folder-node.js';

const DATA = resolve(import.meta.dirname, '../../shared/data/cats_and_dogs_small');
const fixture = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures/pil-resize.json'), 'utf8')) as {
  nearestIndices: { in: number; out: number; indices: number[] }[];
};
const tmpDirs: string[] = [];
afterAll(async () => {
  for (const d of tmpDirs) await rm(d, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'wt-data-folder-'));
  tmpDirs.push(d);
  return d;
}

describe('cats_and_dogs_small as flow_from_directory', () => {
  it('lists 2000/1000/1000 images with cats = 0 and dogs = 1, in Keras order', async () => {
    for (const [split, n, first] of [
      ['train', 2000, 0],
      ['validation', 1000, 1000],
      ['test', 1000, 1500],
    ] as const) {
      const l = await listImageFolder(nodeDataFs, join(DATA, split));
      expect(l.classNames).toEqual(['cats', 'dogs']);
      expect(l.entries.length).toBe(n);
      expect(l.counts).toEqual([n / 2, n / 2]);
      for (const e of l.entries) expect(e.label).toBe(e.relPath.startsWith('dogs/dog.') ? 1 : e.relPath.startsWith('cats/cat.') ? 0 : -1);
      // Python's sorted() order of file names: cat.1000, cat.1001, …, cat.1009, cat.101, …
      const names = l.entries.filter((e) => e.label === 0).map((e) => e.relPath.slice('cats/'.length));
      expect(names).toEqual([...names].sort());
      expect(names).toContain(`cat.${first}.jpg`);
    }
  });

  it('opens the validation split: summary line, pixels equal to an independent decode, cache hit on the second pass', async () => {
    const cacheDir = await tempDir();
    const lines: string[] = [];
    const cache1 = new DiskPixelCache({ dir: cacheDir });
    const v = await openImageFolder(join(DATA, 'validation'), { targetSize: [150, 150], cache: cache1, log: (l) => lines.push(l) });
    expect(lines).toEqual(['Found 1000 images belonging to 2 classes.']);
    expect(v.summary).toBe('Found 1000 images belonging to 2 classes.');
    expect(v.size).toBe(1000);
    expect(v.counts).toEqual([500, 500]);
    expect(Array.from(v.labels.subarray(0, 500)).every((l) => l === 0)).toBe(true);
    expect(Array.from(v.labels.subarray(500)).every((l) => l === 1)).toBe(true);
    expect(cache1.counters).toEqual({ hits: 0, misses: 1000, writes: 1000 });

    // Independent route: sharp's plain full-size decode, then the columns/rows Pillow's NEAREST picks (known answers).
    const idx = fixture.nearestIndices.find((c) => c.in === 200 && c.out === 150)!.indices;
    for (const i of [0, 1, 499, 500, 999]) {
      const { data, info } = await sharp(readFileSync(v.images[i]!.path)).raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height, info.channels]).toEqual([200, 200, 3]);
      const expected = new Uint8Array(150 * 150 * 3);
      for (let y = 0; y < 150; y++) for (let x = 0; x < 150; x++) for (let c = 0; c < 3; c++) expected[(y * 150 + x) * 3 + c] = data[(idx[y]! * 200 + idx[x]!) * 3 + c]!;
      const got = await v.load(i);
      expect(Buffer.compare(Buffer.from(got), Buffer.from(expected)), v.images[i]!.path).toBe(0);
    }

    // Second run: a fresh cache object on the same folder finds every image and decodes nothing.
    const cache2 = new DiskPixelCache({ dir: cacheDir });
    const v2 = await openImageFolder(join(DATA, 'validation'), { targetSize: [150, 150], cache: cache2 });
    expect(cache2.counters).toEqual({ hits: 1000, misses: 0, writes: 0 });
    const b = await v2.loadBatch([0, 999, 500]);
    expect(cache2.counters.hits).toBe(1003);
    expect(cache2.counters.writes).toBe(0);
    expect(Array.from(b.labels)).toEqual([0, 1, 1]);
    expect(b.images.length).toBe(3 * 150 * 150 * 3);
    expect(Buffer.compare(Buffer.from(b.images.subarray(0, 67500)), Buffer.from(await v.load(0)))).toBe(0);
    // Bilinear is another cache entry (another method in the key).
    const cache3 = new DiskPixelCache({ dir: cacheDir });
    const bil = await openImageFolder(join(DATA, 'validation'), { targetSize: [150, 150], cache: cache3, interpolation: 'bilinear', classes: ['cats', 'dogs'] });
    expect(cache3.counters.misses).toBe(1000);
    expect(Buffer.compare(Buffer.from(await bil.load(0)), Buffer.from(await v.load(0)))).not.toBe(0);
  }, 60_000);
});
