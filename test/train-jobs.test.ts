import { copyFile, cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCheckpoint } from '../src/train/checkpoint.js';
import { parseHistory } from '../src/train/history.js';
import { sha256Hex } from '../src/formats/checksum.js';
import { evaluateJob, extractJob, featureHeadJob, finetuneJob, imageTrainJob, nodeJobEnv, predictJob, type JobContext } from '../src/train/jobs-node.js';
import { refBceWithLogits } from '../src/reference/loss.js';
import { testEngine } from './helpers/engine.js';
import { makeTinyDataset } from './helpers/train-data.js';
import type { TrainEvent } from '../src/train/events.js';

let tmp = '';
let data = '';

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'train-jobs-'));
  data = await makeTinyDataset(join(tmp, 'data'), { train: 4, validation: 2, test: 2 });
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function ctxFor(events: TrainEvent[] = []): Promise<JobContext> {
  return { engine: await testEngine(), runsDir: join(tmp, 'runs'), pixelCacheDir: join(tmp, 'pixels'), sink: (ev) => events.push(ev) };
}

/** The features every recipe-1 test trains on (extracted by the first test, or by whichever test needs them first). */
const featureOptions = () => ({ model: 'squeezenet1_1' as const, data, out: join(tmp, 'features'), inputSize: 64, batch: 4, onBadImage: 'fail' as const });

// What later tests build on, made once on first use, so that each test also passes when run alone (`-t NAME`).
let features: Promise<string> | null = null;
let headRun: ReturnType<typeof featureHeadJob> | null = null;
let augRun: ReturnType<typeof imageTrainJob> | null = null;

/** The extracted features folder. */
function theFeatures(): Promise<string> {
  return (features ??= (async () => {
    (await extractJob(await ctxFor(), featureOptions())).loaded.backbone.model.dispose();
    return featureOptions().out;
  })());
}

/** Run 'head': recipe 1 on the features, two epochs. */
function theHeadRun(): ReturnType<typeof featureHeadJob> {
  return (headRun ??= (async () => featureHeadJob(await ctxFor(), { features: await theFeatures(), epochs: 2, batch: 4, name: 'head' }))());
}

/** Run 'aug': recipe 2, two epochs of two steps. */
function theAugRun(): ReturnType<typeof imageTrainJob> {
  return (augRun ??= (async () => imageTrainJob(await ctxFor(), { model: 'squeezenet1_1', data, inputSize: 64, steps: 2, validationSteps: 1, epochs: 2, batch: 4, name: 'aug' }))());
}

const METRIC_KEYS = ['val_acc', 'test_acc', 'val_loss', 'test_loss', 'images_per_s', 'wall_s', 'model'];

/** Checks the files every run writes and returns the parsed JSON. */
async function checkRunFolder(dir: string, epochs: number): Promise<{ metrics: Record<string, unknown>; config: Record<string, unknown> }> {
  const files = await readdir(dir);
  for (const f of ['config.json', 'history.json', 'metrics.json', 'accuracy.png', 'loss.png', 'checkpoint.safetensors']) expect(files).toContain(f);
  expect(files.filter((f) => f.includes('.tmp'))).toEqual([]);
  const history = parseHistory(JSON.parse(await readFile(join(dir, 'history.json'), 'utf8')), 'history.json');
  expect(history.loss).toHaveLength(epochs);
  for (const k of ['loss', 'acc', 'val_loss', 'val_acc'] as const) for (const v of history[k]) expect(Number.isFinite(v)).toBe(true);
  const metrics = JSON.parse(await readFile(join(dir, 'metrics.json'), 'utf8')) as Record<string, unknown>;
  for (const k of METRIC_KEYS) expect(metrics).toHaveProperty(k);
  expect(metrics.val_acc).toBe(history.val_acc[epochs - 1]);
  for (const png of ['accuracy.png', 'loss.png']) {
    const meta = await sharp(await readFile(join(dir, png))).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width).toBeGreaterThan(100);
  }
  const ckpt = parseCheckpoint(new Uint8Array(await readFile(join(dir, 'checkpoint.safetensors'))), 'checkpoint');
  expect(ckpt.state.epoch).toBe(epochs);
  expect(ckpt.state.history.loss).toEqual(history.loss);
  const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  return { metrics, config };
}

describe('the recipes on a tiny subset (SqueezeNet 1.1 at 64×64, real weights)', () => {
  it('extract saves features and labels, reuses them, and extracts again when an image changes', async () => {
    const events: TrainEvent[] = [];
    const ctx = await ctxFor(events);
    const o = featureOptions();
    expect(features, 'the features were extracted before this test').toBeNull();
    const first = await extractJob(ctx, o);
    first.loaded.backbone.model.dispose();
    features = Promise.resolve(o.out);
    expect(first.reused).toBe(false);
    expect(first.sets.get('train')!.count).toBe(8);
    expect(first.sets.get('train')!.featureShape).toEqual([512]);
    expect([...first.sets.get('validation')!.labels]).toEqual([0, 0, 1, 1]);
    const files = await readdir(o.out);
    for (const f of ['manifest.json', 'train_features.npy', 'train_labels.npy', 'validation_features.npy', 'test_labels.npy']) expect(files).toContain(f);
    expect(events.some((ev) => ev.type === 'progress')).toBe(true);

    const again = await extractJob(ctx, o);
    again.loaded.backbone.model.dispose();
    expect(again.reused).toBe(true);
    expect(again.images).toBe(0);
    expect(again.sets.get('test')!.features).toEqual(first.sets.get('test')!.features);

    // Replace one test image by another photo: the file list's content hashes change, so it extracts again
    // (into a copy of the features folder, which the later tests use as it is).
    const copy = join(tmp, 'features-copy');
    await cp(o.out, copy, { recursive: true });
    const victim = join(data, 'test', 'cats', 'cat.1500.jpg');
    const original = await readFile(victim);
    await copyFile(join(data, 'train', 'cats', 'cat.0.jpg'), victim);
    try {
      const changed = await extractJob(ctx, { ...o, out: copy });
      changed.loaded.backbone.model.dispose();
      expect(changed.reused).toBe(false);
      const per = 512;
      expect(changed.sets.get('test')!.features.subarray(0, per)).toEqual(first.sets.get('train')!.features.subarray(0, per));
    } finally {
      await writeFile(victim, original);
    }
  });

  it('train-head (recipe 1) writes config, history, metrics, plots and a checkpoint', async () => {
    const ctx = await ctxFor();
    const r = await theHeadRun();
    const { metrics, config } = await checkRunFolder(r.dir, 2);
    expect(config.recipe).toBe('feature-head');
    expect(config.model).toBe('squeezenet1_1');
    expect((config.weights as { checksum: string }).checksum).toMatch(/^[0-9a-f]{64}$/);
    expect((config.adapter as { description: string }).description).toBe(ctx.engine.info.description);
    expect(metrics.model).toBe('squeezenet1_1');
    const ckpt = parseCheckpoint(new Uint8Array(await readFile(join(r.dir, 'checkpoint.safetensors'))), 'c');
    expect([...ckpt.params.keys()].sort()).toEqual(['dense_1/bias', 'dense_1/kernel', 'dense_2/bias', 'dense_2/kernel']);
    expect(ckpt.params.get('dense_1/kernel')!.shape).toEqual([512, 256]);
    expect(ckpt.optimizer.size).toBe(4);
  });

  it('config.json decides the optimizer: a resumed run follows an edited ε (the float64 check is in train-fit)', async () => {
    const ctx = await ctxFor();
    const o = { features: await theFeatures(), batch: 4, lr: 1e-2 };
    for (const name of ['eps-keras', 'eps-edited']) await featureHeadJob(ctx, { ...o, epochs: 1, name });
    const file = join(tmp, 'runs', 'eps-edited', 'config.json');
    const config = JSON.parse(await readFile(file, 'utf8')) as { optimizer: { epsilon: number; rho: number } };
    expect(config.optimizer).toMatchObject({ rho: 0.9, epsilon: 1e-7 });
    config.optimizer.epsilon = 0.5;
    await writeFile(file, JSON.stringify(config));
    const keras = await featureHeadJob(ctx, { resume: 'eps-keras', epochs: 2 });
    const edited = await featureHeadJob(ctx, { resume: 'eps-edited', epochs: 2 });
    expect(edited.config.optimizer.epsilon).toBe(0.5);
    expect(edited.history.loss[0]).toBe(keras.history.loss[0]);
    expect(edited.history.loss[1]).not.toBe(keras.history.loss[1]);
    const kernel = async (dir: string): Promise<number[]> =>
      Array.from(parseCheckpoint(new Uint8Array(await readFile(join(dir, 'checkpoint.safetensors'))), dir).params.get('dense_2/kernel')!.data as Float32Array);
    expect(await kernel(edited.dir)).not.toEqual(await kernel(keras.dir));
  });

  it('a recipe-1 run evaluates and predicts on images: base + head agree with its test metrics', async () => {
    const ctx = await ctxFor();
    const run = (await theHeadRun()).dir;
    expect(run).toBe(join(tmp, 'runs', 'head'));
    const metrics = JSON.parse(await readFile(join(run, 'metrics.json'), 'utf8')) as { test_acc: number; test_loss: number };
    const ev = await evaluateJob(ctx, { from: run, data, batch: 4 });
    expect(ev.count).toBe(4);
    expect(ev.acc).toBeCloseTo(metrics.test_acc, 6);
    expect(Math.abs(ev.loss - metrics.test_loss) / metrics.test_loss).toBeLessThan(1e-4);
    const images = ['cats/cat.1500.jpg', 'cats/cat.1501.jpg', 'dogs/dog.1500.jpg', 'dogs/dog.1501.jpg'].map((f) => join(data, 'test', f));
    const p = await predictJob(ctx, { from: 'head', images });
    expect(p.predictions.map((x) => x.file)).toEqual(images);
    // The mean BCE of the predicted probabilities is the evaluated loss (same images, same model).
    const logits = p.predictions.map((x) => x.logit);
    expect(Math.abs(refBceWithLogits(logits, [0, 0, 1, 1]) - ev.loss) / ev.loss).toBeLessThan(1e-3);
    // Against the files' known classes (their folders): as many predicted right as evaluate counted right on its own
    // path (labels from the folder layout, accuracy on the GPU); each probability the sigmoid of its logit.
    const truth = images.map((f) => basename(dirname(f)));
    expect(truth).toEqual(['cats', 'cats', 'dogs', 'dogs']);
    expect(p.predictions.filter((x, i) => x.class === truth[i]).length).toBe(Math.round(ev.acc * images.length));
    for (const x of p.predictions) {
      expect(['cats', 'dogs']).toContain(x.class);
      expect(x.probability).toBeCloseTo(1 / (1 + Math.exp(-x.logit)), 6);
    }
  });

  it('train (recipe 2, augmentation on the GPU) and finetune (recipe 3) from it', { timeout: 400_000 }, async () => {
    const ctx = await ctxFor();
    const r = await theAugRun();
    const { config } = await checkRunFolder(r.dir, 2);
    expect(config.augmentation).not.toBeNull();
    expect(config.steps).toBe(2);
    const ckpt = parseCheckpoint(new Uint8Array(await readFile(join(r.dir, 'checkpoint.safetensors'))), 'c');
    // Frozen base: only the head is trained and checkpointed.
    expect([...ckpt.params.keys()].sort()).toEqual(['dense_1/bias', 'dense_1/kernel', 'dense_2/bias', 'dense_2/kernel']);
    expect(ckpt.state.iterations).toBe(4);

    const f = await finetuneJob(ctx, { from: 'aug', unfreeze: ['fire9'], epochs: 1, steps: 1, validationSteps: 1, name: 'ft' });
    const ft = await checkRunFolder(f.dir, 1);
    expect(ft.config.recipe).toBe('finetune');
    expect(ft.config.unfreeze).toEqual(['fire9']);
    expect(ft.config.from).toBe(r.dir);
    const fck = parseCheckpoint(new Uint8Array(await readFile(join(f.dir, 'checkpoint.safetensors'))), 'c');
    const names = [...fck.params.keys()];
    expect(names.filter((n) => n.startsWith('fire9/')).length).toBe(6);
    expect(names.filter((n) => n.startsWith('fire8/'))).toEqual([]);
    expect(names).toContain('dense_2/kernel');
    // The head starts from the recipe-2 weights (then moves by at most a few learning-rate steps).
    const before = ckpt.params.get('dense_2/kernel')!.data as Float32Array;
    const after = fck.params.get('dense_2/kernel')!.data as Float32Array;
    let maxDiff = 0;
    for (let i = 0; i < before.length; i++) maxDiff = Math.max(maxDiff, Math.abs(after[i]! - before[i]!));
    expect(maxDiff).toBeGreaterThan(0);
    expect(maxDiff).toBeLessThan(1e-5 * 4);
    // Fine-tuning really trains the base: every unfrozen tensor moved away from the pretrained weights.
    const pretrained = await nodeJobEnv(ctx).backbones.load('squeezenet1_1', { inputSize: 64, seed: 0, allowRandom: false });
    try {
      const byName = new Map(pretrained.backbone.model.namedParams());
      for (const n of names.filter((n) => n.startsWith('fire9/'))) {
        const p0 = await byName.get(n)!.readF32();
        const p1 = fck.params.get(n)!.data as Float32Array;
        expect(p1.length).toBe(p0.length);
        expect(p1.some((v, i) => v !== p0[i]), `${n} is still the pretrained tensor`).toBe(true);
      }
    } finally {
      pretrained.backbone.model.dispose();
    }
    // Lineage: the source run's checkpoint (epoch and SHA-256 of the file) is recorded.
    const sourceCkpt = new Uint8Array(await readFile(join(r.dir, 'checkpoint.safetensors')));
    expect(ft.config.from_checkpoint).toEqual({ epoch: 2, sha256: await sha256Hex(sourceCkpt) });
    // Training the source further changes its checkpoint: resuming the fine-tuning run then says so instead of
    // silently starting from other weights.
    await imageTrainJob(ctx, { model: 'squeezenet1_1', data, epochs: 3, resume: 'aug' });
    await expect(finetuneJob(ctx, { resume: 'ft', epochs: 2 })).rejects.toThrow(/started from .*checkpoint\.safetensors at epoch 2 .*changed since \(now epoch 3/);
  });

  it('resumes an image run (augmentation draws from seed, epoch and step) to the uninterrupted history', async () => {
    const ctx = await ctxFor();
    const o = { model: 'squeezenet1_1' as const, data, inputSize: 64, steps: 2, validationSteps: 1, batch: 4, seed: 5 };
    const full = await imageTrainJob(ctx, { ...o, epochs: 3, name: 'aug-full' });
    await imageTrainJob(ctx, { ...o, epochs: 1, name: 'aug-part' });
    const resumed = await imageTrainJob(ctx, { ...o, epochs: 3, resume: 'aug-part' });
    expect(resumed.dir).toBe(join(tmp, 'runs', 'aug-part'));
    expect(resumed.history.loss).toEqual(full.history.loss);
    expect(resumed.history.acc).toEqual(full.history.acc);
    expect(resumed.history.val_loss).toEqual(full.history.val_loss);
  });

  it('VGG16 with random weights (loudly warned) at 32×32: [1, 1, 512] features, Flatten in the head', async () => {
    const warnings: string[] = [];
    const ctx = { ...(await ctxFor()), logger: { warn: (m: string) => warnings.push(m) } };
    const o = { model: 'vgg16' as const, weights: join(tmp, 'no-such-weights.safetensors'), data, inputSize: 32, batch: 4, onBadImage: 'fail' as const, allowRandom: true };
    await expect(extractJob(ctx, { ...o, allowRandom: false, out: join(tmp, 'vgg-features') })).rejects.toThrow(/no weights for vgg16 at .*no-such-weights/);
    const ex = await extractJob(ctx, { ...o, out: join(tmp, 'vgg-features') });
    ex.loaded.backbone.model.dispose();
    expect(warnings.join('\n')).toMatch(/RANDOM/);
    expect(ex.sets.get('train')!.featureShape).toEqual([1, 1, 512]);
    const head = await featureHeadJob(ctx, { features: join(tmp, 'vgg-features'), epochs: 1, batch: 4, name: 'vgg-head' });
    const ckpt = parseCheckpoint(new Uint8Array(await readFile(join(head.dir, 'checkpoint.safetensors'))), 'c');
    expect(ckpt.params.get('dense_1/kernel')!.shape).toEqual([512, 256]);
    const r = await imageTrainJob(ctx, { ...o, steps: 1, validationSteps: 1, epochs: 1, name: 'vgg-aug' });
    const { config } = await checkRunFolder(r.dir, 1);
    expect(config.weights).toMatchObject({ pretrained: false, checksum: 'random(seed 0)' });
    expect(config.feature_shape).toEqual([1, 1, 512]);
  });

  it('refuses unknown layers to unfreeze before writing anything', async () => {
    const ctx = await ctxFor();
    await theAugRun();
    await expect(finetuneJob(ctx, { from: 'aug', unfreeze: ['block5_conv1'], epochs: 1, name: 'bad-ft' })).rejects.toThrow(/no layer 'block5_conv1'/);
    expect((await readdir(join(tmp, 'runs'))).includes('bad-ft')).toBe(false);
  });
});
