import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataSplit } from '../src/cli/commands/data.js';
import { listImageFolder } from '../src/data/directory.js';
import { nodeDataFs } from '../src/data/fs-node.js';
import { kaggleSplit, planKaggleSplit } from '../src/data/kaggle-split.js';

const tmpDirs: string[] = [];
async function tempDir(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  tmpDirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of tmpDirs) await rm(d, { recursive: true, force: true });
});

/** A fake Kaggle train/ folder: cat.0–9.jpg and dog.0–9.jpg, tiny JPEGs whose colour encodes class and index. */
let kaggle: string;
beforeAll(async () => {
  kaggle = await tempDir('wt-kaggle-');
  for (const [k, prefix] of ['cat', 'dog'].entries()) {
    for (let i = 0; i < 10; i++) {
      const jpg = await sharp({ create: { width: 8, height: 6, channels: 3, background: { r: k * 200, g: i * 20, b: 50 } } }).jpeg().toBuffer();
      await writeFile(join(kaggle, `${prefix}.${i}.jpg`), jpg);
    }
  }
  await writeFile(join(kaggle, 'unrelated.txt'), 'x');
});

describe('data split (Kaggle train/ → train/validation/test × cats/dogs)', () => {
  it('plans indices 0..train-1, then validation, then test, per class', () => {
    const p = planKaggleSplit('/k', '/o', (...s) => s.join('/'));
    expect(p.copies.length).toBe(4000);
    expect(p.copies[0]).toEqual({ from: '/k/cat.0.jpg', to: '/o/train/cats/cat.0.jpg' });
    expect(p.copies.find((c) => c.from === '/k/dog.1000.jpg')!.to).toBe('/o/validation/dogs/dog.1000.jpg');
    expect(p.copies.find((c) => c.from === '/k/cat.1999.jpg')!.to).toBe('/o/test/cats/cat.1999.jpg');
    expect(p.lines).toEqual([
      'train/cats: 1000 (cat.0.jpg … cat.999.jpg)',
      'train/dogs: 1000 (dog.0.jpg … dog.999.jpg)',
      'validation/cats: 500 (cat.1000.jpg … cat.1499.jpg)',
      'validation/dogs: 500 (dog.1000.jpg … dog.1499.jpg)',
      'test/cats: 500 (cat.1500.jpg … cat.1999.jpg)',
      'test/dogs: 500 (dog.1500.jpg … dog.1999.jpg)',
    ]);
  });

  it('copies the files byte for byte into a flow_from_directory layout', async () => {
    const out = join(await tempDir('wt-split-'), 'small');
    const lines: string[] = [];
    await dataSplit(kaggle, out, { train: 4, validation: 3, test: 2 }, { out: (l) => lines.push(l), err: () => undefined });
    expect(lines[0]).toBe('train/cats: 4 (cat.0.jpg … cat.3.jpg)');
    expect(lines.at(-1)).toBe(`wrote ${out}`);
    expect((await readdir(out)).sort()).toEqual(['test', 'train', 'validation']);
    for (const [split, from, n] of [
      ['train', 0, 4],
      ['validation', 4, 3],
      ['test', 7, 2],
    ] as const) {
      const l = await listImageFolder(nodeDataFs, join(out, split));
      expect(l.classNames).toEqual(['cats', 'dogs']);
      const expected = (p: string) => Array.from({ length: n }, (_, i) => `${p}.${from + i}.jpg`).sort();
      expect(l.entries.filter((e) => e.label === 0).map((e) => e.relPath)).toEqual(expected('cat').map((f) => `cats/${f}`));
      expect(l.entries.filter((e) => e.label === 1).map((e) => e.relPath)).toEqual(expected('dog').map((f) => `dogs/${f}`));
      for (const e of l.entries) expect(Buffer.compare(await readFile(e.path), await readFile(join(kaggle, e.relPath.split('/')[1]!)))).toBe(0);
    }
  });

  it('refuses a non-empty output folder and copies nothing', async () => {
    const out = await tempDir('wt-split-');
    await writeFile(join(out, 'keep.txt'), 'mine');
    await expect(kaggleSplit(nodeDataFs, kaggle, out, { train: 1, validation: 1, test: 1 })).rejects.toThrow(new RegExp(`${out} is not empty .*refusing to overwrite`));
    expect(await readdir(out)).toEqual(['keep.txt']);
    // An existing empty folder is fine.
    const empty = await tempDir('wt-split-');
    await kaggleSplit(nodeDataFs, kaggle, empty, { train: 1, validation: 1, test: 1 });
    expect((await readdir(empty)).sort()).toEqual(['test', 'train', 'validation']);
  });

  it('names every missing source file and copies nothing', async () => {
    const out = join(await tempDir('wt-split-'), 'small');
    const err = await kaggleSplit(nodeDataFs, kaggle, out, { train: 5, validation: 4, test: 3 }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe(`${kaggle}: 4 source files missing: cat.10.jpg, cat.11.jpg, dog.10.jpg, dog.11.jpg`);
    await expect(readdir(out)).rejects.toThrow(/ENOENT/);
    await mkdir(out);
    await expect(kaggleSplit(nodeDataFs, join(kaggle, 'nope'), out)).rejects.toThrow(/nope: cannot read the Kaggle train folder/);
  });
});
