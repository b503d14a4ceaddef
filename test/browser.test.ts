import { afterAll, describe, expect, it } from 'vitest';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { basename, join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { repoRoot } from '../src/cli/commands/web.js';
import { startWebServer } from '../src/cli/web-server.js';
import { MemoryPixelCache } from '../src/data/cache.js';
import { SharpImageDecoder } from '../src/data/decoder-node.js';
import type { Engine } from '../src/engine/index.js';
import { parseNpy } from '../src/formats/npy.js';
import { parseSafetensors, writeSafetensors } from '../src/formats/safetensors.js';
import type { History } from '../src/train/history.js';
import { parseCheckpoint } from '../src/train/checkpoint.js';
import { tensorsSha256 } from '../src/formats/checksum.js';
import { readBackboneWeights } from '../src/models/weights-node.js';
import { TabSession, topClasses, type TabData, type TabRecipe } from '../web/session.js';
import { demoImages, fetchDemoListing, fetchDemoSets, TRAIN_DIR, VALIDATION_DIR } from '../web/sources.js';
import { useTabBrowser } from './helpers/browser-tab.js';
import { relErr } from './helpers/small-ops.js';
import { testEngine } from './helpers/engine.js';

/**
 * The browser app end to end: the real server on a free loopback port, Debian's Chromium (WebGPU on SwiftShader)
 * driven by playwright-core, and the same src/ code run in this process on Dawn as the oracle.
 */

const root = repoRoot();
const shared = resolve(root, '../shared');
const demoDir = join(shared, 'data', 'cats_and_dogs_small');
const flowersDir = join(shared, 'data', 'flowers12');
const squeezeDir = join(shared, 'weights', 'squeezenet1_1', 'weights');
const artifacts = join(root, 'test-artifacts');


const app = useTabBrowser();

/** A raw GET that keeps the path exactly as written (fetch and URL would normalise `..`). */
function rawGet(port: number, path: string, method = 'GET'): Promise<{ status: number; body: Buffer; headers: Record<string, unknown> }> {
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
    });
    req.on('error', fail);
    req.end();
  });
}

async function openPage(): Promise<{ page: Page; console: string[] }> {
  const page = await app.browser.newPage({ viewport: { width: 1280, height: 1100 } });
  const console: string[] = [];
  page.on('console', (m) => console.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => console.push(`pageerror: ${e.message}`));
  await page.goto(app.server.url);
  await page.evaluate(() => window.__ready);
  return { page, console };
}

describe('web server', () => {
  it('lists the demo images by split and class, sorted, and serves their bytes', async () => {
    const res = await fetch(`${app.server.url}api/data`);
    const listing = (await res.json()) as { available: boolean; splits: Record<string, Record<string, string[]>> };
    expect(listing.available).toBe(true);
    expect(Object.keys(listing.splits).sort()).toEqual((await readdir(demoDir)).sort());
    const cats = listing.splits['train']!['cats']!;
    expect(cats.length).toBe((await readdir(join(demoDir, 'train', 'cats'))).length);
    expect(Object.keys(listing.splits['train']!)).toEqual(['cats', 'dogs']);
    const img = await fetch(`${app.server.url}api/data/train/cats/${cats[0]}`);
    expect(img.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await img.arrayBuffer()).equals(await readFile(join(demoDir, 'train', 'cats', cats[0]!)))).toBe(true);
  });

  it('offers both demo sets; a named set lists its own classes and serves its images', async () => {
    expect(await fetchDemoSets()).toEqual([
      { name: 'cats_and_dogs_small', available: true, classes: 2 },
      { name: 'flowers12', available: true, classes: 12 },
    ]);
    const flowers = await fetchDemoListing('flowers12');
    expect(flowers.set).toBe('flowers12');
    expect(Object.keys(flowers.splits['train']!)).toEqual((await readdir(join(flowersDir, 'train'))).sort());
    expect(Object.keys(flowers.splits['validation']!).length).toBe(12);
    const first = flowers.splits['train']!['sunflower']![0]!;
    const img = await fetch(`${app.server.url}api/data/flowers12/train/sunflower/${first}`);
    expect(Buffer.from(await img.arrayBuffer()).equals(await readFile(join(flowersDir, 'train', 'sunflower', first)))).toBe(true);
    expect((await fetchDemoListing('cats_and_dogs_small')).splits).toEqual((await fetchDemoListing()).splits);
    expect((await rawGet(app.server.port, '/api/data/no_such_set')).status).toBe(404);
    expect((await rawGet(app.server.port, '/api/data/flowers12/train/..%2F..%2F..%2Fx.jpg')).status).toBe(403);
  });

  it('serves SqueezeNet 1.1 as safetensors holding exactly the .npy tensors', async () => {
    const list = (await (await fetch(`${app.server.url}api/weights`)).json()) as { name: string; source: string }[];
    expect(list.find((w) => w.name === 'squeezenet1_1')?.source).toBe('npy');
    const bytes = new Uint8Array(await (await fetch(`${app.server.url}api/weights/squeezenet1_1.safetensors`)).arrayBuffer());
    const { tensors } = parseSafetensors(bytes);
    const files = (await readdir(squeezeDir)).filter((f) => f.endsWith('.npy'));
    expect(tensors.size).toBe(files.length);
    for (const f of files) {
      const want = parseNpy(await readFile(join(squeezeDir, f)));
      const got = tensors.get(f.slice(0, -4))!;
      expect(got.shape, f).toEqual(want.shape);
      expect(Buffer.from(got.data.buffer, got.data.byteOffset, got.data.byteLength).equals(Buffer.from(want.data.buffer, want.data.byteOffset, want.data.byteLength)), f).toBe(true);
    }
  });

  it('refuses paths outside its folders, writes and non-loopback addresses', async () => {
    const refused = [
      '/../package.json',
      '/%2e%2e/package.json',
      '/api/data/train/cats/..%2F..%2F..%2F..%2Fpackage.json',
      '/api/data/..%2F..%2F..%2Fmain/package.json',
      '/api/data/train/cats/%2e%2e/%2e%2e/x.jpg',
      '/api/weights/..%2Fsqueezenet1_1.safetensors',
      '/.git/config',
      '/dist/..%5C..%5Cpackage.json',
      '/app.ts',
    ];
    for (const p of refused) {
      const r = await rawGet(app.server.port, p);
      expect([400, 403, 404], `${p} → ${r.status}`).toContain(r.status);
      expect(r.body.toString()).not.toContain('webgpu-transfer');
    }
    expect((await rawGet(app.server.port, '/api/data', 'POST')).status).toBe(405);
    const page = await rawGet(app.server.port, '/');
    expect(page.status).toBe(200);
    expect(String(page.headers['content-security-policy'])).toContain("connect-src 'self'");
    await expect(startWebServer({ webDir: join(root, 'web'), host: '0.0.0.0', port: 0 })).rejects.toThrow(/refusing/);
  });
});

describe('browser app', () => {
  it('shows the WebGPU adapter and starts without errors', async () => {
    const { page, console } = await openPage();
    const adapter = await page.textContent('#adapter');
    expect(adapter, console.join('\n')).toMatch(/^WebGPU adapter: /);
    expect(await page.evaluate(() => window.__errors())).toEqual([]);
    // Teachable Machine's start: two empty classes; the few-shot defaults on MobileNetV2 at its own input size.
    expect(await page.evaluate(() => window.__board().classes.map((c) => [c.name, c.train, c.validation]))).toEqual([['Class 1', 0, 0], ['Class 2', 0, 0]]);
    expect(await page.inputValue('#weights-select')).toBe('mobilenet_v2');
    expect(await page.inputValue('#image-size')).toBe('224');
    expect([await page.inputValue('#optimizer'), await page.inputValue('#lr'), await page.inputValue('#epochs'), await page.inputValue('#batch')]).toEqual(['adam', '0.001', '50', '16']);
    expect(await page.isDisabled('#train')).toBe(true);
    await mkdir(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'browser-start.png'), fullPage: true });
    await page.close();
  });
});

/** A short run: SqueezeNet 1.1 at 32×32 on 4 + 4 demo images, validation 2 + 2, two epochs. */
const RUN = { weights: 'squeezenet1_1', demoSet: 'cats_and_dogs_small', inputSize: 32, epochs: 2, batch: 4, lr: 1e-4, optimizer: 'rmsprop', seed: 7, trainPerClass: 4, valPerClass: 2 } as const;
const PROBE_IMAGE = join(demoDir, 'test', 'dogs', 'dog.1500.jpg');

/** Recipe 3 starts from the model of recipe 2 at the book's fine-tuning rate. */
const FINETUNE_LR = 1e-5;
const runConfig = (recipe: TabRecipe) => ({ ...RUN, recipe, ...(recipe === 'finetune' ? { lr: FINETUNE_LR } : {}) });

/** The tab's session, run in this process on Dawn: the same code and the same server (sharp decodes the JPEGs). */
let nodeTab: { session: TabSession; data: TabData; runs: Map<TabRecipe, string> } | null = null;

async function nodeRun(e: Engine, recipe: TabRecipe): Promise<{ history: History; probe: number; cam: { layer: string; height: number; width: number; max: number } }> {
  if (!nodeTab) {
    const picked = demoImages(await fetchDemoListing(), { trainPerClass: RUN.trainPerClass, valPerClass: RUN.valPerClass });
    const bytes = new Uint8Array(await (await fetch(`${app.server.url}api/weights/${RUN.weights}.safetensors`)).arrayBuffer());
    const session = new TabSession(e, { decoder: new SharpImageDecoder(), cache: new MemoryPixelCache(), logger: { warn: (m) => { throw new Error(`unexpected warning: ${m}`); } } });
    session.setWeights('squeezenet1_1', { tensors: parseSafetensors(bytes).tensors, source: `${RUN.weights}.safetensors` });
    nodeTab = { session, data: { fs: picked.fs, trainDir: TRAIN_DIR, validationDir: VALIDATION_DIR }, runs: new Map() };
  }
  const { session, data, runs } = nodeTab;
  const c = runConfig(recipe);
  const result = await session.train(data, {
    recipe,
    backbone: 'squeezenet1_1',
    inputSize: c.inputSize,
    epochs: c.epochs,
    batch: c.batch,
    lr: c.lr,
    seed: c.seed,
    ...(recipe === 'finetune' ? { from: runs.get('augment')! } : {}),
  });
  runs.set(recipe, result.run);
  try {
    const pixels = await new SharpImageDecoder().decode(new Uint8Array(await readFile(PROBE_IMAGE)), PROBE_IMAGE, [RUN.inputSize, RUN.inputSize], 'nearest');
    const probe = (await result.classifier.probabilities(pixels, 1))[0]!;
    const cam = await result.classifier.explain(pixels);
    return { history: result.history, probe, cam: { layer: cam.layer, height: cam.height, width: cam.width, max: Math.max(...cam.heatmap) } };
  } finally {
    result.classifier.dispose();
  }
}

function expectSameHistory(browserH: History, nodeH: History, what: string, epochs: number = RUN.epochs): void {
  expect(browserH.loss.length, what).toBe(epochs);
  for (const key of ['loss', 'val_loss'] as const) {
    for (let i = 0; i < epochs; i++) {
      const b = browserH[key][i]!;
      const n = nodeH[key][i]!;
      expect(Number.isFinite(b) && Number.isFinite(n), `${what} ${key}[${i}]: browser ${b}, node ${n}`).toBe(true);
      expect(Math.abs(b - n) / Math.abs(n), `${what} ${key}[${i}]: browser ${b}, node ${n}`).toBeLessThanOrEqual(1e-3);
    }
  }
  expect(relErr(browserH.acc, nodeH.acc), `${what} acc`).toBeLessThanOrEqual(1e-6);
  expect(relErr(browserH.val_acc, nodeH.val_acc), `${what} val_acc`).toBeLessThanOrEqual(1e-6);
}

/** The confusion matrix the page shows (#confusion), read from its cells. */
async function confusionShown(page: Page): Promise<{ rows: number; cols: number; total: number; rowSums: number[]; counts: number[][] }> {
  const counts = await page.$$eval('#confusion tbody tr', (rows) => rows.map((r) => Array.from(r.querySelectorAll('td.count'), (td) => Number((td as HTMLElement).dataset['count']))));
  return { rows: counts.length, cols: counts[0]?.length ?? 0, total: counts.flat().reduce((a, b) => a + b, 0), rowSums: counts.map((r) => r.reduce((a, b) => a + b, 0)), counts };
}

/** A tiny 12-class run: flowers12, 2 + 2 images per class, one epoch of recipe 1 at 32×32. */
const FLOWERS_RUN = { ...RUN, demoSet: 'flowers12', recipe: 'features' as const, epochs: 1, trainPerClass: 2, valPerClass: 2 };
const FLOWERS_PROBE = join(flowersDir, 'test', 'sunflower', 'image_0723.jpg');

/** The same flowers12 run in this process (Dawn), in a session of its own; its report and the probe's top 3. */
async function nodeFlowersRun(e: Engine) {
  const picked = demoImages(await fetchDemoListing('flowers12'), { trainPerClass: FLOWERS_RUN.trainPerClass, valPerClass: FLOWERS_RUN.valPerClass });
  const bytes = new Uint8Array(await (await fetch(`${app.server.url}api/weights/${RUN.weights}.safetensors`)).arrayBuffer());
  const session = new TabSession(e, { decoder: new SharpImageDecoder(), cache: new MemoryPixelCache(), logger: { warn: (m) => { throw new Error(`unexpected warning: ${m}`); } } });
  session.setWeights('squeezenet1_1', { tensors: parseSafetensors(bytes).tensors, source: `${RUN.weights}.safetensors` });
  const c = FLOWERS_RUN;
  const result = await session.train({ fs: picked.fs, trainDir: TRAIN_DIR, validationDir: VALIDATION_DIR }, { recipe: c.recipe, backbone: 'squeezenet1_1', inputSize: c.inputSize, epochs: c.epochs, batch: c.batch, lr: c.lr, seed: c.seed });
  try {
    const pixels = await new SharpImageDecoder().decode(new Uint8Array(await readFile(FLOWERS_PROBE)), FLOWERS_PROBE, [c.inputSize, c.inputSize], 'nearest');
    const probs = await result.classifier.classProbabilities(pixels, 1);
    expect(probs.classes).toBe(12);
    await expect(result.classifier.probabilities(pixels, 1)).rejects.toThrow(/12 classes/);
    return { history: result.history, report: result.report, top: topClasses(probs, result.classifier.classNames, 3) };
  } finally {
    result.classifier.dispose();
  }
}

describe('training in the tab', () => {
  // One page for both recipes: the second run reuses the pipelines the first compiled (SwiftShader compiles slowly).
  let tab: { page: Page; console: string[] } | null = null;
  /** The recipe whose run left the tab's current model (null: none, or another run's). */
  let tabModel: TabRecipe | null = null;
  afterAll(async () => {
    await tab?.page.close();
  });

  // In this order: recipe 3 fine-tunes the model recipe 2 trained (in the tab, and in the Node session).
  for (const recipe of ['features', 'augment', 'finetune'] as const) {
    it(`${recipe}: per-epoch losses equal the Node engine's (same seed and data), then predicts like it`, async () => {
      tab ??= await openPage();
      const { page, console } = tab;
      if (recipe === 'finetune') {
        // Run alone (`-t finetune`), the model it continues is trained first: recipe 2, in the tab and in Node.
        if (tabModel !== 'augment') await page.evaluate((cfg) => window.__runTraining(cfg), runConfig('augment'));
        tabModel = 'augment';
        if (!nodeTab?.runs.has('augment')) await nodeRun(await testEngine(), 'augment');
      }
      const before = (await page.evaluate(() => window.__predictions())).length;
      tabModel = null;
      const browserH = await page.evaluate((cfg) => window.__runTraining(cfg), runConfig(recipe));
      tabModel = recipe;
      const node = await nodeRun(await testEngine(), recipe);
      expectSameHistory(browserH, node.history, recipe);

      if (recipe !== 'augment') {
        await page.setInputFiles('#predict-input', PROBE_IMAGE);
      } else {
        // Dropped on the drop zone, as a person would.
        const probeUrl = `${app.server.url}api/data/test/dogs/${basename(PROBE_IMAGE)}`;
        await page.evaluate(async (url) => {
          const dt = new DataTransfer();
          dt.items.add(new File([await (await fetch(url)).blob()], url.split('/').pop()!, { type: 'image/jpeg' }));
          document.getElementById('drop-zone')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
        }, probeUrl);
      }
      await page.waitForFunction((n) => window.__predictions().length === n, before + 1);
      const pred = (await page.evaluate(() => window.__predictions()))[before]!;
      expect(pred.error).toBeNull();
      // Two classes: both listed, most probable first, P(cat) = 1 − P(dog) of the Node engine's sigmoid (P(dog) itself
      // is checked below).
      expect(pred.top.map((t) => t.className).sort()).toEqual(['cats', 'dogs']);
      expect(pred.top[0]!.probability).toBeGreaterThanOrEqual(pred.top[1]!.probability);
      const pCat = pred.top.find((t) => t.className === 'cats')!.probability;
      expect(Math.abs(pCat - (1 - node.probe)), `P(cat): browser ${pCat}, node ${1 - node.probe}`).toBeLessThanOrEqual(1e-3 * Math.max(node.probe, 1 - node.probe));
      // Per-class results of the run: a 2×2 confusion matrix over the validation images (2 per class).
      expect(await confusionShown(page)).toMatchObject({ rows: 2, total: 2 * RUN.valPerClass, rowSums: [RUN.valPerClass, RUN.valPerClass] });
      expect(Math.abs(pred.probability! - node.probe), `P(dog): browser ${pred.probability}, node ${node.probe}`).toBeLessThanOrEqual(1e-3 * Math.max(node.probe, 1e-3));
      // The Grad-CAM overlay beside the probability: the same heatmap as the Node engine's, hidden by the toggle.
      expect(pred.heatmap, console.join('\n')).toMatchObject({ layer: node.cam.layer, height: node.cam.height, width: node.cam.width, finite: true });
      expect(Math.abs(pred.heatmap!.max - node.cam.max), `heatmap max: browser ${pred.heatmap!.max}, node ${node.cam.max}`).toBeLessThanOrEqual(1e-3 * Math.max(node.cam.max, 1e-3));
      const overlay = page.locator('#predictions .prediction').first().locator('canvas.heatmap');
      expect(await overlay.isVisible()).toBe(true);
      await page.uncheck('#heatmap-toggle');
      expect(await overlay.isVisible()).toBe(false);
      await page.check('#heatmap-toggle');

      await page.setInputFiles('#predict-input', { name: 'broken.jpg', mimeType: 'image/jpeg', buffer: Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 5]) });
      await page.waitForFunction((n) => window.__predictions().length === n, before + 2);
      expect((await page.evaluate(() => window.__predictions()))[before + 1]!.error).toMatch(/broken\.jpg/);
      const errors = await page.evaluate(() => window.__errors());
      expect(errors.map((x) => x.title), console.join('\n')).toEqual(['Bad image']);

      await mkdir(artifacts, { recursive: true });
      await page.screenshot({ path: join(artifacts, `browser-${recipe}.png`), fullPage: true });
    }, 600_000);
  }

  it('downloads the model, loads it back (also as a CLI run folder) and predicts the same; bad files change nothing', async () => {
    tab ??= await openPage();
    const { page, console } = tab;
    const dir = await mkdtemp(join(tmpdir(), 'webgpu-transfer-model-'));
    const probe = async (): Promise<number> => {
      const n = (await page.evaluate(() => window.__predictions())).length;
      await page.setInputFiles('#predict-input', PROBE_IMAGE);
      await page.waitForFunction((k) => window.__predictions().length === k, n + 1);
      const pred = (await page.evaluate(() => window.__predictions()))[n]!;
      expect(pred.error, console.join('\n')).toBeNull();
      return pred.probability!;
    };
    const load = async (files: Parameters<Page['setInputFiles']>[1]): Promise<void> => {
      const n = await page.evaluate(() => window.__modelLoads());
      await page.setInputFiles('#model-input', files);
      await page.waitForFunction((k) => window.__modelLoads() === k, n + 1);
    };
    const lastError = async () => (await page.evaluate(() => window.__errors())).at(-1);
    try {
      // The model of the last run (recipe 3's).
      if (await page.isDisabled('#download-model')) {
        tabModel = null;
        await page.evaluate((cfg) => window.__runTraining(cfg), runConfig('augment'));
        tabModel = 'augment';
      }
      const p0 = await probe();
      expect(p0).toBeGreaterThan(0);
      const same = (p: number) => expect(Math.abs(p - p0), `P(dog) ${p}, before ${p0}`).toBeLessThanOrEqual(1e-6 * p0);
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-model')]);
      const file = join(dir, download.suggestedFilename());
      await download.saveAs(file);
      expect(basename(file)).toMatch(/\.safetensors$/);
      const bytes = new Uint8Array(await readFile(file));
      const { tensors, metadata } = parseSafetensors(bytes);
      const config = JSON.parse(metadata['config']!) as { recipe: string; model: string; classes: string[]; weights: { checksum: string } };
      expect(config.model).toBe('squeezenet1_1');
      // The same base checksum as a CLI run on the .npy weights records, so CLI runs load here and vice versa.
      expect(config.weights.checksum).toBe(await tensorsSha256((await readBackboneWeights('squeezenet1_1'))!));
      expect(config.classes).toEqual(['cats', 'dogs']);
      expect(parseCheckpoint(bytes, file).state.epoch).toBe(RUN.epochs);

      // Not a model: garbage, then pretrained weights (a safetensors file of another kind). The model stays.
      await load({ name: 'junk.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from('definitely not a model') });
      expect(await lastError()).toMatchObject({ title: 'Could not load the model', message: expect.stringMatching(/^junk\.safetensors: .*; choose a model downloaded from this page/) });
      const weights = Buffer.from(await (await fetch(`${app.server.url}api/weights/${RUN.weights}.safetensors`)).arrayBuffer());
      await load({ name: 'squeezenet1_1.safetensors', mimeType: 'application/octet-stream', buffer: weights });
      expect((await lastError())?.message).toMatch(/squeezenet1_1\.safetensors: not a webgpu-transfer checkpoint.*holds no trained model/);
      expect(await page.textContent('#model-file-status')).toMatch(/^Could not load that model; still using run /);
      expect(await probe()).toBe(p0);

      // The downloaded file, then the same model as a CLI run folder writes it (checkpoint + config.json).
      await load(file);
      expect(await page.textContent('#model-file-status'), JSON.stringify(await lastError())).toMatch(/loaded from /);
      same(await probe());
      const { config: _omit, ...ckptMeta } = metadata;
      const cli = join(dir, 'run');
      await mkdir(cli);
      await writeFile(join(cli, 'checkpoint.safetensors'), writeSafetensors(tensors, ckptMeta));
      await writeFile(join(cli, 'config.json'), metadata['config']!);
      await load([join(cli, 'checkpoint.safetensors'), join(cli, 'config.json')]);
      expect(await page.textContent('#model-file-status')).toMatch(/loaded from checkpoint\.safetensors \+ config\.json/);
      same(await probe());
      // A checkpoint alone has no configuration to rebuild the model from.
      await load(join(cli, 'checkpoint.safetensors'));
      expect((await lastError())?.message).toMatch(/holds no run configuration; choose it together with its run's config\.json/);
      await page.screenshot({ path: join(artifacts, 'browser-model-file.png'), fullPage: true });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 600_000);

  it('flowers12 (12 classes): losses equal the Node engine\'s, the confusion matrix covers the validation images, predictions list the top 3', async () => {
    tab ??= await openPage();
    const { page, console } = tab;
    const before = (await page.evaluate(() => window.__predictions())).length;
    const errorsBefore = (await page.evaluate(() => window.__errors())).length;
    tabModel = null;
    const browserH = await page.evaluate((cfg) => window.__runTraining(cfg), FLOWERS_RUN);
    expect(await page.textContent('#data-summary')).toMatch(/^Filled from demo data from this machine \(flowers12\): bluebell, buttercup, /);
    const cards = await page.evaluate(() => window.__board().classes);
    expect(cards.length).toBe(12);
    expect(cards[0]).toMatchObject({ name: 'bluebell', train: 2, validation: 2 });
    const node = await nodeFlowersRun(await testEngine());
    expectSameHistory(browserH, node.history, 'flowers12', FLOWERS_RUN.epochs);

    // The shown matrix: 12 × 12, every validation image once, each row its class's images; one accuracy per class.
    const shown = await confusionShown(page);
    expect(shown).toMatchObject({ rows: 12, cols: 12, total: 12 * FLOWERS_RUN.valPerClass, rowSums: Array(12).fill(FLOWERS_RUN.valPerClass) });
    expect(shown.counts).toEqual(node.report!.confusion);
    expect(await page.locator('#per-class tbody tr').count()).toBe(12);
    expect(await page.textContent('#class-results-summary')).toMatch(/validation images: \d+ of 24 right/);

    await page.setInputFiles('#predict-input', FLOWERS_PROBE);
    await page.waitForFunction((n) => window.__predictions().length === n, before + 1);
    const pred = (await page.evaluate(() => window.__predictions()))[before]!;
    expect(pred.error, console.join('\n')).toBeNull();
    expect(pred.top.length).toBe(3);
    const ps = pred.top.map((t) => t.probability);
    expect(ps[0]! >= ps[1]! && ps[1]! >= ps[2]!, `not sorted: ${ps}`).toBe(true);
    expect(ps.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1 + 1e-9);
    expect(ps.every((p) => p > 0)).toBe(true);
    expect(pred.className).toBe(node.top[0]!.className);
    // The same three classes and probabilities as the Node session's softmax; the card lists them.
    expect(pred.top.map((t) => t.className)).toEqual(node.top.map((t) => t.className));
    pred.top.forEach((t, i) => expect(Math.abs(t.probability - node.top[i]!.probability), t.className).toBeLessThanOrEqual(1e-3 * Math.max(node.top[i]!.probability, 1e-3)));
    const card = page.locator('#predictions .prediction').first();
    expect(await card.locator('ol.top-classes li').count()).toBe(3);
    // Grad-CAM of the predicted class.
    expect(pred.heatmap).toMatchObject({ classIndex: pred.top[0]!.index, finite: true });
    expect(await card.locator('canvas.heatmap').isVisible()).toBe(true);
    expect((await page.evaluate(() => window.__errors())).slice(errorsBefore)).toEqual([]);
    await page.screenshot({ path: join(artifacts, 'browser-flowers12.png'), fullPage: true });
  }, 600_000);

  it('trains on a folder the user picks; an undecodable file in it is skipped and reported', async () => {
    tab ??= await openPage();
    const { page } = tab;
    const dir = await mkdtemp(join(tmpdir(), 'webgpu-transfer-web-'));
    try {
      for (const [cls, prefix] of [['cats', 'cat'], ['dogs', 'dog']] as const) {
        await mkdir(join(dir, 'pets', cls), { recursive: true });
        for (let i = 0; i < 4; i++) await copyFile(join(demoDir, 'train', cls, `${prefix}.${i}.jpg`), join(dir, 'pets', cls, `${prefix}.${i}.jpg`));
      }
      await writeFile(join(dir, 'pets', 'cats', 'broken.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 74, 70, 73, 70]));
      // The limits of RUN (an earlier run may have left others in the form).
      await page.evaluate((r) => {
        (document.getElementById('per-class') as HTMLInputElement).value = String(r.trainPerClass);
        (document.getElementById('val-per-class') as HTMLInputElement).value = String(r.valPerClass);
      }, RUN);
      await page.setInputFiles('#folder-input', join(dir, 'pets'));
      // cats: cat.0, cat.1 train (broken.jpg left out) and cat.2, cat.3 validation; dogs: two and two.
      await page.waitForFunction(() => document.getElementById('data-summary')!.textContent!.startsWith('Filled from your folder'));
      expect(await page.evaluate(() => window.__board().classes.map((c) => [c.name, c.train, c.validation]))).toEqual([['cats', 2, 2], ['dogs', 2, 2]]);
      tabModel = null;
      const h = await page.evaluate((cfg) => window.__runTraining(cfg), { ...RUN, source: 'cards' as const, recipe: 'features' as const, epochs: 1 });
      expect(h.loss.length).toBe(1);
      expect(Number.isFinite(h.loss[0]!) && Number.isFinite(h.val_loss[0]!)).toBe(true);
      const errors = await page.evaluate(() => window.__errors());
      const skipped = errors.find((x) => x.message.includes('train/cats/broken.jpg'));
      expect(skipped?.title, JSON.stringify(errors)).toBe('Bad image');
      await page.screenshot({ path: join(artifacts, 'browser-folder.png'), fullPage: true });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 600_000);

  it('stops a run when Stop is pressed and frees its GPU memory', async () => {
    tab ??= await openPage();
    const { page } = tab;
    tabModel = null;
    const outcome = page.evaluate((cfg) => window.__runTraining(cfg).then(() => 'finished', (e: Error) => e.message), { ...RUN, recipe: 'features' as const, epochs: 500 });
    await page.waitForFunction(() => /^Epoch \d+\/500/.test(document.getElementById('train-status')!.textContent!));
    await page.click('#stop');
    expect(await outcome).toBe('stopped by the user');
    expect(await page.textContent('#train-status')).toBe('Stopped.');
    expect(await page.isEnabled('#train')).toBe(true);
    // No model is kept after a stopped run, so every tensor of the run (base, head, optimizer state, batches) is gone.
    expect(await page.evaluate(() => window.__engine()!.pool.counters.liveBuffers)).toBe(0);
  }, 600_000);

  it('shows a lost GPU device to the user and stops offering training', async () => {
    const { page } = await openPage();
    try {
      await page.evaluate(() => window.__engine()!.device.destroy());
      await page.waitForFunction(() => document.getElementById('adapter')!.textContent!.startsWith('WebGPU adapter lost'));
      expect((await page.evaluate(() => window.__errors())).map((x) => x.title)).toEqual(['The GPU was lost']);
      expect(await page.isDisabled('#train')).toBe(true);
    } finally {
      await page.close();
    }
  });

  it('tells the user when the browser has no WebGPU', async () => {
    const page = await app.browser.newPage();
    try {
      await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined }));
      await page.goto(app.server.url);
      await page.evaluate(() => window.__ready);
      expect(await page.textContent('#adapter')).toBe('No WebGPU in this browser');
      const errors = await page.evaluate(() => window.__errors());
      expect(errors.map((x) => x.title)).toEqual(['No WebGPU']);
      expect(await page.isVisible('#errors')).toBe(true);
      expect(await page.isDisabled('#train')).toBe(true);
    } finally {
      await page.close();
    }
  });
});
