import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRunConfig } from '../src/train/config.js';
import { evaluateJob, extractJob, featureHeadJob, imageTrainJob, predictJob, type JobContext } from '../src/train/jobs-node.js';
import { testEngine } from './helpers/engine.js';
import { repoRoot } from './helpers/train-data.js';

const FLOWERS = resolve(repoRoot, '..', 'shared', 'data', 'flowers12');

let tmp = '';

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'train-multiclass-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function ctxFor(): Promise<JobContext> {
  return { engine: await testEngine(), runsDir: join(tmp, 'runs'), pixelCacheDir: join(tmp, 'pixels') };
}

/** A few flowers12 images per class of `classes` in each split, copied into `dir` (the first files by name). */
async function tinyFlowers(dir: string, classes: string[], per: { train: number; validation: number; test: number }): Promise<string> {
  for (const split of ['train', 'validation', 'test'] as const) {
    for (const cls of classes) {
      const out = join(dir, split, cls);
      await mkdir(out, { recursive: true });
      const files = (await readdir(join(FLOWERS, split, cls))).sort().slice(0, per[split]);
      for (const f of files) await copyFile(join(FLOWERS, split, cls, f), join(out, f));
    }
  }
  return dir;
}

/** Nothing at `path`: no file and no folder, not even an empty one. */
const expectAbsent = (path: string): void => expect(existsSync(path), `${path} was created`).toBe(false);

describe('twelve classes: recipe 1 on flowers12 (SqueezeNet 1.1 at 96×96, real weights)', () => {
  it('beats chance by a wide margin; metrics.json has per-class results and a confusion matrix over the whole split', async () => {
    const ctx = await ctxFor();
    const out = join(tmp, 'features-flowers12');
    const ex = await extractJob(ctx, { model: 'squeezenet1_1', data: FLOWERS, out, inputSize: 96, batch: 20, onBadImage: 'fail' });
    ex.loaded.backbone.model.dispose();
    expect(ex.sets.get('train')!.count).toBe(540);
    expect(Math.max(...ex.sets.get('train')!.labels)).toBe(11);
    const r = await featureHeadJob(ctx, { features: out, name: 'flowers12', lr: 1e-4, epochs: 30 });
    expect(r.config.classes).toHaveLength(12);
    expect(r.config.class_mode).toBe('categorical');
    expect(r.config.loss).toBe('categorical_crossentropy (from logits)');
    expect(r.metrics.val_acc, JSON.stringify(r.metrics)).toBeGreaterThanOrEqual(0.7);
    expect(r.metrics.test_acc, JSON.stringify(r.metrics)).toBeGreaterThanOrEqual(0.7);
    // Top-5 accuracy: a fraction, at least the top-1 accuracy (NaN or a count would fail here).
    const top5 = r.metrics.test_top5_acc as number;
    expect(Number.isFinite(top5), String(top5)).toBe(true);
    expect(top5).toBeGreaterThanOrEqual(r.metrics.test_acc as number);
    expect(top5).toBeLessThanOrEqual(1);
    const files = await readdir(r.dir);
    expect(files).toContain('confusion.png');
    const png = await sharp(await readFile(join(r.dir, 'confusion.png'))).metadata();
    expect(png.format).toBe('png');
    const m = JSON.parse(await readFile(join(r.dir, 'metrics.json'), 'utf8')) as { confusion_matrix: number[][]; per_class: { class: string; recall: number; support: number }[]; classes: string[]; test_acc: number };
    expect(m.classes).toEqual(r.config.classes);
    expect(m.confusion_matrix).toHaveLength(12);
    expect(m.confusion_matrix.flat().reduce((a, b) => a + b, 0)).toBe(240);
    expect(m.confusion_matrix.reduce((a, row, i) => a + row[i]!, 0) / 240).toBeCloseTo(m.test_acc, 6);
    expect(m.per_class.map((c) => c.support)).toEqual(new Array(12).fill(20));
    expect(m.per_class[0]!.recall).toBeCloseTo(m.confusion_matrix[0]![0]! / 20, 6);

    // The model on images (base + head) agrees with the features, and predict ranks the classes.
    const ev = await evaluateJob(ctx, { from: r.dir, data: FLOWERS, split: 'test' });
    expect(ev.count).toBe(240);
    expect(ev.report.confusion.flat().reduce((a, b) => a + b, 0)).toBe(240);
    expect(Math.abs(ev.acc - m.test_acc)).toBeLessThanOrEqual(2 / 240);
    const img = join(FLOWERS, 'test', 'sunflower', (await readdir(join(FLOWERS, 'test', 'sunflower'))).sort()[0]!);
    const p = await predictJob(ctx, { from: r.dir, images: [img] });
    const pred = p.predictions[0]!;
    expect(pred.top).toHaveLength(3);
    // A sunflower from the test split is predicted a sunflower, first of the top 3.
    expect(pred.class, JSON.stringify(pred.top)).toBe('sunflower');
    expect(pred.top[0]!.class).toBe('sunflower');
    expect(pred.top[0]!.label).toBe(r.config.classes.indexOf('sunflower'));
    // Softmax probabilities: finite, in (0, 1], sorted, summing to at most 1 over three of twelve classes.
    const probs = pred.top.map((t) => t.probability);
    for (const q of probs) expect(Number.isFinite(q) && q > 0 && q <= 1, String(q)).toBe(true);
    expect(probs[0]!).toBeGreaterThanOrEqual(probs[1]!);
    expect(probs[1]!).toBeGreaterThanOrEqual(probs[2]!);
    expect(probs.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1 + 1e-6);
    expect(pred.probability).toBe(probs[0]);
  });
});

describe('any number of classes: layouts and modes', () => {
  it('three classes on images (recipe 2), --class-mode, and a model never applied to other class names', async () => {
    const ctx = await ctxFor();
    const data = await tinyFlowers(join(tmp, 'three'), ['daisy', 'iris', 'pansy'], { train: 2, validation: 1, test: 1 });
    await expect(imageTrainJob(ctx, { model: 'squeezenet1_1', data, inputSize: 64, epochs: 1, steps: 1, batch: 3, classMode: 'binary', name: 'refused' })).rejects.toThrow(
      /--class-mode binary needs exactly 2 class folders, found 3 \(daisy, iris, pansy\)/,
    );
    expectAbsent(join(tmp, 'runs', 'refused'));
    const r = await imageTrainJob(ctx, { model: 'squeezenet1_1', data, inputSize: 64, epochs: 1, steps: 2, validationSteps: 1, batch: 3, name: 'three' });
    expect(r.config.classes).toEqual(['daisy', 'iris', 'pansy']);
    expect(r.config.class_mode).toBe('categorical');
    expect(r.report!.confusion.flat().reduce((a, b) => a + b, 0)).toBe(3);
    // The same images under other class names: refused, naming the difference.
    const other = await tinyFlowers(join(tmp, 'three-other'), ['daisy', 'iris', 'tigerlily'], { train: 1, validation: 1, test: 1 });
    await expect(evaluateJob(ctx, { from: r.dir, data: other })).rejects.toThrow(/differ from the run's daisy, iris, pansy \(missing pansy; not in the run: tigerlily\)/);
  });

  it('two classes stay binary unless asked; --class-mode categorical gives a two-unit softmax head', async () => {
    const ctx = await ctxFor();
    const data = await tinyFlowers(join(tmp, 'two'), ['daisy', 'iris'], { train: 2, validation: 1, test: 1 });
    const out = join(tmp, 'features-two');
    (await extractJob(ctx, { model: 'squeezenet1_1', data, out, inputSize: 64, batch: 2, onBadImage: 'fail' })).loaded.backbone.model.dispose();
    const binary = await featureHeadJob(ctx, { features: out, epochs: 1, batch: 2 });
    expect(binary.config.class_mode).toBe('binary');
    expect(binary.config.loss).toBe('binary_crossentropy (from logits)');
    const cat = await featureHeadJob(ctx, { features: out, epochs: 1, batch: 2, classMode: 'categorical' });
    expect(cat.config.class_mode).toBe('categorical');
    expect(cat.config.params.total).toBe(binary.config.params.total + 257);
    expect(cat.report!.confusion).toHaveLength(2);
  });

  it('every split needs train’s class folders, each with images: clear errors, nothing written', async () => {
    const ctx = await ctxFor();
    const cases: [string, (dir: string) => Promise<void>, RegExp][] = [
      ['missing', async (d) => rm(join(d, 'validation', 'pansy'), { recursive: true }), /validation: missing class folder .*validation\/pansy/],
      ['extra', async (d) => void (await mkdir(join(d, 'test', 'tulip'))), /test: extra class folder .*test\/tulip/],
      [
        'empty',
        async (d) => {
          await rm(join(d, 'train', 'iris'), { recursive: true });
          await mkdir(join(d, 'train', 'iris'));
        },
        /class folder .*train\/iris contains no images/,
      ],
    ];
    for (const [name, breakIt, message] of cases) {
      const data = await tinyFlowers(join(tmp, `bad-${name}`), ['daisy', 'iris', 'pansy'], { train: 1, validation: 1, test: 1 });
      await breakIt(data);
      const out = join(tmp, `bad-features-${name}`);
      await expect(extractJob(ctx, { model: 'squeezenet1_1', data, out, inputSize: 64, batch: 2, onBadImage: 'fail' }), name).rejects.toThrow(message);
      expectAbsent(out);
      await expect(imageTrainJob(ctx, { model: 'squeezenet1_1', data, inputSize: 64, epochs: 1, batch: 2, name: `bad-${name}` }), name).rejects.toThrow(message);
      expectAbsent(join(tmp, 'runs', `bad-${name}`));
    }
  });

  it('config.json needs two or more distinct class names and a class mode that fits them', () => {
    const base = { recipe: 'feature-head', model: 'squeezenet1_1', weights: { path: '', checksum: 'x' }, input_size: 64, epochs: 1, batch: 1, seed: 0, feature_shape: [512], head: { units: 256, dropout: 0.5 }, optimizer: { lr: 1e-4 }, preprocess: 'imagenet' };
    expect(() => parseRunConfig({ ...base, classes: ['a'] }, 'c.json')).toThrow(/'classes'/);
    expect(() => parseRunConfig({ ...base, classes: ['a', 'a'] }, 'c.json')).toThrow(/'classes'/);
    expect(() => parseRunConfig({ ...base, classes: ['a', 'b', 'c'], class_mode: 'binary' }, 'c.json')).toThrow(/'class_mode'/);
    expect(parseRunConfig({ ...base, classes: ['a', 'b', 'c'] }, 'c.json').classes).toHaveLength(3);
  });
});
