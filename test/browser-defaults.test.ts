import { describe, expect, it } from 'vitest';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import type { Page } from 'playwright-core';
import { repoRoot } from '../src/cli/commands/web.js';
import { useTabBrowser } from './helpers/browser-tab.js';
import { binaryDiff, onnxProbs, tfjsProbs } from './helpers/export-runtimes.js';

/**
 * The tab's few-shot defaults (issue 21), driven as a person would: the page opened, a demo set chosen, 20 training
 * images per class typed in, "Use the demo set", Train, with every other field as the page starts (MobileNetV2 at
 * 224, feature extraction, Adam 1e-3, 50 epochs, batch 16). Cats vs dogs validated on 50 per class must reach 93%,
 * flowers12 on its 15 per class 85%. The time from pressing Train to the result is written to
 * test-artifacts/few-shot-defaults.json (a measurement, not a test). The cats model is then downloaded as ONNX and as
 * TF.js and run by onnxruntime-node and tf.loadLayersModel on the pixels the tab decoded: within 1e-4 of the tab.
 */

const root = repoRoot();
const artifacts = join(root, 'test-artifacts');
const app = useTabBrowser();
const measured: Record<string, unknown> = {};

/** Fills the cards from `set` (20 + `val` per class) and trains with the defaults; the validation accuracy and the seconds. */
async function trainDefaults(page: Page, set: string, val: number): Promise<{ valAcc: number; seconds: number; status: string }> {
  await page.click('#fill-sources summary');
  await page.selectOption('#demo-set', set);
  await page.fill('#per-class', '20');
  await page.fill('#val-per-class', String(val));
  await page.click('#load-demo');
  await page.waitForFunction(() => /^(Filled from|The classes are as they were)/.test(document.getElementById('data-summary')!.textContent!), undefined, { timeout: 300_000 });
  expect(await page.textContent('#data-summary')).toMatch(/^Filled from demo data/);
  await page.click('#fill-sources summary');
  await page.waitForFunction(() => !(document.getElementById('train') as HTMLButtonElement).disabled);
  const t0 = Date.now();
  await page.click('#train');
  await page.waitForFunction(() => /^(Done in|Training failed|Stopped)/.test(document.getElementById('train-status')!.textContent!), undefined, { timeout: 890_000, polling: 250 });
  const seconds = (Date.now() - t0) / 1000;
  const status = (await page.textContent('#train-status'))!;
  const m = /val_acc ([\d.]+)/.exec(status);
  expect(m, status).not.toBeNull();
  return { valAcc: Number(m![1]), seconds, status };
}

describe('the tab\'s few-shot defaults', () => {
  it('cats vs dogs from 20 images per class: ≥ 93% on 50 per class; the model exported to ONNX and TF.js predicts as the tab', async () => {
    const page = await app.browser.newPage({ viewport: { width: 1280, height: 1000 } });
    try {
      await page.goto(app.server.url);
      await page.evaluate(() => window.__ready);
      const r = await trainDefaults(page, 'cats_and_dogs_small', 50);
      measured['cats_and_dogs_small'] = { train_per_class: 20, validation_per_class: 50, val_acc: r.valAcc, seconds_from_train_to_result: r.seconds };
      const board = await page.evaluate(() => window.__board().classes.map((c) => [c.name, c.train, c.validation]));
      expect(board).toEqual([['cats', 20, 50], ['dogs', 20, 50]]);
      expect(r.valAcc, r.status).toBeGreaterThanOrEqual(0.93);
      await mkdir(artifacts, { recursive: true });
      await page.screenshot({ path: join(artifacts, 'defaults-cats-trained.png'), fullPage: true });

      const probe = await page.evaluate((url) => window.__probe(url), `${app.server.url}api/data/test/dogs/dog.1500.jpg`);
      const download = async (id: string): Promise<Record<string, Uint8Array>> => {
        const [d] = await Promise.all([page.waitForEvent('download', { timeout: 300_000 }), page.click(id)]);
        return unzipSync(new Uint8Array(await readFile(await d.path())));
      };
      const onnx = await download('#download-onnx');
      const dOnnx = binaryDiff(probe, await onnxProbs(onnx['model.onnx']!, probe));
      expect(dOnnx).toBeLessThan(1e-4);
      const dTfjs = binaryDiff(probe, await tfjsProbs(await download('#download-tfjs'), probe));
      expect(dTfjs).toBeLessThan(1e-4);
      measured['cats_export'] = { onnxruntime_node_abs_diff: dOnnx, tfjs_abs_diff: dTfjs, p_dog: probe.probs[1] };
      expect(await page.evaluate(() => window.__errors())).toEqual([]);
    } finally {
      await page.close();
    }
  }, 900_000);

  it('flowers12 from 20 images per class: ≥ 85% on its 15 per class', async () => {
    const page = await app.browser.newPage({ viewport: { width: 1280, height: 1000 } });
    try {
      await page.goto(app.server.url);
      await page.evaluate(() => window.__ready);
      const r = await trainDefaults(page, 'flowers12', 15);
      measured['flowers12'] = { train_per_class: 20, validation_per_class: 15, val_acc: r.valAcc, seconds_from_train_to_result: r.seconds };
      const board = await page.evaluate(() => window.__board().classes.map((c) => [c.train, c.validation]));
      expect(board).toEqual(Array.from({ length: 12 }, () => [20, 15]));
      expect(r.valAcc, r.status).toBeGreaterThanOrEqual(0.85);
      await page.screenshot({ path: join(artifacts, 'defaults-flowers-trained.png'), fullPage: true });
      expect(await page.evaluate(() => window.__errors())).toEqual([]);
    } finally {
      await page.close();
      await mkdir(artifacts, { recursive: true });
      await writeFile(join(artifacts, 'few-shot-defaults.json'), JSON.stringify({ adapter: 'Chromium, WebGPU on SwiftShader', ...measured }, null, 2) + '\n');
      process.stdout.write(`few-shot defaults: ${JSON.stringify(measured)}\n`);
    }
  }, 900_000);
});
