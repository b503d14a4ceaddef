import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/engine/index.js';
import { parseNpy } from '../src/formats/npy.js';
import { parseOnnx } from '../src/formats/onnx.js';
import { runOnnx } from '../src/models/onnx/run.js';
import { relErr } from './helpers/small-ops.js';

/*
 * Whole networks exported by PyTorch (../shared/onnx, see its README) run on this engine's GPU path: four real
 * photos in, PyTorch's logits and the classifier's input (features) out, within 1e-3 normwise relative error.
 */
const ROOT = join(import.meta.dirname, '../../shared/onnx');
const NETWORKS = ['squeezenet1_1_real', 'resnet18', 'mobilenet_v3_small', 'efficientnet_b0'];

function npy(dir: string, file: string): { shape: number[]; data: Float32Array } {
  const t = parseNpy(readFileSync(join(ROOT, dir, file)), file);
  return { shape: [...t.shape], data: Float32Array.from(t.data as ArrayLike<number>) };
}

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create();
});
afterAll(() => engine.destroy());

describe('imported networks on the GPU against PyTorch', () => {
  for (const name of NETWORKS) {
    it(`${name}: logits and features`, async () => {
      const model = parseOnnx(readFileSync(join(ROOT, name, 'model.onnx')), `${name}/model.onnx`);
      const input = npy(name, 'input.npy');
      const featuresAt = readFileSync(join(ROOT, name, 'features.txt'), 'utf8').trim();
      const out = await runOnnx(engine, model, new Map([[model.graph.inputs[0]!.name, input]]), { outputs: ['logits', featuresAt] });
      const logits = npy(name, 'logits.npy');
      const features = npy(name, 'features.npy');
      expect(out.get('logits')!.shape).toEqual(logits.shape);
      const el = relErr(out.get('logits')!.data, logits.data);
      const ef = relErr(out.get(featuresAt)!.data, features.data);
      expect(el, `${name} logits: normwise relative error ${el}`).toBeLessThan(1e-3);
      expect(ef, `${name} features at ${featuresAt}: normwise relative error ${ef}`).toBeLessThan(1e-3);
    });
  }
});

describe('PyTorch exports at several opsets on the GPU (test/onnx-fixtures: view, channel shuffle, split, BatchNorm nodes)', () => {
  const FIXTURES = join(import.meta.dirname, 'onnx-fixtures');
  for (const f of ['mix_opset9_bn', 'mix_opset11_bn', 'mix_opset13_bn', 'mix_opset13_folded', 'mix_opset17_bn']) {
    it(f, async () => {
      const model = parseOnnx(readFileSync(join(FIXTURES, f, 'model.onnx')), `${f}/model.onnx`);
      const x = parseNpy(readFileSync(join(FIXTURES, f, 'input.npy')));
      const want = Float32Array.from(parseNpy(readFileSync(join(FIXTURES, f, 'logits.npy'))).data as Float32Array);
      const out = await runOnnx(engine, model, new Map([[model.graph.inputs[0]!.name, { shape: [...x.shape], data: Float32Array.from(x.data as Float32Array) }]]));
      const got = out.get(model.graph.outputs[0]!.name)!;
      const err = relErr(got.data, want);
      expect(err, `${f}: normwise relative error ${err}`).toBeLessThan(1e-3);
    });
  }
});
