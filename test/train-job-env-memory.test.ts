import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryPixelCache } from '../src/data/cache.js';
import { SharpImageDecoder } from '../src/data/decoder-node.js';
import { nodeDataFs } from '../src/data/fs-node.js';
import { readBackboneWeights } from '../src/models/weights-node.js';
import { MemoryJobEnv, normalizeRef } from '../src/train/job-env-memory.js';
import * as jobs from '../src/train/jobs.js';
import { nodeJobEnv } from '../src/train/jobs-node.js';
import { testEngine } from './helpers/engine.js';
import { makeTinyDataset } from './helpers/train-data.js';

/** The recipes in the in-memory environment (the browser tab's) give exactly what they give on disk (the CLI's). */

let tmp = '';
let data = '';

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'job-env-memory-'));
  data = await makeTinyDataset(join(tmp, 'data'), { train: 4, validation: 2, test: 2 });
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function memoryEnv(): Promise<MemoryJobEnv> {
  const env = new MemoryJobEnv({ engine: await testEngine(), decoder: new SharpImageDecoder(), cache: new MemoryPixelCache(), logger: { warn: (m) => { throw new Error(`unexpected warning: ${m}`); } } });
  env.mount('images', { fs: nodeDataFs, splits: { train: join(data, 'train'), validation: join(data, 'validation'), test: join(data, 'test') } });
  env.setWeights('squeezenet1_1', { tensors: await readBackboneWeights('squeezenet1_1'), source: 'squeezenet1_1.safetensors' });
  return env;
}

async function diskEnv() {
  return nodeJobEnv({ engine: await testEngine(), runsDir: join(tmp, 'runs'), pixelCacheDir: null });
}

const SIZE = 32;
const curves = (h: jobs.TrainJobResult['history']) => ({ loss: h.loss, acc: h.acc, val_loss: h.val_loss, val_acc: h.val_acc });

describe('MemoryJobEnv', () => {
  it('normalizes references', () => {
    expect(normalizeRef('images/train/..')).toBe('images');
    expect(normalizeRef('./a//b/../c/')).toBe('a/c');
  });

  it('recipe 1 (extract + head) in memory equals the run on disk', async () => {
    const mem = await memoryEnv();
    const ex = await jobs.extractJob(mem, { model: 'squeezenet1_1', data: 'images', out: 'features/sq', inputSize: SIZE, batch: 4, onBadImage: 'fail' });
    ex.loaded.backbone.model.dispose();
    expect(ex.manifest.pixels).toBe('sharp-nearest');
    expect(ex.manifest.splits.train!.root).toBe('images/train');
    const m = await jobs.featureHeadJob(mem, { features: 'features/sq', epochs: 2, batch: 4, seed: 3 });
    expect(m.dir).toBe('runs/feature-head-1');
    expect(m.config.data).toBe('images');
    expect(m.config.features).toBe('features/sq');

    const disk = await diskEnv();
    const dex = await jobs.extractJob(disk, { model: 'squeezenet1_1', data, out: join(tmp, 'features'), inputSize: SIZE, batch: 4, onBadImage: 'fail' });
    dex.loaded.backbone.model.dispose();
    const d = await jobs.featureHeadJob(disk, { features: join(tmp, 'features'), epochs: 2, batch: 4, seed: 3 });
    expect(m.config.weights.checksum).toBe(d.config.weights.checksum);
    expect(curves(m.history)).toEqual(curves(d.history));
    expect(m.metrics.test_acc).toBe(d.metrics.test_acc);

    // Predicting from the run: a loose file, or a file of a mounted dataset.
    const image = join(data, 'test', 'dogs', 'dog.1500.jpg');
    mem.files.set('probe.jpg', new Uint8Array(await readFile(image)));
    const p1 = await jobs.predictJob(mem, { from: 'feature-head-1', images: ['probe.jpg', 'images/test/dogs/dog.1500.jpg'] });
    const p2 = await jobs.predictJob(disk, { from: d.dir, images: [image] });
    expect(p1.predictions[0]!.probability).toBe(p2.predictions[0]!.probability);
    expect(p1.predictions[1]!.probability).toBe(p2.predictions[0]!.probability);
  }, 300_000);

  it('recipes 2 and 3 in memory equal the runs on disk', async () => {
    const mem = await memoryEnv();
    const disk = await diskEnv();
    const o = { model: 'squeezenet1_1' as const, inputSize: SIZE, epochs: 1, batch: 4, seed: 5, steps: null, validationSteps: null };
    const m2 = await jobs.imageTrainJob(mem, { ...o, data: 'images' });
    const d2 = await jobs.imageTrainJob(disk, { ...o, data });
    expect(curves(m2.history)).toEqual(curves(d2.history));
    const f = { epochs: 1, batch: 4, steps: null, validationSteps: null };
    const m3 = await jobs.finetuneJob(mem, { ...f, from: m2.dir });
    const d3 = await jobs.finetuneJob(disk, { ...f, from: d2.dir });
    expect(m3.config.unfreeze).toEqual(['fire8', 'fire9']);
    expect(m3.config.from).toBe('runs/augment-1');
    expect(m3.config.optimizer.lr).toBe(1e-5);
    expect(curves(m3.history)).toEqual(curves(d3.history));
  }, 300_000);

  it('names what is missing', async () => {
    const mem = await memoryEnv();
    await expect(mem.data.openSplits('pets', ['train'], { inputSize: SIZE, onBadImage: 'fail' })).rejects.toThrow(/no images at 'pets' \(datasets here: images\)/);
    await expect(mem.runs.find('nope')).rejects.toThrow(/run 'nope' not found/);
    await mem.runs.create('augment', 'mine');
    await expect(mem.runs.create('augment', 'mine')).rejects.toThrow(/already exists/);
    await expect(mem.backbones.load('vgg16', { seed: 0, allowRandom: false })).rejects.toThrow(/no weights for vgg16/);
    await expect(mem.backbones.load('squeezenet1_1', { seed: 0, allowRandom: false, expectedChecksum: 'f'.repeat(64) })).rejects.toThrow(/run was made with other weights/);
  });
});
