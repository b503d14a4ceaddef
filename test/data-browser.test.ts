import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SharpImageDecoder } from '../src/data/decoder-node.js';

/**
 * The browser half of the data pipeline in headless Chromium: BrowserImageDecoder (createImageBitmap + OffscreenCanvas)
 * against Pillow's known answers and against sharp, and ImageFolder over picked files with the in-memory cache.
 */

const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const formats = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures/pil-formats.json'), 'utf8')) as {
  files: { name: string; bytes: string; width: number; height: number; rgb: string }[];
};
const DATA = resolve(import.meta.dirname, '../../shared/data/cats_and_dogs_small/validation');
const JPEGS = ['cats/cat.1000.jpg', 'cats/cat.1001.jpg', 'dogs/dog.1000.jpg', 'dogs/dog.1001.jpg'];

let server: Server;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  const bundle = await build({
    entryPoints: [join(import.meta.dirname, '../src/data/index.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    globalName: 'wtData',
    platform: 'browser',
    logLevel: 'silent',
  });
  const script = bundle.outputFiles[0]!.text;
  const files = new Map<string, Buffer>(JPEGS.map((f) => [`/data/${f}`, readFileSync(join(DATA, f))]));
  // Loopback http origin: a secure context, so crypto.subtle (the cache key) is available.
  server = createServer((req, res) => {
    const body = req.url === '/data.js' ? Buffer.from(script) : files.get(req.url ?? '') ?? (req.url === '/' ? Buffer.from('<!doctype html><script src="/data.js"></script>') : null);
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': req.url === '/' ? 'text/html' : req.url === '/data.js' ? 'text/javascript' : 'image/jpeg' }).end(body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--headless', '--no-sandbox', '--no-first-run', '--disable-background-networking'], timeout: 60_000 });
  page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  await page.waitForFunction(() => 'wtData' in window);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((ok) => server?.close(ok));
});

/** Decodes hex-encoded file bytes in the page; returns hex RGB or the error. */
function decodeInPage(hex: string, name: string, size: [number, number] | null): Promise<{ width?: number; height?: number; rgb?: string; error?: string }> {
  return page.evaluate(
    async ([hex, name, size]) => {
      const w = (window as unknown as { wtData: typeof import('../src/data/index.js') }).wtData;
      const bytes = new Uint8Array(hex.length / 2).map((_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));
      const toHex = (a: Uint8Array) => Array.from(a, (b) => b.toString(16).padStart(2, '0')).join('');
      try {
        const d = new w.BrowserImageDecoder();
        if (!size) {
          const img = await d.decodeRaw(bytes, name);
          return { width: img.width, height: img.height, rgb: toHex(img.data) };
        }
        return { rgb: toHex(await d.decode(bytes, name, size, 'nearest')) };
      } catch (e) {
        return { error: String((e as Error).message) };
      }
    },
    [hex, name, size] as const,
  );
}

describe('browser decoding', () => {
  // Opaque, losslessly stored images: the browser's codecs must give Pillow's pixels exactly. (Alpha images go through
  // the canvas' premultiplied storage, and TIFF has no browser codec, so those are not compared.)
  for (const name of ['rgb24.bmp', 'pal8.bmp', 'grey.png', 'palette.png', 'palette.gif', 'lossless.webp']) {
    it(`${name} equals Pillow's RGB`, async () => {
      const f = formats.files.find((x) => x.name === name)!;
      const r = await decodeInPage(f.bytes, name, null);
      expect(r.error).toBeUndefined();
      expect([r.width, r.height]).toEqual([f.width, f.height]);
      expect(r.rgb).toBe(f.rgb);
    });
  }

  it('applies EXIF orientation and decodes real JPEGs close to sharp', async () => {
    const o = formats.files.find((x) => x.name === 'orientation6.jpg')!;
    const r = await decodeInPage(o.bytes, o.name, null);
    expect([r.width, r.height]).toEqual([o.width, o.height]);
    const sharpDecoder = new SharpImageDecoder();
    for (const f of JPEGS) {
      const bytes = readFileSync(join(DATA, f));
      const ref = await sharpDecoder.decode(new Uint8Array(bytes), f, [150, 150], 'nearest');
      const got = Buffer.from((await decodeInPage(bytes.toString('hex'), f, [150, 150])).rgb!, 'hex');
      expect(got.length).toBe(ref.length);
      let sum = 0;
      let max = 0;
      for (let i = 0; i < ref.length; i++) {
        const d = Math.abs(got[i]! - ref[i]!);
        sum += d;
        max = Math.max(max, d);
      }
      // Two JPEG decoders (IDCT and chroma upsampling may differ): same picture, tiny per-pixel differences.
      expect(sum / ref.length, f).toBeLessThan(1);
      expect(max, f).toBeLessThan(48);
    }
  });

  it('reports bad bytes with the file name and reason', async () => {
    const jpeg = readFileSync(join(DATA, JPEGS[0]!));
    expect((await decodeInPage('', 'empty.jpg', [8, 8])).error).toBe('empty.jpg: empty file (0 bytes)');
    expect((await decodeInPage(Buffer.from('plain text').toString('hex'), 'text.jpg', [8, 8])).error).toMatch(/^text\.jpg: not an image/);
    expect((await decodeInPage(jpeg.subarray(0, 200).toString('hex'), 'cut.jpg', [8, 8])).error).toMatch(/^cut\.jpg: corrupt JPEG file|^cut\.jpg: truncated JPEG file/);
  });

  it('opens picked files as an ImageFolder with the in-memory cache', async () => {
    const r = await page.evaluate(async (names) => {
      const w = (window as unknown as { wtData: typeof import('../src/data/index.js') }).wtData;
      const files = await Promise.all(
        names.map(async (n) => {
          const blob = await (await fetch(`/data/${n}`)).blob();
          return { name: n.split('/')[1]!, webkitRelativePath: `validation/${n}`, arrayBuffer: () => blob.arrayBuffer() };
        }),
      );
      const lines: string[] = [];
      const cache = new w.MemoryPixelCache();
      const opts = { fs: w.filesDataFs(files), decoder: new w.BrowserImageDecoder(), cache, targetSize: [150, 150] as const, log: (l: string) => lines.push(l) };
      const f = await w.ImageFolder.open('validation', opts);
      const again = await w.ImageFolder.open('validation', opts);
      const batch = await again.loadBatch([0, 1, 2]);
      return { lines, classes: f.classNames, labels: Array.from(f.labels), counters: { ...cache.counters }, batch: [batch.size, batch.images.length, Array.from(batch.labels)] };
    }, JPEGS);
    expect(r.lines).toEqual(['Found 4 images belonging to 2 classes.', 'Found 4 images belonging to 2 classes.']);
    expect(r.classes).toEqual(['cats', 'dogs']);
    expect(r.labels).toEqual([0, 0, 1, 1]);
    // First open: 4 misses and writes; second open: 4 hits; the batch (no prefetch): 3 more hits.
    expect(r.counters).toEqual({ hits: 7, misses: 4, writes: 4 });
    expect(r.batch[0]).toBe(3);
    expect(r.batch[1]).toBe(3 * 150 * 150 * 3);
  });
});
