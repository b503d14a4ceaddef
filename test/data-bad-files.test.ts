import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataScan } from '../src/cli/commands/data.js';
import { DiskPixelCache } from '../src/data/cache-node.js';
import { BadImagesError, DatasetLayoutError } from '../src/data/errors.js';
import { openImageFolder } from '../src/data/image-folder-node.js';
import { Rng } from '../src/util/rng.js';

let root: string;
const tmpDirs: string[] = [];
async function tempDir(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  tmpDirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of tmpDirs) await rm(d, { recursive: true, force: true });
});

async function randomImage(seed: number, w: number, h: number, format: 'jpeg' | 'png'): Promise<Buffer> {
  const r = new Rng(seed);
  const px = Buffer.from(Uint8Array.from({ length: w * h * 3 }, () => r.int(256)));
  const s = sharp(px, { raw: { width: w, height: h, channels: 3 } });
  return format === 'jpeg' ? s.jpeg({ quality: 90 }).toBuffer() : s.png().toBuffer();
}

/** Two classes with good images and one bad file of each kind. */
beforeAll(async () => {
  root = await tempDir('wt-bad-files-');
  await mkdir(join(root, 'cats'));
  await mkdir(join(root, 'dogs'));
  const jpeg = await randomImage(1, 24, 20, 'jpeg');
  await writeFile(join(root, 'cats', 'good1.jpg'), jpeg);
  await writeFile(join(root, 'cats', 'good2.png'), await randomImage(2, 16, 16, 'png'));
  await writeFile(join(root, 'cats', 'truncated.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  await writeFile(join(root, 'cats', 'notes.txt'), 'ignored: not an image extension');
  await writeFile(join(root, 'dogs', 'good3.JPEG'), await randomImage(3, 30, 10, 'jpeg'));
  await writeFile(join(root, 'dogs', 'zero.jpg'), new Uint8Array(0));
  await writeFile(join(root, 'dogs', 'text.jpg'), 'hello, I am text\n');
});

describe('bad image files', () => {
  const expectedBad = () => [
    [join(root, 'cats', 'truncated.jpg'), /^truncated JPEG file \(/],
    [join(root, 'dogs', 'text.jpg'), /^not an image: content is not JPEG/],
    [join(root, 'dogs', 'zero.jpg'), /^empty file \(0 bytes\)$/],
  ] as const;

  it("onBadImage 'fail' (default) throws one error naming every bad file and its reason", async () => {
    const err = await openImageFolder(root, { targetSize: [8, 8], cacheDir: await tempDir('wt-bad-cache-') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadImagesError);
    const bad = (err as BadImagesError).bad;
    expect(bad.map((b) => b.path)).toEqual(expectedBad().map(([p]) => p));
    for (const [i, [path, reason]] of expectedBad().entries()) {
      expect(bad[i]!.reason).toMatch(reason);
      expect((err as Error).message).toContain(`${path}: ${bad[i]!.reason}`);
    }
    expect((err as Error).message).toMatch(/^3 bad image files in .* \(fix or remove them, or pass onBadImage: 'skip'\)/);
  });

  it("onBadImage 'skip' drops exactly the bad files and reports them", async () => {
    const lines: string[] = [];
    const cache = new DiskPixelCache({ dir: await tempDir('wt-bad-cache-') });
    const f = await openImageFolder(root, { targetSize: [8, 8], cache, onBadImage: 'skip', log: (l) => lines.push(l) });
    expect(f.images.map((im) => im.relPath)).toEqual(['cats/good1.jpg', 'cats/good2.png', 'dogs/good3.JPEG']);
    expect(Array.from(f.labels)).toEqual([0, 0, 1]);
    expect(f.bad.map((b) => b.path)).toEqual(expectedBad().map(([p]) => p));
    expect(lines[0]).toBe('Found 3 images belonging to 2 classes.');
    expect(lines[1]).toMatch(/^Skipped 3 bad image files:/);
    for (const [path] of expectedBad()) expect(lines[1]).toContain(path);
    expect(cache.counters.writes).toBe(3);
    const batch = await f.loadBatch([0, 1, 2]);
    expect(batch.images.length).toBe(3 * 8 * 8 * 3);
  });

  it('a changed file misses the cache (its content hash changed); the others still hit', async () => {
    const dir = await tempDir('wt-cache-change-');
    for (const c of ['a', 'b']) await mkdir(join(dir, c));
    await writeFile(join(dir, 'a', 'x.png'), await randomImage(10, 12, 12, 'png'));
    await writeFile(join(dir, 'a', 'y.png'), await randomImage(11, 12, 12, 'png'));
    await writeFile(join(dir, 'b', 'z.png'), await randomImage(12, 12, 12, 'png'));
    const cacheDir = await tempDir('wt-cache-');
    const c1 = new DiskPixelCache({ dir: cacheDir });
    const f1 = await openImageFolder(dir, { targetSize: [6, 6], cache: c1 });
    expect(c1.counters).toEqual({ hits: 0, misses: 3, writes: 3 });
    const before = await f1.load(1);

    await writeFile(join(dir, 'a', 'y.png'), await randomImage(99, 12, 12, 'png'));
    const c2 = new DiskPixelCache({ dir: cacheDir });
    const f2 = await openImageFolder(dir, { targetSize: [6, 6], cache: c2 });
    expect(c2.counters).toEqual({ hits: 2, misses: 1, writes: 1 });
    const after = await f2.load(1);
    expect(Buffer.compare(Buffer.from(after), Buffer.from(before))).not.toBe(0);
    // The new entry holds the new file's pixels: equal to a decode without any cache.
    const plain = await openImageFolder(dir, { targetSize: [6, 6], cacheDir: null });
    expect(Buffer.compare(Buffer.from(await plain.load(1)), Buffer.from(after))).toBe(0);
    // A damaged cache file (wrong length) is a miss, then rewritten.
    const entry = c2.pathOf(f2.keyOf(0));
    await writeFile(entry, (await readFile(entry)).subarray(0, 10));
    const c3 = new DiskPixelCache({ dir: cacheDir });
    await openImageFolder(dir, { targetSize: [6, 6], cache: c3 });
    expect(c3.counters).toEqual({ hits: 2, misses: 1, writes: 1 });
  });
});

describe('data scan (CLI)', () => {
  it('fails listing the bad files, or skips them and prints the classes', async () => {
    const cacheDir = await tempDir('wt-scan-cache-');
    const out: string[] = [];
    const io = { out: (l: string) => out.push(l), err: () => undefined };
    // The command names its flag (--skip-bad), not the library's option (onBadImage).
    const err = await dataScan(root, { size: 8, cacheDir }, io).catch((e: unknown) => e as Error);
    expect(err?.message).toMatch(/^3 bad image files in .* \(fix or remove them, or pass --skip-bad\):\n/);
    expect(err?.message).not.toMatch(/onBadImage/);
    await dataScan(root, { size: 8, cacheDir, skipBad: true }, io);
    expect(out[0]).toBe('Found 3 images belonging to 2 classes.');
    expect(out[1]).toContain(join(root, 'dogs', 'zero.jpg'));
    expect(out.slice(2)).toEqual(['  0 cats: 2 images', '  1 dogs: 1 images']);
  });
});

describe('dataset layout errors name the folder', () => {
  it('an empty class folder', async () => {
    const dir = await tempDir('wt-layout-');
    await mkdir(join(dir, 'cats'));
    await mkdir(join(dir, 'dogs'));
    await writeFile(join(dir, 'cats', 'a.png'), await randomImage(1, 4, 4, 'png'));
    await writeFile(join(dir, 'dogs', 'readme.txt'), 'no images here');
    const err = await openImageFolder(dir, { targetSize: [4, 4], cacheDir: null }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetLayoutError);
    expect((err as DatasetLayoutError).folder).toBe(join(dir, 'dogs'));
    expect((err as Error).message).toMatch(new RegExp(`class folder ${join(dir, 'dogs')} contains no images .*1 other file ignored`));
  });

  it('fewer than two classes, no class folders, a missing folder', async () => {
    const one = await tempDir('wt-layout-');
    await mkdir(join(one, 'cats'));
    await writeFile(join(one, 'cats', 'a.png'), await randomImage(1, 4, 4, 'png'));
    await expect(openImageFolder(one, { targetSize: [4, 4], cacheDir: null })).rejects.toThrow(new RegExp(`^${one}: found 1 class folder \\(cats\\); at least 2 are needed`));
    const flat = await tempDir('wt-layout-');
    await writeFile(join(flat, 'a.png'), await randomImage(1, 4, 4, 'png'));
    await expect(openImageFolder(flat, { targetSize: [4, 4], cacheDir: null })).rejects.toThrow(new RegExp(`^${flat}: no class sub-folders`));
    await expect(openImageFolder(join(flat, 'nope'), { targetSize: [4, 4], cacheDir: null })).rejects.toThrow(/nope: cannot read the data folder/);
  });

  it('a class left with no usable image after skipping', async () => {
    const dir = await tempDir('wt-layout-');
    await mkdir(join(dir, 'cats'));
    await mkdir(join(dir, 'dogs'));
    await writeFile(join(dir, 'cats', 'a.png'), await randomImage(1, 4, 4, 'png'));
    await writeFile(join(dir, 'dogs', 'b.jpg'), new Uint8Array(0));
    await expect(openImageFolder(dir, { targetSize: [4, 4], cacheDir: null, onBadImage: 'skip' })).rejects.toThrow(
      new RegExp(`no usable image left in class folder ${join(dir, 'dogs')}[^]*b\\.jpg: empty file`),
    );
  });
});
