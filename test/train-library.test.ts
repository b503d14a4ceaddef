// The README's library example, run on synthetic features through the package entry points (`.` and `./node`).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import {
  Engine,
  featureBytes,
  featureFile,
  featureHeadPlan,
  labelFile,
  readFeatureSet,
  Rng,
  runTraining,
  type FeatureSet,
  type TrainEvent,
} from '../src/index.js';
import { NodeRunStore, renderHistoryPng } from '../src/node.js';
import { refBinaryCorrect } from '../src/reference/loss.js';
import { refDense } from '../src/reference/matmul.js';
import { CHECKPOINT_FILE, parseCheckpoint } from '../src/train/checkpoint.js';

function synthetic(n: number, seed: number): FeatureSet {
  const rng = new Rng(seed);
  const features = Float32Array.from({ length: n * 16 }, () => rng.uniform(0, 1));
  const labels = Float32Array.from({ length: n }, (_, i) => (features[i * 16]! + features[i * 16 + 1]! > 1 ? 1 : 0));
  return { features, labels, featureShape: [16], count: n };
}

it('trains the head on stored features with the library API, writing a run folder', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'train-library-'));
  try {
    const featuresDir = new NodeRunStore(join(dir, 'features'));
    for (const [split, seed] of [['train', 1], ['validation', 2], ['test', 3]] as const) {
      const bytes = featureBytes(synthetic(40, seed));
      await featuresDir.write(featureFile(split), bytes.features);
      await featuresDir.write(labelFile(split), bytes.labels);
    }

    // --- the README example, from here ---
    const engine = await Engine.create();
    const features = new NodeRunStore(join(dir, 'features'));
    const [train, validation, test] = await Promise.all(['train', 'validation', 'test'].map((s) => readFeatureSet(features, s)));
    const { plan, model } = featureHeadPlan(engine, {
      train: train!,
      validation: validation!,
      test: test!,
      epochs: 3,
      batch: 20,
      lr: 1e-3,
      seed: 0,
      model: 'synthetic',
      config: { note: 'library example' },
    });
    const lines: string[] = [];
    const { history, metrics } = await runTraining(engine, plan, {
      store: new NodeRunStore(join(dir, 'runs', 'library-example')),
      plots: renderHistoryPng,
      sink: (ev: TrainEvent) => {
        if (ev.type === 'epoch') lines.push(`epoch ${ev.epoch}: loss ${ev.loss.toFixed(4)}, val_acc ${ev.val_acc.toFixed(4)}`);
      },
    });
    model.dispose();
    engine.destroy();
    // --- to here ---

    expect(lines).toHaveLength(3);
    expect(history.val_acc).toHaveLength(3);
    // The test metrics are those of the final weights (the checkpoint), recomputed here in float64.
    const ckpt = parseCheckpoint(new Uint8Array(await readFile(join(dir, 'runs', 'library-example', CHECKPOINT_FILE))), 'checkpoint');
    const w = (n: string): Float64Array => Float64Array.from(ckpt.params.get(n)!.data as Float32Array);
    const h = refDense(Float64Array.from(test!.features), w('dense_1/kernel'), w('dense_1/bias'), 40, 16, 256, true);
    const z = refDense(h, w('dense_2/kernel'), w('dense_2/bias'), 40, 256, 1, false);
    expect(metrics.test_acc).toBe(refBinaryCorrect(z, Float64Array.from(test!.labels)) / 40);
    const stored = JSON.parse(await readFile(join(dir, 'runs', 'library-example', 'history.json'), 'utf8')) as { loss: number[] };
    expect(stored.loss).toEqual(history.loss);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
