import { expect, it } from 'vitest';
import { Engine } from '../src/engine/index.js';
import { CHECKPOINT_FILE, parseCheckpoint } from '../src/train/checkpoint.js';
import type { FeatureSet } from '../src/train/features.js';
import { featureHeadPlan } from '../src/train/recipes.js';
import { HISTORY_FILE, runTraining, TrainingStoppedError } from '../src/train/run.js';
import { MemoryRunStore, readJson } from '../src/train/store.js';
import { Rng } from '../src/util/rng.js';
import { testEngine } from './helpers/engine.js';

function synthetic(n: number, k: number, seed: number): FeatureSet {
  const rule = new Rng(99);
  const w = Array.from({ length: k }, () => rule.uniform(-1, 1));
  const rng = new Rng(seed);
  const features = Float32Array.from({ length: n * k }, () => rng.uniform(-1, 1));
  const labels = Float32Array.from({ length: n }, (_, i) => (w.reduce((a, wj, j) => a + wj * features[i * k + j]!, 0) > 0 ? 1 : 0));
  return { features, labels, featureShape: [k], count: n };
}

const train = synthetic(40, 8, 1);
const validation = synthetic(20, 8, 2);
const o = { epochs: 5, batch: 10, lr: 1e-3, seed: 21, model: 'synthetic', config: {} };

it('a device lost mid-training ends with a clear error, keeps the last checkpoint, and --resume reproduces the full run', async () => {
  // The reference: the same run, never interrupted.
  const e = await testEngine();
  const full = featureHeadPlan(e, { train, validation, ...o });
  const uninterrupted = await runTraining(e, full.plan, { store: new MemoryRunStore() });
  full.model.dispose();

  // Lose the device in the middle of epoch 3 (after epochs 1 and 2 were checkpointed).
  const store = new MemoryRunStore();
  const doomed = await Engine.create();
  const first = featureHeadPlan(doomed, { train, validation, ...o });
  const err = await runTraining(doomed, first.plan, { store }, {
    hooks: {
      onStepEnd: (epoch, step) => {
        if (epoch === 2 && step === 1) doomed.device.destroy();
      },
    },
  }).catch((x: unknown) => x);
  expect(err).toBeInstanceOf(TrainingStoppedError);
  const stopped = err as TrainingStoppedError;
  expect(stopped.reason).toBe('device-lost');
  expect(stopped.lastGoodEpoch).toBe(2);
  expect(stopped.message).toMatch(/device lost.*checkpoint of epoch 2 is intact.*--resume/s);
  const ckpt = parseCheckpoint((await store.read(CHECKPOINT_FILE))!, 'checkpoint');
  expect(ckpt.state.epoch).toBe(2);
  expect(ckpt.state.iterations).toBe(2 * 4);
  expect(ckpt.state.history.loss).toEqual(uninterrupted.history.loss.slice(0, 2));
  expect((await readJson<{ loss: number[] }>(store, HISTORY_FILE))!.loss).toHaveLength(2);

  // Resume on a new device: the history is the uninterrupted one, epoch for epoch.
  const second = featureHeadPlan(e, { train, validation, ...o });
  const resumed = await runTraining(e, second.plan, { store }, { resume: true });
  second.model.dispose();
  expect(resumed.history.loss).toEqual(uninterrupted.history.loss);
  expect(resumed.history.acc).toEqual(uninterrupted.history.acc);
  expect(resumed.history.val_loss).toEqual(uninterrupted.history.val_loss);
  expect(resumed.history.val_acc).toEqual(uninterrupted.history.val_acc);
});
