// Export of trained runs (issue 25): SqueezeNet 1.1 at 64×64 (recipe 1, binary head, fire modules: concatenation and
// ceil-mode pools) and MobileNetV2 at 32×32 (recipe 2, a categorical softmax head, depthwise convs with ReLU6, zero
// padding, residual adds), on a few real images. The exported ONNX file is read back by our own parser (topological
// order, every tensor typed, metadata) and run by onnxruntime-node; the TF.js layers model is loaded by
// tf.loadLayersModel; both must give `predict`'s probabilities within 1e-4 on the same decoded pixels.
import { copyFile, mkdtemp, readdir, rm, writeFile, mkdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOnnx } from '../src/formats/onnx.js';
import type { BackboneName } from '../src/models/types.js';
import { runOnnx } from '../src/models/onnx/run.js';
import { exportGraphOf, exportJob, type ExportJobResult } from '../src/train/export.js';
import { loadRunModel, openRun } from '../src/train/jobs.js';
import { writeOnnxClassifier } from '../src/formats/onnx-writer.js';
import { writeTfjsLayersModel } from '../src/formats/tfjs-layers-writer.js';
import { extractJob, featureHeadJob, finetuneJob, imageTrainJob, nodeJobEnv, predictJob, type JobContext } from '../src/train/jobs-node.js';
import { writeExportFolder } from '../src/cli/commands/export.js';
import { testEngine } from './helpers/engine.js';
import { makeTinyDataset, SHARED_DATA } from './helpers/train-data.js';

const SHARED = resolve(SHARED_DATA, '..');

let tmp = '';
let data = '';
let images: string[] = [];
let flowers = '';
let flowerImages: string[] = [];
const CATS_DOGS = ['cats', 'dogs'];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'export-'));
  data = await makeTinyDataset(join(tmp, 'data'), { train: 4, validation: 2, test: 2 });
  images = (['cats', 'dogs'] as const).flatMap((c) => [0, 1].map((i) => join(data, 'test', c, `${c.slice(0, -1)}.${1500 + i}.jpg`)));
  // Twelve classes: the first images of each flowers12 class (2 train, 1 validation, 1 test).
  flowers = join(tmp, 'flowers');
  const source = join(SHARED, 'flowers12');
  for (const [split, n] of [['train', 2], ['validation', 1], ['test', 1]] as const) {
    for (const cls of (await readdir(join(source, split))).sort()) {
      await mkdir(join(flowers, split, cls), { recursive: true });
      for (const f of (await readdir(join(source, split, cls))).sort().slice(0, n)) {
        await copyFile(join(source, split, cls, f), join(flowers, split, cls, f));
        if (split === 'test' && flowerImages.length < 6) flowerImages.push(join(flowers, split, cls, f));
      }
    }
  }
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function ctx(): Promise<JobContext> {
  return { engine: await testEngine(), runsDir: join(tmp, 'runs'), pixelCacheDir: join(tmp, 'pixels') };
}

/**
 * What `predict` reports for `files`: per image the probabilities of its (up to) 3 most probable classes by label
 * ([p(class 1)] for a binary head), and the logit it reports (binary: the one logit; softmax: the top class's), a
 * check that saturated probabilities cannot hide.
 */
async function predicted(run: string, files: string[]): Promise<{ probs: Map<number, number>[]; logits: { label: number; logit: number }[] }> {
  const r = await predictJob(await ctx(), { from: run, images: files, batch: files.length });
  const binary = r.config.classes.length === 2 && (r.config.class_mode ?? 'binary') === 'binary';
  return {
    probs: r.predictions.map((p) => (binary ? new Map([[0, p.probability]]) : new Map(p.top.map((t) => [t.label, t.probability])))),
    logits: r.predictions.map((p) => ({ label: binary ? 0 : p.label, logit: p.logit })),
  };
}

/** Largest |ours − theirs| over the entries predict reports; `theirs` is images × units row-major. */
function maxDiff(ours: Map<number, number>[], theirs: ArrayLike<number>, units: number): number {
  let d = 0;
  ours.forEach((row, i) => row.forEach((v, label) => (d = Math.max(d, Math.abs(v - theirs[i * units + label]!)))));
  return d;
}

function relDiff(ours: { label: number; logit: number }[], theirs: ArrayLike<number>, units: number): number {
  let d = 0;
  ours.forEach(({ label, logit }, i) => (d = Math.max(d, Math.abs(logit - theirs[i * units + label]!) / Math.max(1, Math.abs(logit)))));
  return d;
}

/** The ONNX checker's rules that matter here, on our own reader's view of the file. */
function checkOnnx(bytes: Uint8Array, units: number, size: number): ReturnType<typeof parseOnnx> {
  const m = parseOnnx(bytes, 'model.onnx');
  expect(m.opset).toBeGreaterThanOrEqual(13);
  const known = new Set<string>([...m.graph.inputs.map((i) => i.name), ...m.graph.initializers.keys()]);
  for (const n of m.graph.nodes) {
    for (const i of n.inputs) if (i) expect(known.has(i), `${n.name} reads ${i} before it is made`).toBe(true);
    for (const o of n.outputs) {
      expect(known.has(o), `${o} made twice`).toBe(false);
      known.add(o);
    }
  }
  const typed = new Map([...m.graph.valueInfo, ...m.graph.outputs, ...m.graph.inputs].map((v) => [v.name, v]));
  // Every tensor the export makes is typed (an imported base's own tensors, copied from its file, are not).
  for (const n of m.graph.nodes) for (const o of n.outputs) if (!o.startsWith('base/') || !n.name.startsWith('base/')) expect(typed.get(o)?.elemType, `${o} has no type`).toBe('float');
  expect(m.graph.inputs.map((i) => [i.name, i.shape])).toEqual([['image', ['N', size, size, 3]]]);
  expect(m.graph.outputs.map((o) => [o.name, o.shape])).toEqual([['probabilities', ['N', units]]]);
  return m;
}

async function onnxProbabilities(bytes: Uint8Array, pixels: Uint8Array[], size: number): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  const x = new Float32Array(pixels.length * size * size * 3);
  pixels.forEach((p, i) => x.set(p, i * p.length));
  const out = await session.run({ image: new ort.Tensor('float32', x, [pixels.length, size, size, 3]) });
  await session.release();
  return out['probabilities']!.data as Float32Array;
}

/** tf.loadLayersModel from the export's files (model.json and its shards), as a browser would fetch them. */
async function tfjsProbabilities(files: ReadonlyMap<string, Uint8Array>, pixels: Uint8Array[], size: number): Promise<Float32Array> {
  const json = JSON.parse(new TextDecoder().decode(files.get('tfjs/model.json')!)) as {
    modelTopology: object;
    weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
    format: string;
  };
  const group = json.weightsManifest[0]!;
  const parts = group.paths.map((p) => files.get(`tfjs/${p}`)!);
  const all = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  const handler: tf.io.IOHandler = {
    load: async () => ({ modelTopology: json.modelTopology, weightSpecs: group.weights, weightData: all.buffer, format: json.format }),
  };
  const model = await tf.loadLayersModel(handler);
  const x = tf.tensor4d(Float32Array.from(pixels.flatMap((p) => Array.from(p))), [pixels.length, size, size, 3]);
  const y = model.predict(x) as tf.Tensor;
  const out = (await y.data()) as Float32Array;
  tf.dispose([x, y]);
  model.dispose();
  return out;
}

/** The run's graph with the head's logits as output (the final sigmoid / softmax left out). */
async function logitFiles(run: string, onnxSource?: Uint8Array): Promise<{ onnx: Uint8Array; tfjs: Map<string, Uint8Array> | null }> {
  const env = nodeJobEnv(await ctx());
  const opened = await openRun(env, run);
  const { model, checkpoint } = await loadRunModel(env, opened);
  try {
    const g = await exportGraphOf(model, opened.config, { run, checkpointSha256: checkpoint.sha256, epoch: checkpoint.epoch }, onnxSource ? { onnxSource } : {});
    const last = g.nodes[g.nodes.length - 1]!;
    if (last.op === 'dense') last.activation = 'linear';
    if (onnxSource) return { onnx: writeOnnxClassifier(g), tfjs: null };
    const t = writeTfjsLayersModel(g);
    return { onnx: writeOnnxClassifier(g), tfjs: new Map([['tfjs/model.json', new TextEncoder().encode(JSON.stringify(t.modelJson))], ...t.shards.map(([n, b]) => [`tfjs/${n}`, b] as [string, Uint8Array])]) };
  } finally {
    model.dispose();
  }
}

async function checkExport(r: ExportJobResult, run: string, files: string[], labels: string[], onnxSource?: Uint8Array): Promise<void> {
  const size = r.config.input_size;
  const units = labels.length === 2 && (r.config.class_mode ?? 'binary') === 'binary' ? 1 : labels.length;
  const pixels = await nodeJobEnv(await ctx()).data.decodeImages(files, size);
  const ours = await predicted(run, files);

  const onnx = r.files.get('model.onnx')!;
  const m = checkOnnx(onnx, units, size);
  expect(JSON.parse(m.metadata['labels']!)).toEqual(labels);
  expect(m.metadata['input_size']).toBe(String(size));
  expect(m.metadata['preprocess']).toBe(r.config.preprocess);
  expect(m.metadata['backbone']).toBe(r.config.model);
  expect(m.metadata['run']).toBe(run);
  expect(m.metadata['checkpoint_sha256']).toBe(r.checkpoint.sha256);
  const po = await onnxProbabilities(onnx, pixels, size);
  expect(po.length).toBe(files.length * units);
  const dOnnx = maxDiff(ours.probs, po, units);
  expect(dOnnx, `onnxruntime vs predict: ${dOnnx}`).toBeLessThan(1e-4);

  // Round trip: the exported file through this engine's own ONNX import, on the GPU.
  const x = new Float32Array(pixels.length * size * size * 3);
  pixels.forEach((p, i) => x.set(p, i * p.length));
  const back = (await runOnnx(await testEngine(), m, new Map([['image', { shape: [pixels.length, size, size, 3], data: x }]]))).get('probabilities')!;
  expect(back.shape).toEqual([pixels.length, units]);
  const dBack = maxDiff(ours.probs, back.data, units);
  expect(dBack, `our ONNX import vs predict: ${dBack}`).toBeLessThan(1e-4);

  const tfjs = r.files.has('tfjs/model.json');
  const pt = tfjs ? await tfjsProbabilities(r.files, pixels, size) : po;
  const dTfjs = maxDiff(ours.probs, pt, units);
  for (let i = 0; i < files.length; i++) expect(Array.from(po.subarray(i * units, (i + 1) * units)).reduce((a, b) => a + b, 0)).toBeCloseTo(units === 1 ? po[i]! : 1, 5);
  expect(dTfjs, `tf.js vs predict: ${dTfjs}`).toBeLessThan(1e-4);
  if (tfjs) {
    const meta = JSON.parse(new TextDecoder().decode(r.files.get('tfjs/metadata.json')!)) as Record<string, unknown>;
    expect(meta).toMatchObject({ labels, imageSize: size, modelName: run });
    for (const k of ['tfjsVersion', 'timeStamp']) expect(typeof meta[k]).toBe('string');
  }
  expect(new TextDecoder().decode(r.files.get('README.txt')!)).toMatch(/onnxruntime/);
  const lf = await logitFiles(run, onnxSource);
  const lo = relDiff(ours.logits, await onnxProbabilities(lf.onnx, pixels, size), units);
  const lt = lf.tfjs ? relDiff(ours.logits, await tfjsProbabilities(lf.tfjs, pixels, size), units) : 0;
  expect(lo, `onnxruntime logits vs predict: ${lo}`).toBeLessThan(1e-4);
  expect(lt, `tf.js logits vs predict: ${lt}`).toBeLessThan(1e-4);
  const logits = `logits ${JSON.stringify(ours.logits.map((v) => +v.logit.toFixed(3)))}: relative |onnx - predict| ${lo.toExponential(2)}, |tfjs - predict| ${tfjs ? lt.toExponential(2) : 'n/a'}`;
  console.log(`${run}: probabilities |onnx - predict| ${dOnnx.toExponential(2)}, |our onnx import - predict| ${dBack.toExponential(2)}, |tfjs - predict| ${tfjs ? dTfjs.toExponential(2) : 'n/a'} (${JSON.stringify(ours.probs.map((r) => [...r.values()].map((v) => +v.toFixed(4))))}); ${logits}`);
}

describe('export to ONNX and TF.js', () => {
  it('SqueezeNet 1.1 (64×64, recipe 1, binary head): onnxruntime and TF.js give predict’s probabilities', async () => {
    const features = join(tmp, 'features');
    (await extractJob(await ctx(), { model: 'squeezenet1_1', data, out: features, inputSize: 64, batch: 4, onBadImage: 'fail' })).loaded.backbone.model.dispose();
    await featureHeadJob(await ctx(), { features, epochs: 2, batch: 4, name: 'sq' });
    const r = await exportJob(nodeJobEnv(await ctx()), { from: 'sq', formats: ['onnx', 'tfjs'] });
    await checkExport(r, 'sq', images, CATS_DOGS);
  }, 240_000);

  it('MobileNetV2 (32×32, recipe 2, categorical head): onnxruntime and TF.js give predict’s probabilities', async () => {
    await imageTrainJob(await ctx(), { model: 'mobilenet_v2', data, inputSize: 32, preprocess: 'rescale', steps: 1, validationSteps: 1, epochs: 1, batch: 4, name: 'mb', classMode: 'categorical' });
    const r = await exportJob(nodeJobEnv(await ctx()), { from: 'mb', formats: ['onnx', 'tfjs'] });
    await checkExport(r, 'mb', images, CATS_DOGS);
  }, 240_000);

  it('a fine-tuned run (MobileNetV2 at 32×32, recipe 3): its moved base weights are what is exported', async () => {
    await imageTrainJob(await ctx(), { model: 'mobilenet_v2', data, inputSize: 32, preprocess: 'rescale', steps: 1, validationSteps: 1, epochs: 1, batch: 4, name: 'mb0', classMode: 'categorical' });
    const ft = await finetuneJob(await ctx(), { from: 'mb0', lr: 1e-4, steps: 2, validationSteps: 1, epochs: 1, batch: 4, name: 'mbft' });
    expect(ft.config.unfreeze.length).toBeGreaterThan(0);
    const r = await exportJob(nodeJobEnv(await ctx()), { from: 'mbft', formats: ['onnx', 'tfjs'] });
    await checkExport(r, 'mbft', images, CATS_DOGS);
    // The base's top layer in the export is the fine-tuned one, not the pretrained one.
    const before = await exportJob(nodeJobEnv(await ctx()), { from: 'mb0', formats: ['onnx'] });
    const w = (m: ReturnType<typeof parseOnnx>) => Array.from(m.graph.initializers.get('Conv_1_W')!.data as Float32Array);
    expect(w(parseOnnx(r.files.get('model.onnx')!))).not.toEqual(w(parseOnnx(before.files.get('model.onnx')!)));
  }, 240_000);

  it('VGG16 (random weights, 32×32, caffe preprocessing, recipe 2, binary head: Flatten)', async () => {
    await imageTrainJob(await ctx(), { model: 'vgg16', allowRandom: true, data, inputSize: 32, preprocess: 'caffe', steps: 1, validationSteps: 1, epochs: 1, batch: 4, name: 'vgg' });
    const r = await exportJob(nodeJobEnv(await ctx()), { from: 'vgg', formats: ['onnx', 'tfjs'] });
    await checkExport(r, 'vgg', images.slice(0, 2), CATS_DOGS);
  }, 300_000);

  it('twelve classes (flowers12, SqueezeNet 1.1 at 66×66 — ceil-mode pools that pad — recipe 1, softmax head)', async () => {
    const features = join(tmp, 'features12');
    // At 66 the first pool sees 32×32: ceil mode gives 16 (floor 15), so the export pads it (ZeroPadding2D in TF.js).
    (await extractJob(await ctx(), { model: 'squeezenet1_1', data: flowers, out: features, inputSize: 66, batch: 4, onBadImage: 'fail' })).loaded.backbone.model.dispose();
    await featureHeadJob(await ctx(), { features, epochs: 2, batch: 4, name: 'f12' });
    const r = await exportJob(nodeJobEnv(await ctx()), { from: 'f12', formats: ['onnx', 'tfjs'] });
    const topology = JSON.parse(new TextDecoder().decode(r.files.get('tfjs/model.json')!)) as { modelTopology: { config: { layers: { name: string }[] } } };
    expect(topology.modelTopology.config.layers.map((l) => l.name)).toContain('pool1_pad');
    await checkExport(r, 'f12', flowerImages, (await readdir(join(flowers, 'train'))).sort());
  }, 240_000);

  it('an imported ONNX base (SqueezeNet 1.1 from PyTorch at 64×64, recipe 1): ONNX re-emits its source graph; TF.js is refused', async () => {
    const model = join(SHARED, '..', 'onnx', 'squeezenet1_1_real', 'model.onnx') as BackboneName;
    const features = join(tmp, 'features-onnx');
    (await extractJob(await ctx(), { model, data, out: features, inputSize: 64, batch: 4, onBadImage: 'fail' })).loaded.backbone.model.dispose();
    await featureHeadJob(await ctx(), { features, epochs: 2, batch: 4, name: 'ob' });
    const readFile2 = async (p: string) => new Uint8Array(await readFile(p));
    await expect(exportJob(nodeJobEnv(await ctx()), { from: 'ob', formats: ['onnx', 'tfjs'], readFile: readFile2 })).rejects.toThrow(/TF\.js layers cannot express an arbitrary ONNX graph: export it with --format onnx/);
    await expect(exportJob(nodeJobEnv(await ctx()), { from: 'ob', formats: ['onnx'] })).rejects.toThrow(/needs the source file/);
    const r = await exportJob(nodeJobEnv(await ctx()), { from: 'ob', formats: ['onnx'], readFile: readFile2 });
    expect([...r.files.keys()].sort()).toEqual(['README.txt', 'model.onnx']);
    await checkExport(r, 'ob', images, CATS_DOGS, await readFile2(model));
  }, 240_000);

  it('refuses an unknown run, a run without a checkpoint and an unknown format, naming them', async () => {
    const env = nodeJobEnv(await ctx());
    await expect(exportJob(env, { from: 'nope', formats: ['onnx'] })).rejects.toThrow(/nope/);
    await expect(exportJob(env, { from: 'sq', formats: ['keras' as 'onnx'] })).rejects.toThrow(/unknown export format 'keras'/);
    const bare = join(tmp, 'runs', 'bare');
    await mkdir(bare, { recursive: true });
    await writeFile(join(bare, 'config.json'), await readFile(join(tmp, 'runs', 'sq', 'config.json')));
    await expect(exportJob(env, { from: 'bare', formats: ['onnx'] })).rejects.toThrow(/checkpoint\.safetensors does not exist/);
  });

  it('writes the folder atomically: refuses a file or a non-empty folder (unless forced), leaves no temporary files', async () => {
    const files = new Map([['a.txt', new Uint8Array([1])], ['tfjs/b.bin', new Uint8Array([2, 3])]]);
    const out = join(tmp, 'out', 'export');
    await writeExportFolder(out, files, false);
    expect((await readdir(out)).sort()).toEqual(['a.txt', 'tfjs']);
    await expect(writeExportFolder(out, files, false)).rejects.toThrow(/exists and is not empty \(pass --force/);
    await writeExportFolder(out, new Map([['c.txt', new Uint8Array([4])]]), true);
    expect(await readdir(out)).toEqual(['c.txt']);
    await expect(writeExportFolder(join(out, 'c.txt'), files, true)).rejects.toThrow(/is a file, not a folder/);
    expect(await readdir(join(tmp, 'out'))).toEqual(['export']);
  });
});
