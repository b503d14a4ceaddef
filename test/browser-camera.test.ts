import { describe, expect, it, beforeAll } from 'vitest';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { repoRoot } from '../src/cli/commands/web.js';
import { SharpImageDecoder } from '../src/data/decoder-node.js';
import { resizeRgb } from '../src/data/resize.js';
import { useTabBrowser } from './helpers/browser-tab.js';
import { writeY4m, type RgbFrame } from './helpers/y4m.js';

/**
 * The tab as Teachable Machine (issue 21), with Chromium's fake camera playing a video this test writes from real
 * photos: five cats for five seconds, then five dogs for five seconds, looping. Two classes renamed on their cards,
 * frames recorded into each by holding its record button while that part plays, trained with every default
 * (MobileNetV2 at 224, Adam), then the live preview must name the class the camera shows; the project saved, the
 * page reloaded, the project opened: the same classes and the same predictions, bit for bit.
 */

const root = repoRoot();
const demoDir = join(resolve(root, '../shared'), 'data', 'cats_and_dogs_small');
const artifacts = join(root, 'test-artifacts');
const FPS = 8;
const PER_PHOTO = FPS; // one second per photo
const PHOTOS = 5;
const W = 320;
const H = 240;
/** Each photo's frame as the tab's centre square sees it, small, to tell which part of the video plays. */
const refs: { cls: 'cat' | 'dog'; small: Uint8Array }[] = [];
const SMALL = 16;

const videoDir = await mkdtemp(join(tmpdir(), 'webgpu-transfer-camera-'));
const video = join(videoDir, 'cats-then-dogs.y4m');

beforeAll(async () => {
  const decoder = new SharpImageDecoder();
  const frames: RgbFrame[] = [];
  for (const [cls, folder, prefix] of [['cat', 'cats', 'cat'], ['dog', 'dogs', 'dog']] as const) {
    for (let i = 0; i < PHOTOS; i++) {
      const file = join(demoDir, 'train', folder, `${prefix}.${i}.jpg`);
      const square = await decoder.decode(new Uint8Array(await readFile(file)), file, [H, H], 'bilinear');
      const rgb = new Uint8Array(W * H * 3);
      const left = (W - H) / 2;
      for (let y = 0; y < H; y++) rgb.set(square.subarray(y * H * 3, (y + 1) * H * 3), (y * W + left) * 3);
      refs.push({ cls, small: resizeRgb({ width: H, height: H, data: square }, [SMALL, SMALL], 'bilinear') });
      for (let k = 0; k < PER_PHOTO; k++) frames.push({ width: W, height: H, rgb });
    }
  }
  await writeY4m(video, frames, FPS);
});

const app = useTabBrowser(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${video}`]);

/** Which class the camera shows now: the photo nearest the page's current frame. */
async function showing(page: Page): Promise<'cat' | 'dog'> {
  const frame = await page.evaluate((s) => window.__cameraFrame(s), SMALL);
  let best = refs[0]!;
  let bestD = Infinity;
  for (const r of refs) {
    let d = 0;
    for (let i = 0; i < frame.length; i++) d += (frame[i]! - r.small[i]!) ** 2;
    if (d < bestD) [best, bestD] = [r, d];
  }
  return best.cls;
}

/** Waits for the start of `cls`'s part of the video (the other class before it). */
async function waitForPart(page: Page, cls: 'cat' | 'dog'): Promise<void> {
  let prev = await showing(page);
  for (let t = Date.now(); Date.now() - t < 60_000; ) {
    const now = await showing(page);
    if (now === cls && prev !== cls) return;
    prev = now;
  }
  throw new Error(`the video never switched to ${cls}`);
}

/** Holds card `index`'s record button from the start of `cls`'s part for `ms` (or until the part ends). */
async function record(page: Page, index: number, cls: 'cat' | 'dog', ms: number): Promise<void> {
  await waitForPart(page, cls);
  const button = page.locator('.class-card').nth(index).locator('button.record');
  await button.hover();
  await page.mouse.down();
  const t0 = Date.now();
  while (Date.now() - t0 < ms && (await showing(page)) === cls) await page.waitForTimeout(100);
  await page.mouse.up();
}

describe('the tab as Teachable Machine, with a fake camera', () => {
  it('records frames into renamed classes, trains with the defaults, names what the camera shows live, and restores a saved project', async () => {
    const page = await app.browser.newPage({ viewport: { width: 1280, height: 1000 }, acceptDownloads: true });
    const log: string[] = [];
    page.on('console', (m) => log.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
    const dir = await mkdtemp(join(tmpdir(), 'webgpu-transfer-project-'));
    await mkdir(artifacts, { recursive: true });
    try {
      await page.goto(app.server.url);
      await page.evaluate(() => window.__ready);
      const cardsOf = () => page.evaluate(() => window.__board().classes);
      for (const [i, name] of ['cat', 'dog'].entries()) {
        await page.locator('.class-card').nth(i).locator('.class-name').fill(name);
        await page.keyboard.press('Tab');
      }
      expect((await cardsOf()).map((c) => c.name)).toEqual(['cat', 'dog']);
      await record(page, 0, 'cat', 3500);
      await page.screenshot({ path: join(artifacts, 'camera-recorded-cats.png'), fullPage: true });
      await record(page, 1, 'dog', 3500);
      const counts = await cardsOf();
      for (const c of counts) {
        expect(c.train, JSON.stringify(counts)).toBeGreaterThanOrEqual(15);
        expect(c.validation, JSON.stringify(counts)).toBeGreaterThanOrEqual(3);
      }
      // Removing an image from a card.
      const before = (await cardsOf())[0]!;
      await page.locator('.class-card').nth(0).locator('.thumb').last().hover();
      await page.locator('.class-card').nth(0).locator('.thumb').last().locator('.remove-sample').click();
      const after = (await cardsOf())[0]!;
      expect(after.train + after.validation).toBe(before.train + before.validation - 1);

      expect(await page.isEnabled('#train')).toBe(true);
      await page.click('#train');
      await page.waitForFunction(() => /^(Done in|Training failed)/.test(document.getElementById('train-status')!.textContent!), undefined, { timeout: 600_000 });
      const status = (await page.textContent('#train-status'))!;
      expect(status, `${status}\n${log.join('\n')}`).toMatch(/^Done in/);
      expect(await page.evaluate(() => window.__errors())).toEqual([]);

      await page.click('#live-toggle');
      const samples: { shown: string; named: string }[] = [];
      for (let t = Date.now(); Date.now() - t < 25_000 || new Set(samples.map((s) => s.shown)).size < 2; ) {
        if (Date.now() - t > 120_000) break;
        const shown = await showing(page);
        const frames = (await page.evaluate(() => window.__live()?.frames)) ?? 0;
        // Two frames on: the second was grabbed after `shown` was read.
        await page.waitForFunction((f) => (window.__live()?.frames ?? 0) >= f + 2, frames, { timeout: 60_000 });
        const named = (await page.evaluate(() => window.__live()!.top))!;
        if ((await showing(page)) === shown) samples.push({ shown, named });
      }
      const right = samples.filter((s) => s.shown === s.named).length;
      expect(new Set(samples.map((s) => s.shown)), JSON.stringify(samples)).toEqual(new Set(['cat', 'dog']));
      expect(right / samples.length, JSON.stringify(samples)).toBeGreaterThanOrEqual(0.9);
      expect(await page.textContent('#live-fps')).toMatch(/^Live: (cat|dog) · \d+\.\d frames\/s$/);
      await page.check('#live-heatmap');
      const f0 = (await page.evaluate(() => window.__live()?.frames)) ?? 0;
      await page.waitForFunction((f) => (window.__live()?.frames ?? 0) >= f + 2, f0, { timeout: 60_000 });
      await page.screenshot({ path: join(artifacts, 'camera-live-preview.png'), fullPage: true });
      await page.click('#live-toggle');

      const probeUrl = `${app.server.url}api/data/test/dogs/dog.1500.jpg`;
      const probe = await page.evaluate((u) => window.__probe(u), probeUrl);
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save-project')]);
      const file = join(dir, download.suggestedFilename());
      await download.saveAs(file);
      expect(file).toMatch(/\.wtproject\.zip$/);
      const board = await cardsOf();

      await page.reload();
      await page.evaluate(() => window.__ready);
      expect((await cardsOf()).map((c) => c.name)).toEqual(['Class 1', 'Class 2']);
      await page.setInputFiles('#project-input', file);
      await page.waitForFunction(() => window.__projectOpens() > 0, undefined, { timeout: 300_000 });
      expect(await page.evaluate(() => window.__errors())).toEqual([]);
      expect((await cardsOf()).map((c) => [c.name, c.train, c.validation])).toEqual(board.map((c) => [c.name, c.train, c.validation]));
      const again = await page.evaluate((u) => window.__probe(u), probeUrl);
      expect(again.probs).toEqual(probe.probs);
      await page.screenshot({ path: join(artifacts, 'camera-project-reopened.png'), fullPage: true });

      // Not a project: named, and nothing changes.
      await page.setInputFiles('#project-input', { name: 'notes.zip', mimeType: 'application/zip', buffer: Buffer.from('not a zip at all') });
      await page.waitForFunction(() => window.__projectOpens() > 1);
      const errors = await page.evaluate(() => window.__errors());
      expect(errors.at(-1)?.message).toMatch(/^notes\.zip: not a zip file/);
      expect((await cardsOf()).map((c) => c.name)).toEqual(['cat', 'dog']);
    } finally {
      await page.close();
      await rm(dir, { recursive: true, force: true });
      await rm(videoDir, { recursive: true, force: true });
    }
  }, 900_000);
});
