// `webgpu-transfer export` as users run it (spawned CLI): a tiny recipe-1 run (SqueezeNet 1.1 at 64×64) exported to
// its export/ folder, the files loaded from disk by onnxruntime-node and tf.loadLayersModel; bad uses fail with the
// flag or file named, a non-zero exit and nothing written.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleCli, runCli, type CliRun } from './helpers/cli.js';
import { makeTinyDataset } from './helpers/train-data.js';

let cli = '';
let removeCli: (() => Promise<void>) | undefined;
let dir = '';
const run = (args: string[]): Promise<CliRun> => runCli(cli, args, dir);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'export-cli-'));
  await makeTinyDataset(join(dir, 'data'), { train: 3, validation: 1, test: 1 });
  const bundled = await bundleCli('export-cli-test');
  cli = bundled.cli;
  removeCli = bundled.remove;
  const ex = await run(['extract', '--model', 'squeezenet1_1', '--data', 'data', '--out', 'feats', '--input-size', '64', '--batch', '2', '--cache-dir', 'pixels']);
  if (ex.code !== 0) throw new Error(`extract failed: ${ex.stderr}`);
  const tr = await run(['train-head', '--features', 'feats', '--epochs', '1', '--batch', '2', '--name', 'h1']);
  if (tr.code !== 0) throw new Error(`train-head failed: ${tr.stderr}`);
}, 300_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await removeCli?.();
});

/** A tf.io handler that reads model.json and its shards from a folder (what tfjs-node's file:// handler does). */
function folderHandler(folder: string): tf.io.IOHandler {
  return {
    load: async () => {
      const json = JSON.parse(await readFile(join(folder, 'model.json'), 'utf8')) as { modelTopology: object; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
      const g = json.weightsManifest[0]!;
      const parts = await Promise.all(g.paths.map((p) => readFile(join(folder, p))));
      const all = Buffer.concat(parts);
      return { modelTopology: json.modelTopology, weightSpecs: g.weights, weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) };
    },
  };
}

describe('webgpu-transfer export (spawned CLI)', () => {
  it('writes model.onnx, tfjs/ and README.txt into the run’s export/ folder; both load from disk and agree', async () => {
    const r = await run(['export', '--from', 'h1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Exported run h1 \(squeezenet1_1, 64×64, checkpoint epoch 1\) to .*runs\/h1\/export/);
    const out = join(dir, 'runs', 'h1', 'export');
    expect((await readdir(out)).sort()).toEqual(['README.txt', 'model.onnx', 'tfjs']);
    expect((await readdir(join(out, 'tfjs'))).sort()).toEqual(['group1-shard1of1.bin', 'metadata.json', 'model.json']);
    expect((await readdir(join(dir, 'runs', 'h1'))).filter((f) => f.includes('.tmp-'))).toEqual([]);
    const meta = JSON.parse(await readFile(join(out, 'tfjs', 'metadata.json'), 'utf8')) as Record<string, unknown>;
    expect(meta).toMatchObject({ labels: ['cats', 'dogs'], imageSize: 64, modelName: 'h1', tfjsVersion: '4.22.0' });

    const x = Float32Array.from({ length: 2 * 64 * 64 * 3 }, (_, i) => (i * 37) % 256);
    const s = await ort.InferenceSession.create(join(out, 'model.onnx'));
    const po = (await s.run({ image: new ort.Tensor('float32', x, [2, 64, 64, 3]) }))['probabilities']!;
    await s.release();
    expect(po.dims).toEqual([2, 1]);
    const model = await tf.loadLayersModel(folderHandler(join(out, 'tfjs')));
    const y = model.predict(tf.tensor4d(x, [2, 64, 64, 3])) as tf.Tensor;
    const pt = await y.data();
    model.dispose();
    for (let i = 0; i < 2; i++) expect(Math.abs(pt[i]! - (po.data as Float32Array)[i]!)).toBeLessThan(1e-4);
  }, 120_000);

  it('--format onnx writes only the ONNX file; an existing non-empty --out is refused unless --force', async () => {
    const only = await run(['export', '--from', 'h1', '--format', 'onnx', '--out', 'onnx-only', '--json']);
    expect(only.code, only.stderr).toBe(0);
    const lines = only.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(lines[lines.length - 1]).toMatchObject({ type: 'done', formats: ['onnx'] });
    expect((await readdir(join(dir, 'onnx-only'))).sort()).toEqual(['README.txt', 'model.onnx']);
    const again = await run(['export', '--from', 'h1', '--format', 'onnx', '--out', 'onnx-only']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/onnx-only exists and is not empty \(pass --force to replace it\)/);
    const forced = await run(['export', '--from', 'h1', '--format', 'tfjs', '--out', 'onnx-only', '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect((await readdir(join(dir, 'onnx-only'))).sort()).toEqual(['README.txt', 'tfjs']);
  }, 120_000);

  it('bad uses: an unknown run, a run without a checkpoint, --out a file, an unknown format', async () => {
    await mkdir(join(dir, 'runs', 'bare'), { recursive: true });
    await writeFile(join(dir, 'runs', 'bare', 'config.json'), await readFile(join(dir, 'runs', 'h1', 'config.json')));
    await writeFile(join(dir, 'a-file'), 'x');
    const cases: [string[], RegExp][] = [
      [['export', '--from', 'nope'], /nope/],
      [['export', '--from', 'bare'], /checkpoint\.safetensors does not exist/],
      [['export', '--from', 'h1', '--out', 'a-file'], /--out .*a-file is a file, not a folder/],
      [['export', '--from', 'h1', '--format', 'keras'], /argument 'keras' is invalid/],
    ];
    for (const [args, message] of cases) {
      const r = await run(args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
    }
    expect(existsSync(join(dir, 'runs', 'bare', 'export'))).toBe(false);
    expect(existsSync(join(dir, 'runs', 'nope'))).toBe(false);
    expect((await readdir(dir)).filter((f) => f.includes('.tmp-'))).toEqual([]);
  }, 120_000);

  it('an imported ONNX base exports to ONNX only: --format all is refused with the way out, --format onnx runs', async () => {
    const model = join(import.meta.dirname, '../../shared/onnx/squeezenet1_1_real/model.onnx');
    const ex = await run(['extract', '--model', model, '--data', 'data', '--out', 'feats-onnx', '--input-size', '64', '--batch', '2', '--cache-dir', 'pixels']);
    expect(ex.code, ex.stderr).toBe(0);
    const tr = await run(['train-head', '--features', 'feats-onnx', '--epochs', '1', '--batch', '2', '--name', 'onnx-base']);
    expect(tr.code, tr.stderr).toBe(0);
    const r = await run(['export', '--from', 'onnx-base']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/the run's base is an imported ONNX network \(.*model\.onnx\); TF\.js layers cannot express an arbitrary ONNX graph: export it with --format onnx/);
    expect(existsSync(join(dir, 'runs', 'onnx-base', 'export'))).toBe(false);
    const ok = await run(['export', '--from', 'onnx-base', '--format', 'onnx']);
    expect(ok.code, ok.stderr).toBe(0);
    const s = await ort.InferenceSession.create(join(dir, 'runs', 'onnx-base', 'export', 'model.onnx'));
    const x = Float32Array.from({ length: 64 * 64 * 3 }, (_, i) => (i * 53) % 256);
    const p = (await s.run({ image: new ort.Tensor('float32', x, [1, 64, 64, 3]) }))['probabilities']!;
    await s.release();
    expect(p.dims).toEqual([1, 1]);
  }, 180_000);
});
