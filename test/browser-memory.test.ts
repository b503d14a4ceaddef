import { describe, expect, it } from 'vitest';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from '../src/cli/commands/web.js';
import { useTabBrowser } from './helpers/browser-tab.js';

/**
 * A large set in the tab (issue 21): the 2,000 training images of cats vs dogs filled into the cards (each decoded
 * once and kept as a BMP at the input size: exactly 54 + 3·s² bytes, padded rows aside) and trained three epochs
 * with recipe 2 (every epoch streams every image through the base, in batches). The page's JavaScript heap (after a
 * forced garbage collection) and the engine's live GPU bytes are read at the end of each epoch: neither grows. The
 * numbers go to test-artifacts/tab-memory.json.
 */

const root = repoRoot();
const artifacts = join(root, 'test-artifacts');
const app = useTabBrowser();
const SIZE = 32;
const EPOCHS = 3;

describe('a 2,000-image set in the tab', () => {
  it('is held compactly and trains epoch after epoch without the page\'s memory growing', async () => {
    const page = await app.browser.newPage();
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    const heap = async (): Promise<number> => {
      await cdp.send('HeapProfiler.collectGarbage');
      const { metrics } = await cdp.send('Performance.getMetrics');
      return metrics.find((m) => m.name === 'JSHeapUsedSize')!.value;
    };
    try {
      await page.goto(app.server.url);
      await page.evaluate(() => window.__ready);
      const samples: { epoch: number; heapBytes: number; gpuLiveBytes: number }[] = [];
      const epochs0 = await page.evaluate(() => window.__epochs());
      const run = page.evaluate(
        (c) => window.__runTraining(c),
        { weights: 'mobilenet_v2', demoSet: 'cats_and_dogs_small', recipe: 'augment' as const, inputSize: SIZE, epochs: EPOCHS, batch: 32, trainPerClass: 1000, valPerClass: 50, seed: 3 },
      );
      run.catch(() => undefined);
      for (let epoch = 1; epoch <= EPOCHS; epoch++) {
        await page.waitForFunction((k) => window.__epochs() >= k, epoch + epochs0, { timeout: 600_000 });
        samples.push({ epoch, heapBytes: await heap(), gpuLiveBytes: await page.evaluate(() => window.__engine()!.pool.counters.liveBytes) });
      }
      const h = await run;
      expect(h.loss.length).toBe(EPOCHS);
      const board = await page.evaluate(() => window.__board());
      expect(board.classes.map((c) => [c.name, c.train, c.validation])).toEqual([['cats', 1000, 50], ['dogs', 1000, 50]]);
      expect(board.bytes).toBe(2100 * (54 + SIZE * SIZE * 3));
      const first = samples[0]!;
      const last = samples.at(-1)!;
      await mkdir(artifacts, { recursive: true });
      await writeFile(join(artifacts, 'tab-memory.json'), JSON.stringify({ images: 2100, input_size: SIZE, board_bytes: board.bytes, samples }, null, 2) + '\n');
      process.stdout.write(`tab memory per epoch: ${JSON.stringify(samples)}\n`);
      // Growth over two epochs: under 2 MB of heap (the images alone are 6.6 MB) and no GPU bytes.
      expect(last.heapBytes - first.heapBytes, JSON.stringify(samples)).toBeLessThan(2 * 1024 * 1024);
      expect(last.gpuLiveBytes, JSON.stringify(samples)).toBeLessThanOrEqual(first.gpuLiveBytes);
      expect(await page.evaluate(() => window.__errors())).toEqual([]);
    } finally {
      await page.close();
    }
  }, 900_000);
});
