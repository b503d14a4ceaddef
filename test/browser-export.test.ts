import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { unzipSync } from 'fflate';
import type { Download } from 'playwright-core';
import protobuf from 'protobufjs/light.js';
import { repoRoot } from '../src/cli/commands/web.js';
import { parseOnnx } from '../src/formats/onnx.js';
import { ONNX_SCHEMA } from '../src/formats/onnx-schema.js';
import { decodeWithoutEval, encodeWithoutEval, toObjectWithoutEval } from '../web/protobuf-no-eval.js';
import { useTabBrowser } from './helpers/browser-tab.js';
import { binaryDiff as diff, onnxProbs, tfjsProbs, type Probe } from './helpers/export-runtimes.js';

/**
 * The tab's "Download model" as ONNX and as TF.js (issue 25): a tiny recipe-1 model trained in headless Chromium
 * (WebGPU on SwiftShader), each zip downloaded as a person would, unzipped here, and run by onnxruntime-node and
 * tf.loadLayersModel on the very pixels the tab decoded: the tab's probabilities within 1e-4. Then your own .onnx
 * network as the base: TF.js is refused (the usual error, nothing downloaded), ONNX re-emits the base from its file.
 * The ONNX file is encoded in the tab without generated code (the page's Content-Security-Policy forbids it); the
 * eval-free codecs are first checked against protobufjs's generated ones here.
 */

const root = repoRoot();
const shared = resolve(root, '../shared');
const ONNX_FILE = join(shared, 'onnx', 'squeezenet1_1_real', 'model.onnx');
const artifacts = join(root, 'test-artifacts');

/** Recipe 1 on SqueezeNet 1.1 at 32×32: 4 + 4 demo images, validation 2 + 2, one epoch. */
const RUN = { weights: 'squeezenet1_1', demoSet: 'cats_and_dogs_small', recipe: 'features' as const, inputSize: 32, epochs: 1, batch: 4, lr: 1e-4, optimizer: 'rmsprop' as const, seed: 7, trainPerClass: 4, valPerClass: 2 };
const PROBE = 'api/data/test/dogs/dog.1500.jpg';

const app = useTabBrowser();

describe('ONNX codecs without generated code (what the tab exports with)', () => {
  it('give what protobufjs\'s generated toObject and encoder give', async () => {
    const model = protobuf.Root.fromJSON(ONNX_SCHEMA).lookupType('onnx.ModelProto');
    const fixtures = join(root, 'test', 'onnx-fixtures');
    const files = [ONNX_FILE, ...(await readdir(fixtures)).filter((d) => existsSync(join(fixtures, d, 'model.onnx'))).map((d) => join(fixtures, d, 'model.onnx'))];
    expect(files.length).toBeGreaterThan(1);
    for (const file of files) {
      const bytes = new Uint8Array(await readFile(file));
      const generated = model.toObject(model.decode(bytes), { longs: Number, defaults: false });
      const ours = toObjectWithoutEval(model, decodeWithoutEval(model, bytes), { longs: Number, defaults: false });
      const encoded = Buffer.from(model.encode(model.fromObject(generated)).finish());
      expect(Buffer.from(encodeWithoutEval(model, generated).finish()).equals(encoded), file).toBe(true);
      expect(Buffer.from(encodeWithoutEval(model, ours).finish()).equals(encoded), file).toBe(true);
      // A decoded message (every field held, at its default when not read) encodes to what was read.
      expect(Buffer.from(encodeWithoutEval(model, decodeWithoutEval(model, encoded)).finish()).equals(encoded), file).toBe(true);
      // The plain objects themselves (small files: a deep comparison of megabytes of weights is slow).
      if (bytes.length < 1 << 20) {
        expect(ours, file).toEqual(generated);
        expect(toObjectWithoutEval(model, decodeWithoutEval(model, bytes), { longs: Number }), file).toEqual(model.toObject(model.decode(bytes), { longs: Number }));
      }
    }
  });
});

describe('downloading the tab\'s model as ONNX and TF.js', () => {
  it('zips what the export writes; onnxruntime-node and tf.loadLayersModel predict as the tab did; TF.js of an .onnx base is refused', async () => {
    const page = await app.browser.newPage({ viewport: { width: 1280, height: 1100 } });
    const console: string[] = [];
    page.on('console', (m) => console.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => console.push(`pageerror: ${e.message}`));
    const downloads: Download[] = [];
    page.on('download', (d) => downloads.push(d));
    try {
      await page.goto(app.server.url);
      await page.evaluate(() => window.__ready);
      for (const id of ['#download-model', '#download-onnx', '#download-tfjs']) expect(await page.isDisabled(id), id).toBe(true);
      await page.evaluate((cfg) => window.__runTraining(cfg), RUN);
      for (const id of ['#download-model', '#download-onnx', '#download-tfjs']) expect(await page.isEnabled(id), id).toBe(true);
      const probe = await page.evaluate((url) => window.__probe(url), `${app.server.url}${PROBE}`);
      expect(probe.pixels.length).toBe(32 * 32 * 3);

      /** Clicks a download button: the zip's files, unzipped. */
      const download = async (id: string): Promise<{ name: string; files: Record<string, Uint8Array> }> => {
        const [e, shown] = await page.evaluate(() => [window.__exports(), window.__errors().length] as const);
        const started = page.waitForEvent('download', { timeout: 300_000 });
        started.catch(() => undefined);
        await page.click(id);
        // Made or refused: a refused export fails here, with its message, not after the download's timeout.
        await page.waitForFunction((k) => window.__exports() > k, e, { timeout: 300_000 });
        const errors = await page.evaluate(() => window.__errors());
        expect(errors.slice(shown), console.join('\n')).toEqual([]);
        const d = await started;
        const path = await d.path();
        return { name: d.suggestedFilename(), files: unzipSync(new Uint8Array(await readFile(path))) };
      };

      const onnx = await download('#download-onnx');
      expect(onnx.name, console.join('\n')).toMatch(/^feature-head-\d+-onnx\.zip$/);
      expect(Object.keys(onnx.files).sort()).toEqual(['README.txt', 'model.onnx']);
      const m = parseOnnx(onnx.files['model.onnx']!, 'model.onnx');
      expect(JSON.parse(m.metadata['labels']!)).toEqual(['cats', 'dogs']);
      expect(m.metadata['input_size']).toBe('32');
      expect(m.metadata['backbone']).toBe('squeezenet1_1');
      const dOnnx = diff(probe, await onnxProbs(onnx.files['model.onnx']!, probe));
      expect(dOnnx, `onnxruntime-node vs the tab: ${dOnnx}`).toBeLessThan(1e-4);
      expect(await page.textContent('#model-file-status')).toMatch(/^Saved feature-head-\d+-onnx\.zip \([\d.]+ [KM]iB\): model\.onnx, README\.txt\. /);

      const tfjs = await download('#download-tfjs');
      expect(tfjs.name).toMatch(/^feature-head-\d+-tfjs\.zip$/);
      expect(Object.keys(tfjs.files).sort()).toEqual(['README.txt', 'tfjs/group1-shard1of1.bin', 'tfjs/metadata.json', 'tfjs/model.json']);
      const meta = JSON.parse(new TextDecoder().decode(tfjs.files['tfjs/metadata.json']!)) as Record<string, unknown>;
      expect(meta).toMatchObject({ labels: ['cats', 'dogs'], imageSize: 32, backbone: 'squeezenet1_1' });
      const dTfjs = diff(probe, await tfjsProbs(tfjs.files, probe));
      expect(dTfjs, `tf.loadLayersModel vs the tab: ${dTfjs}`).toBeLessThan(1e-4);
      expect(new TextDecoder().decode(tfjs.files['README.txt']!)).toMatch(/tf\.loadLayersModel/);
      expect(await page.evaluate(() => window.__errors()), console.join('\n')).toEqual([]);
      await mkdir(artifacts, { recursive: true });
      await page.screenshot({ path: join(artifacts, 'browser-export.png'), fullPage: true });
      process.stdout.write(`tab export: |onnxruntime - tab| = ${dOnnx.toExponential(2)}, |tf.js - tab| = ${dTfjs.toExponential(2)} (p(dogs) = ${probe.probs[1]})\n`);

      // Your own network as the base (recipe 1 on it): TF.js refused, shown, nothing downloaded; ONNX re-emits it.
      const n = await page.evaluate(() => window.__onnxChecks());
      await page.setInputFiles('#onnx-input', ONNX_FILE);
      await page.waitForFunction((k) => window.__onnxChecks() === k, n + 1);
      await page.evaluate((cfg) => window.__runTraining(cfg), { ...RUN, weights: 'onnx:picked' });
      const before = downloads.length;
      const e = await page.evaluate(() => window.__exports());
      await page.click('#download-tfjs');
      await page.waitForFunction((k) => window.__exports() === k, e + 1);
      const errors = await page.evaluate(() => window.__errors());
      expect(errors.at(-1), console.join('\n')).toMatchObject({ title: 'Could not export to TF.js', message: expect.stringMatching(/imported ONNX network \(model\.onnx\); TF\.js layers cannot express an arbitrary ONNX graph: export it with the ONNX download/) });
      expect(await page.textContent('#model-file-status')).toMatch(/^Could not export run feature-head-\d+ to TF\.js; nothing was downloaded\.$/);
      expect(downloads.length).toBe(before);
      expect(await page.isEnabled('#download-tfjs')).toBe(true);

      const own = await page.evaluate((url) => window.__probe(url), `${app.server.url}${PROBE}`);
      const onnxBase = await download('#download-onnx');
      expect(onnxBase.name).not.toBe(onnx.name);
      expect(Object.keys(onnxBase.files).sort()).toEqual(['README.txt', 'model.onnx']);
      const mb = parseOnnx(onnxBase.files['model.onnx']!, 'model.onnx');
      expect(mb.metadata['backbone']).toBe('model.onnx');
      // The picked file's nodes, copied (names prefixed base/), then the preprocessing's and the head's.
      expect(mb.graph.nodes.filter((nd) => nd.name.startsWith('base/')).length).toBeGreaterThan(20);
      const dBase = diff(own, await onnxProbs(onnxBase.files['model.onnx']!, own));
      expect(dBase, `onnxruntime-node vs the tab (.onnx base): ${dBase}`).toBeLessThan(1e-4);
      process.stdout.write(`tab export of an .onnx base: |onnxruntime - tab| = ${dBase.toExponential(2)} (p(dogs) = ${own.probs[1]})\n`);
      expect((await page.evaluate(() => window.__errors())).length).toBe(errors.length);
    } finally {
      await page.close();
    }
  }, 900_000);
});
