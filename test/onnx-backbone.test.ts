// An imported ONNX network as a transfer-learning base: the same features as the built-in backbone it mirrors,
// recipe 3's fine-tuning moving exactly the unfrozen weights, and Grad-CAM at a convolution inside the graph.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/engine/index.js';
import { bceWithLogits } from '../src/nn/functional/index.js';
import { gradCam, gradCamLayers } from '../src/nn/gradcam.js';
import { INFERENCE } from '../src/nn/layer.js';
import { RMSprop } from '../src/nn/optim/index.js';
import { createOnnxBackbone, layersFrom } from '../src/models/onnx/backbone.js';
import { Graph } from '../src/nn/graph.js';
import { createBackbone } from '../src/models/registry.js';
import { readBackboneWeights } from '../src/models/weights-node.js';
import { parseOnnx } from '../src/formats/onnx.js';
import { buildTransferModel } from '../src/train/model.js';
import { Rng } from '../src/util/rng.js';
import { relErr } from './helpers/small-ops.js';

const ONNX = join(import.meta.dirname, '../../shared/onnx');
const model = (name: string) => parseOnnx(readFileSync(join(ONNX, name, 'model.onnx')), `${name}/model.onnx`);

let e: Engine;
beforeAll(async () => {
  e = await Engine.create({ poisonReleased: true });
});
afterAll(() => e.destroy());

function images(n: number, size: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n * size * size * 3 }, () => rng.uniform(-2, 2));
}

describe('an ONNX file as the base', () => {
  it('SqueezeNet 1.1 from PyTorch gives the built-in SqueezeNet\'s pooled features (same ImageNet weights)', async () => {
    const onnx = createOnnxBackbone(e, 'squeezenet1_1.onnx', model('squeezenet1_1_real'));
    const builtin = createBackbone('squeezenet1_1', e, { logger: { warn: () => undefined } });
    builtin.loadWeights(await readBackboneWeights('squeezenet1_1', join(import.meta.dirname, '../../shared/weights/squeezenet1_1/weights')));
    expect(onnx.featureShape).toEqual(builtin.featureShape);
    const x = e.upload(images(2, 224, 1), [2, 224, 224, 3]);
    const a = await e.tidy(() => onnx.model.forward(x, INFERENCE)).readF32();
    const b = await e.tidy(() => builtin.model.forward(x, INFERENCE)).readF32();
    const err = relErr(a, b);
    expect(err, `normwise relative difference ${err}`).toBeLessThan(1e-4);
    x.dispose();
    onnx.model.dispose();
    builtin.model.dispose();
  });

  it('ResNet-18: fine-tuning its last stage moves exactly those weights, and Grad-CAM explains a convolution inside the graph', async () => {
    const bb = createOnnxBackbone(e, 'resnet18.onnx', model('resnet18'), { inputSize: 64 });
    expect(bb.featureShape).toEqual([512]);
    const full = buildTransferModel(e, bb.model, 64, 0);
    const base = bb.model.layers[0] as Graph;
    // The last stage: everything from layer4's first convolution on (what --trainable-from names).
    const stage = base.nodes.find((n) => n.op === 'Conv' && n.name.includes('layer4'))!;
    const trained = layersFrom(base, stage.outputs[0]!);
    expect(trained.length).toBeGreaterThanOrEqual(5);
    full.trainOnly([...trained, ...full.layers.slice(1).map((l) => l.name)]);
    const before = await full.getWeights();
    const opt = new RMSprop(full.trainableParams(), { lr: 1e-3 });
    const x = e.upload(images(2, 64, 2), [2, 64, 64, 3]);
    const y = e.upload(Float32Array.of(0, 1), [2]);
    e.tidy(() => {
      const loss = bceWithLogits(full.forward(x, { training: true, seed: 0, step: 0 }).reshape([-1]), y);
      e.tape.backward(loss);
      opt.step();
      opt.zeroGrad();
    });
    const after = await full.getWeights();
    const trainedParams = new Set(full.trainableParams().map((t) => t.name));
    let moved = 0;
    for (const [name, w] of before) {
      const same = w.data.every((v, i) => v === after.get(name)!.data[i]);
      if (trainedParams.has(name)) moved += same ? 0 : 1;
      else expect(same, `${name} is frozen and must not change`).toBe(true);
    }
    expect(moved, 'every trained parameter moved').toBe(trainedParams.size);

    const layers = gradCamLayers(full).map((l) => l.name);
    expect(layers).toContain(stage.layer!.name);
    const cam = await gradCam(full, x, { layer: stage.layer!.name });
    expect(cam.height).toBe(2);
    expect(cam.heatmaps.every((h) => h.every((v) => Number.isFinite(v) && v >= 0))).toBe(true);
    expect(cam.heatmaps.some((h) => h.some((v) => v > 0))).toBe(true);
    x.dispose();
    y.dispose();
    opt.dispose?.();
    full.dispose();
  });
});
