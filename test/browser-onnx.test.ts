import { describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Page } from 'playwright-core';
import protobuf from 'protobufjs/light.js';
import { repoRoot } from '../src/cli/commands/web.js';
import { MemoryPixelCache } from '../src/data/cache.js';
import { SharpImageDecoder } from '../src/data/decoder-node.js';
import { sha256Hex } from '../src/formats/checksum.js';
import { ONNX_SCHEMA } from '../src/formats/onnx-schema.js';
import { parseSafetensors } from '../src/formats/safetensors.js';
import type { History } from '../src/train/history.js';
import { decodeWithoutEval } from '../web/protobuf-no-eval.js';
import { TabSession, type TabData, type TabOnnxFile, type TabPooling, type TabRecipe } from '../web/session.js';
import { demoImages, fetchDemoListing, TRAIN_DIR, VALIDATION_DIR } from '../web/sources.js';
import { useTabBrowser } from './helpers/browser-tab.js';
import { relErr } from './helpers/small-ops.js';
import { testEngine } from './helpers/engine.js';

/**
 * Your own network as the tab's base: SqueezeNet 1.1 exported by PyTorch (real ImageNet weights) picked as an .onnx
 * file, recipe 1 trained on it in headless Chromium (WebGPU on SwiftShader) and, as the oracle, the same TabSession
 * code in this process on Dawn; the model downloaded and loaded back with the same, another and no .onnx file picked;
 * files that are not a network this engine can import.
 */

const root = repoRoot();
const shared = resolve(root, '../shared');
const demoDir = join(shared, 'data', 'cats_and_dogs_small');
const ONNX_FILE = join(shared, 'onnx', 'squeezenet1_1_real', 'model.onnx');
/** One of ONNX's own conformance models: a MaxPool with an Indices output, which the import does not support. */
const UNSUPPORTED_FILE = join(shared, 'onnx', 'node', 'test_maxpool_with_argmax_2d_precomputed_pads', 'model.onnx');
const PROBE_IMAGE = join(demoDir, 'test', 'dogs', 'dog.1500.jpg');
const artifacts = join(root, 'test-artifacts');

/** Recipe 1 on the picked network at 32×32: 4 + 4 demo images, validation 2 + 2, two epochs. */
const RUN = { weights: 'onnx:picked', demoSet: 'cats_and_dogs_small', recipe: 'features' as const, inputSize: 32, epochs: 2, batch: 4, lr: 1e-4, optimizer: 'rmsprop' as const, seed: 7, trainPerClass: 4, valPerClass: 2 };

const app = useTabBrowser();

async function openPage(): Promise<{ page: Page; console: string[] }> {
  const page = await app.browser.newPage({ viewport: { width: 1280, height: 1100 } });
  const console: string[] = [];
  page.on('console', (m) => console.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => console.push(`pageerror: ${e.message}`));
  await page.goto(app.server.url);
  await page.evaluate(() => window.__ready);
  return { page, console };
}

/** The tab's session in this process (Dawn): the same code, the same server, sharp decoding the JPEGs. */
let nodeTab: { session: TabSession; data: TabData; file: TabOnnxFile; runs: Map<TabRecipe, string> } | null = null;

/** One run of `cfg` in the Node session (recipe 3 continues its last recipe-2 run), and P(dog) of the probe image. */
async function nodeRun(cfg: Omit<typeof RUN, 'recipe'> & { recipe: TabRecipe; pool?: TabPooling; steps?: number }): Promise<{ history: History; probe: number; model: string; checksum: string }> {
  if (!nodeTab) {
    const picked = demoImages(await fetchDemoListing(), { trainPerClass: RUN.trainPerClass, valPerClass: RUN.valPerClass });
    const session = new TabSession(await testEngine(), { decoder: new SharpImageDecoder(), cache: new MemoryPixelCache(), logger: { warn: (m) => { throw new Error(`unexpected warning: ${m}`); } } });
    const file = await TabSession.readOnnxFile('model.onnx', new Uint8Array(await readFile(ONNX_FILE)));
    nodeTab = { session, data: { fs: picked.fs, trainDir: TRAIN_DIR, validationDir: VALIDATION_DIR }, file, runs: new Map() };
  }
  const { session, data, file, runs } = nodeTab;
  const base = await session.checkOnnxBase(file, { ...(cfg.pool ? { pool: cfg.pool } : {}) }, cfg.inputSize);
  session.useOnnx(base);
  const result = await session.train(data, {
    recipe: cfg.recipe,
    backbone: base.ref,
    inputSize: cfg.inputSize,
    epochs: cfg.epochs,
    batch: cfg.batch,
    lr: cfg.lr,
    seed: cfg.seed,
    ...(cfg.steps ? { steps: cfg.steps } : {}),
    ...(cfg.recipe === 'finetune' ? { from: runs.get('augment')! } : {}),
  });
  runs.set(cfg.recipe, result.run);
  try {
    const pixels = await new SharpImageDecoder().decode(new Uint8Array(await readFile(PROBE_IMAGE)), PROBE_IMAGE, [cfg.inputSize, cfg.inputSize], 'nearest');
    const probe = (await result.classifier.probabilities(pixels, 1))[0]!;
    return { history: result.history, probe, model: result.classifier.config.model, checksum: result.classifier.config.weights.checksum };
  } finally {
    result.classifier.dispose();
  }
}

function expectSameHistory(browserH: History, nodeH: History, what: string, epochs: number): void {
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

type Files = Parameters<Page['setInputFiles']>[1];

/** A decoded message as plain data, read through its type's fields (defaults included, int64s as strings). */
function plain(type: protobuf.Type, m: Record<string, unknown> | null): unknown {
  if (m === null || m === undefined) return null;
  const value = (f: protobuf.Field, v: unknown): unknown => {
    if (f.resolvedType instanceof protobuf.Type) return plain(f.resolvedType, v as Record<string, unknown> | null);
    if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
    if (typeof v === 'object' && v !== null && 'low' in v) {
      const l = v as unknown as { low: number; high: number; unsigned?: boolean };
      const b = (BigInt(l.high >>> 0) << 32n) | BigInt(l.low >>> 0);
      return (l.unsigned ? b : BigInt.asIntN(64, b)).toString();
    }
    return typeof v === 'number' && ['int64', 'uint64'].includes(f.type) ? String(v) : v;
  };
  const out: Record<string, unknown> = {};
  for (const f of type.fieldsArray) {
    f.resolve();
    const v = m[f.name];
    out[f.name] = f.repeated ? (v as unknown[]).map((x) => value(f, x)) : value(f, v);
  }
  for (const o of type.oneofsArray) out[`oneof:${o.name}`] = m[o.name] ?? null;
  return out;
}

describe('reading .onnx files under the page\'s Content-Security-Policy (no generated code)', () => {
  it('decodes every model as protobufjs\'s generated decoder does', async () => {
    const root = protobuf.Root.fromJSON(ONNX_SCHEMA);
    const model = root.lookupType('onnx.ModelProto');
    const tensor = root.lookupType('onnx.TensorProto');
    const conformance = join(shared, 'onnx', 'node');
    const files = [ONNX_FILE, join(shared, 'onnx', 'mobilenet_v3_small', 'model.onnx'), UNSUPPORTED_FILE, ...(await readdir(conformance)).slice(0, 40).map((t) => join(conformance, t, 'model.onnx'))];
    for (const file of files) {
      const bytes = new Uint8Array(await readFile(file));
      expect(plain(model, decodeWithoutEval(model, bytes)), file).toEqual(plain(model, model.decode(bytes) as unknown as Record<string, unknown>));
    }
    const pb = join(conformance, 'test_conv_with_strides_padding', 'test_data_set_0', 'input_0.pb');
    const bytes = new Uint8Array(await readFile(pb));
    expect(plain(tensor, decodeWithoutEval(tensor, bytes))).toEqual(plain(tensor, tensor.decode(bytes) as unknown as Record<string, unknown>));
    // Truncated and random bytes are refused, as by the generated decoder.
    const whole = new Uint8Array(await readFile(ONNX_FILE));
    expect(() => decodeWithoutEval(model, whole.subarray(0, 1000))).toThrow(/index out of range/);
    expect(() => model.decode(whole.subarray(0, 1000))).toThrow(/index out of range/);
  });
});

describe('your own .onnx network as the base in the tab', () => {
  it('rejects files it cannot import, trains recipe 1 on SqueezeNet like the Node engine, reloads the model only with the same file', async () => {
    const { page, console } = await openPage();
    const dir = await mkdtemp(join(tmpdir(), 'webgpu-transfer-onnx-'));
    const lastError = async () => (await page.evaluate(() => window.__errors())).at(-1);
    const status = async () => (await page.textContent('#model-status')) ?? '';
    /** Picks an .onnx file (or changes the cut/pooling fields) and waits until the tab has checked it. */
    const checked = async (act: () => Promise<unknown>): Promise<void> => {
      const n = await page.evaluate(() => window.__onnxChecks());
      await act();
      await page.waitForFunction((k) => window.__onnxChecks() === k, n + 1);
    };
    const pick = (files: Files) => checked(() => page.setInputFiles('#onnx-input', files));
    const load = async (p: Page, files: Files): Promise<void> => {
      const n = await p.evaluate(() => window.__modelLoads());
      await p.setInputFiles('#model-input', files);
      await p.waitForFunction((k) => window.__modelLoads() === k, n + 1);
    };
    const probe = async (): Promise<number> => {
      const n = (await page.evaluate(() => window.__predictions())).length;
      await page.setInputFiles('#predict-input', PROBE_IMAGE);
      await page.waitForFunction((k) => window.__predictions().length === k, n + 1);
      const pred = (await page.evaluate(() => window.__predictions()))[n]!;
      expect(pred.error, console.join('\n')).toBeNull();
      return pred.probability!;
    };
    try {
      expect(await page.inputValue('#weights-select')).toBe('mobilenet_v2');

      // Random bytes named .onnx, then a real ONNX model with an op the import does not support: each is refused,
      // named, and the base stays the served weights.
      const junk = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24));
      await pick({ name: 'random.onnx', mimeType: 'application/octet-stream', buffer: junk });
      expect(await lastError(), console.join('\n')).toMatchObject({ title: 'Could not use that network', message: expect.stringMatching(/^random\.onnx: .*; choose a network exported to ONNX/) });
      expect(await status()).toBe('Could not use random.onnx; the base is still mobilenet_v2.');
      await pick({ name: 'argmax.onnx', mimeType: 'application/octet-stream', buffer: await readFile(UNSUPPORTED_FILE) });
      expect((await lastError())?.message).toMatch(/^argmax\.onnx: this engine cannot import the network: .*'MaxPool_0' \(MaxPool\)/);
      expect(await page.inputValue('#weights-select')).toBe('mobilenet_v2');
      expect(await page.isHidden('#onnx-options')).toBe(true);

      // SqueezeNet: read in the tab, cut at its classifier's input, average-pooled to 512 features.
      await pick(ONNX_FILE);
      expect(await page.inputValue('#weights-select')).toBe('onnx:picked');
      expect(await page.inputValue('#image-size')).toBe('224');
      expect(await status(), JSON.stringify(await lastError())).toMatch(/^model\.onnx \(4\.\d MiB, .+\): \d+ nodes, [\d,]+ parameters in the base, read in this tab \(not uploaded\)\.\nBase ends at '.+' \(input of the final 1×1 convolution .*\), average-pooled → features \[512\]; SHA-256 [0-9a-f]{12}…$/);
      expect(await page.isVisible('#onnx-options')).toBe(true);
      const described = await status();
      // A cut that is no tensor of the network: refused, the field back to the base in use.
      const errorsBefore = (await page.evaluate(() => window.__errors())).length;
      await checked(() => page.fill('#onnx-cut', 'no/such/tensor').then(() => page.dispatchEvent('#onnx-cut', 'change')));
      expect(await lastError()).toMatchObject({ title: 'Could not use that network', message: expect.stringContaining("no tensor 'no/such/tensor'") });
      expect(await page.inputValue('#onnx-cut')).toBe('');
      expect(await status()).toBe(described);
      expect((await page.evaluate(() => window.__errors())).length).toBe(errorsBefore + 1);
      await mkdir(artifacts, { recursive: true });
      await page.screenshot({ path: join(artifacts, 'browser-onnx-picked.png'), fullPage: true });

      // Recipe 1 on it: the same losses and accuracies as the Node engine's, the same prediction.
      const browserH = await page.evaluate((cfg) => window.__runTraining(cfg), RUN);
      const node = await nodeRun(RUN);
      expect(node.model).toBe('model.onnx');
      expect(node.checksum).toBe(await sha256Hex(new Uint8Array(await readFile(ONNX_FILE))));
      expectSameHistory(browserH, node.history, 'features', RUN.epochs);
      const p1 = await probe();
      expect(Math.abs(p1 - node.probe), `P(dog): browser ${p1}, node ${node.probe}`).toBeLessThanOrEqual(1e-3 * Math.max(node.probe, 1e-3));
      expect(await page.textContent('#model-file-status')).toMatch(/^Model: run feature-head-\d+ \(feature-head, model\.onnx at 32×32, classes cats \/ dogs\), trained in this tab\.$/);
      expect((await page.evaluate(() => window.__predictions())).at(-1)!.heatmap, console.join('\n')).toMatchObject({ finite: true });

      // Max pooling instead (the run records `model.onnx#pool=max`): recipe 2 on it, then recipe 3 fine-tuning the
      // network's last three convolutions from that model, each as in Node.
      await checked(() => page.selectOption('#onnx-pool', 'max'));
      expect(await status()).toMatch(/, max-pooled → features \[512\]/);
      const augment = { ...RUN, recipe: 'augment' as const, pool: 'max' as const, epochs: 1 };
      expectSameHistory(await page.evaluate((cfg) => window.__runTraining(cfg), augment), (await nodeRun(augment)).history, 'augment', 1);
      const finetune = { ...augment, recipe: 'finetune' as const, lr: 1e-5 };
      const browserFt = await page.evaluate((cfg) => window.__runTraining(cfg), finetune);
      const nodeFt = await nodeRun(finetune);
      expect(nodeFt.model).toBe('model.onnx#pool=max');
      expectSameHistory(browserFt, nodeFt.history, 'finetune', 1);
      const p0 = await probe();
      expect(Math.abs(p0 - nodeFt.probe), `P(dog): browser ${p0}, node ${nodeFt.probe}`).toBeLessThanOrEqual(1e-3 * Math.max(nodeFt.probe, 1e-3));

      // Downloaded: the run's config records the network and the file's SHA-256.
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-model')]);
      const file = join(dir, download.suggestedFilename());
      await download.saveAs(file);
      const config = JSON.parse(parseSafetensors(new Uint8Array(await readFile(file))).metadata['config']!) as { model: string; weights: { path: string; checksum: string } };
      expect(config).toMatchObject({ model: 'model.onnx#pool=max', weights: { path: 'model.onnx', checksum: node.checksum } });

      // Loaded back with the same network picked: the same prediction.
      await load(page, file);
      expect(await page.textContent('#model-file-status'), JSON.stringify(await lastError())).toMatch(/loaded from /);
      expect(Math.abs((await probe()) - p0)).toBeLessThanOrEqual(1e-6 * p0);

      // Another file of the same name (one weight byte changed): the model is refused and the page says why.
      const other = new Uint8Array(await readFile(ONNX_FILE));
      other[other.length >> 1] ^= 1;
      await mkdir(join(dir, 'other'));
      await writeFile(join(dir, 'other', 'model.onnx'), other);
      await pick(join(dir, 'other', 'model.onnx'));
      expect(await status()).toContain(`SHA-256 ${(await sha256Hex(other)).slice(0, 12)}…`);
      await load(page, file);
      expect(await lastError()).toMatchObject({ title: 'Could not load the model', message: expect.stringMatching(/trained on the network model\.onnx \(SHA-256 [0-9a-f]{12}…\), but the \.onnx file picked in step 1 \(model\.onnx, SHA-256 [0-9a-f]{12}…\) is a different file/) });
      expect(await page.textContent('#model-file-status')).toMatch(/^Could not load that model; still using run .*: the \.onnx file picked in step 1 is not model\.onnx, the network it was trained on\. Pick that file, then load the model again\.$/);
      // The original picked again: it loads.
      await pick(ONNX_FILE);
      await load(page, file);
      expect(await page.textContent('#model-file-status'), JSON.stringify(await lastError())).toMatch(/loaded from /);
      expect(Math.abs((await probe()) - p0)).toBeLessThanOrEqual(1e-6 * p0);
      await page.screenshot({ path: join(artifacts, 'browser-onnx.png'), fullPage: true });

      // A fresh tab with no network picked says which file the model needs.
      const fresh = await openPage();
      try {
        await load(fresh.page, file);
        expect((await fresh.page.evaluate(() => window.__errors())).at(-1)?.message).toMatch(/trained on your own network model\.onnx \(SHA-256 [0-9a-f]{12}…\), which is not picked in this tab/);
        expect(await fresh.page.textContent('#model-file-status')).toBe('Could not load that model: it was trained on your own network model.onnx. Pick that .onnx file in step 1, then load the model again.');
      } finally {
        await fresh.page.close();
      }
    } finally {
      await page.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 900_000);
});
