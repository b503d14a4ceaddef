// Export of trained runs (issue 25): SqueezeNet 1.1 at 64×64 (recipe 1, binary head, fire modules: concatenation and
// ceil-mode pools) and MobileNetV2 at 32×32 (recipe 2, a categorical softmax head, depthwise convs with ReLU6, zero
// padding, residual adds), on a few real images. The exported ONNX file is read back by our own parser (topological
// order, every tensor typed, metadata) and run by onnxruntime-node; the TF.js layers model is loaded by
// tf.loadLayersModel; both must give `predict`'s probabilities within 1e-4 on the same decoded pixels.
import { mkdtemp, readdir, rm, writeFile, mkdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOnnx } from '../src/formats/onnx.js';
import { exportJob, type ExportJobResult } from '../src/train/export.js';
import { extractJob, featureHeadJob, imageTrainJob, nodeJobEnv, predictJob, type JobContext } from '../src/train/jobs-node.js';
import { writeExportFolder } from '../src/cli/commands/export.js';
import { testEngine } from './helpers/engine.js';
import { makeTinyDataset } from './helpers/train-data.js';

let tmp = '';
let data = '';
let images: string[] = [];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'export-'));
  data = await makeTinyDataset(join(tmp, 'data'), { train: 4, validation: 2, test: 2 });
  images = (['cats', 'dogs'] as const).flatMap((c) => [0, 1].map((i) => join(data, 'test', c, `${c.slice(0, -1)}.${1500 + i}.jpg`)));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function ctx(): Promise<JobContext> {
  return { engine: await testEngine(), runsDir: join(tmp, 'runs'), pixelCacheDir: join(tmp, 'pixels') };
}

/** Probabilities per image as `predict` gives them: [p(class 1)] for a binary head, every class's for softmax. */
async function predicted(run: string, classes: number): Promise<number[][]> {
  const r = await predictJob(await ctx(), { from: run, images });
  return r.predictions.map((p) => {
    if (classes === 1) return [p.probability];
    const row = new Array<number>(p.top.length);
    for (const t of p.top) row[t.label] = t.probability;
    return row;
  });
}

function maxDiff(a: number[][], b: ArrayLike<number>): number {
  let d = 0;
  a.flat().forEach((v, i) => (d = Math.max(d, Math.abs(v - b[i]!))));
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
  for (const n of m.graph.nodes) for (const o of n.outputs) expect(typed.get(o)?.elemType, `${o} has no type`).toBe('float');
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

async function checkExport(r: ExportJobResult, run: string, units: number, size: number): Promise<void> {
  const ours = await predicted(run, units);
  const pixels = await nodeJobEnv(await ctx()).data.decodeImages(images, size);

  const onnx = r.files.get('model.onnx')!;
  const m = checkOnnx(onnx, units, size);
  expect(JSON.parse(m.metadata['labels']!)).toEqual(['cats', 'dogs']);
  expect(m.metadata['input_size']).toBe(String(size));
  expect(m.metadata['preprocess']).toBe(r.config.preprocess);
  expect(m.metadata['backbone']).toBe(r.config.model);
  expect(m.metadata['run']).toBe(run);
  expect(m.metadata['checkpoint_sha256']).toBe(r.checkpoint.sha256);
  const po = await onnxProbabilities(onnx, pixels, size);
  expect(po.length).toBe(images.length * units);
  const dOnnx = maxDiff(ours, po);
  expect(dOnnx, `onnxruntime vs predict: ${dOnnx}`).toBeLessThan(1e-4);

  const pt = await tfjsProbabilities(r.files, pixels, size);
  const dTfjs = maxDiff(ours, pt);
  expect(dTfjs, `tf.js vs predict: ${dTfjs}`).toBeLessThan(1e-4);
  const meta = JSON.parse(new TextDecoder().decode(r.files.get('tfjs/metadata.json')!)) as Record<string, unknown>;
  expect(meta).toMatchObject({ labels: ['cats', 'dogs'], imageSize: size, modelName: run });
  for (const k of ['tfjsVersion', 'timeStamp']) expect(typeof meta[k]).toBe('string');
  expect(new TextDecoder().decode(r.files.get('README.txt')!)).toMatch(/onnxruntime/);
  console.log(`${run}: |onnx - predict| ${dOnnx.toExponential(2)}, |tfjs - predict| ${dTfjs.toExponential(2)}; probabilities ${JSON.stringify(ours.map((r) => r.map((v) => +v.toFixed(4))))}`);
}

describe('export to ONNX and TF.js', () => {
  it('SqueezeNet 1.1 (64×64, recipe 1, binary head): onnxruntime and TF.js give predict’s probabilities', async () => {
    const features = join(tmp, 'features');
    (await extractJob(await ctx(), { model: 'squeezenet1_1', data, out: features, inputSize: 64, batch: 4, onBadImage: 'fail' })).loaded.backbone.model.dispose();
    await featureHeadJob(await ctx(), { features, epochs: 2, batch: 4, name: 'sq' });
    const r = await exportJob(nodeJobEnv(await ctx()), { from: 'sq', formats: ['onnx', 'tfjs'] });
    await checkExport(r, 'sq', 1, 64);
  }, 240_000);

  it('MobileNetV2 (32×32, recipe 2, categorical head): onnxruntime and TF.js give predict’s probabilities', async () => {
    await imageTrainJob(await ctx(), { model: 'mobilenet_v2', data, inputSize: 32, steps: 1, validationSteps: 1, epochs: 1, batch: 4, name: 'mb', classMode: 'categorical' });
    const r = await exportJob(nodeJobEnv(await ctx()), { from: 'mb', formats: ['onnx', 'tfjs'] });
    await checkExport(r, 'mb', 2, 32);
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
