import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine/index.js';
import { readNpyFolder } from '../src/formats/npy-folder-node.js';
import { parameterCount } from '../src/formats/tensor.js';
import type { NamedArrays } from '../src/formats/types.js';
import { MOBILENET_V2_FEATURES, mobileNetV2WeightsFromOnnx } from '../src/models/mobilenet_v2.js';
import { createBackbone } from '../src/models/registry.js';
import type { Backbone } from '../src/models/types.js';
import { InvertedResidual } from '../src/nn/layers/inverted-residual.js';
import { INFERENCE } from '../src/nn/layer.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../src/util/preprocess.js';
import { testEngine } from './helpers/engine.js';
import { mobileNetV2Reference } from './helpers/model-reference.js';
import { relErr } from './helpers/small-ops.js';

const shared = path.resolve(import.meta.dirname, '..', '../shared');
// About 50 distinct pipelines (every layer shape is baked into its kernel): on a software rasteriser with a cold
// shader cache their compilation, not the forward pass, takes minutes.
const COLD_COMPILE_TIMEOUT = 900_000;
const IMAGES = ['data/cats_and_dogs_small/test/cats/cat.1500.jpg', 'data/cats_and_dogs_small/test/dogs/dog.1500.jpg'];

/** RGB at 224×224 (sharp), scaled to [0, 1] and normalised with the ImageNet mean and std, NHWC. */
async function loadImages(files: string[], size: number): Promise<Float32Array> {
  const out = new Float32Array(files.length * size * size * 3);
  for (const [k, f] of files.entries()) {
    const { data, info } = await sharp(path.join(shared, f)).removeAlpha().resize(size, size, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([size, size, 3]);
    for (let i = 0; i < size * size * 3; i++) out[k * size * size * 3 + i] = (data[i]! / 255 - IMAGENET_MEAN[i % 3]!) / IMAGENET_STD[i % 3]!;
  }
  return out;
}

describe('MobileNetV2 1.0 on the real weights', () => {
  let e: Engine;
  let onnx: NamedArrays;
  let backbone: Backbone;
  let status: ReturnType<Backbone['loadWeights']>;
  const warnings: string[] = [];

  beforeAll(async () => {
    e = await testEngine();
    onnx = await readNpyFolder(path.join(shared, 'weights/mobilenet_v2/weights'));
    backbone = createBackbone('mobilenet_v2', e, { logger: { warn: (m) => warnings.push(m) } });
    // Here, not in the first test: every test uses the loaded weights (and passes when run alone).
    status = backbone.loadWeights(onnx, { source: 'mobilenet_v2/weights' });
  });

  it('maps the 104 ONNX convolution tensors (2,206,816 parameters; depthwise [C,1,3,3] → [3,3,C,1]) onto named blocks', () => {
    expect(warnings).toEqual([]);
    const convs = [...onnx.keys()].filter((n) => n.startsWith('conv_'));
    expect(convs.length).toBe(104);
    expect(status).toMatchObject({ pretrained: true, parameters: 2_206_816 });
    expect(backbone.model.countParams()).toBe(parameterCount(new Map([...onnx].filter(([n]) => n.startsWith('conv_')))));
    expect(backbone.featureShape).toEqual([MOBILENET_V2_FEATURES]);
    expect(backbone.model.layer('Conv_1').inputShape).toEqual([7, 7, 320]);
    expect(backbone.model.weightShapes().get('block_16_depthwise/depthwise_kernel')).toEqual([3, 3, 960, 1]);
    const blocks = backbone.model.layers.filter((l): l is InvertedResidual => l instanceof InvertedResidual);
    expect(blocks.length).toBe(17);
    // The residual connection exists exactly where stride is 1 and channels are unchanged (10 blocks).
    expect(blocks.filter((b) => b.hasResidual).map((b) => b.name)).toEqual(
      ['block_2', 'block_4', 'block_5', 'block_7', 'block_8', 'block_9', 'block_11', 'block_12', 'block_14', 'block_15'],
    );
  });

  it('pooled 1280-d features of two real images equal the float64 reference forward of the same files (≤ 1e-4)', async () => {
    const x = await loadImages(IMAGES, 224);
    const tx = e.upload(x, [2, 224, 224, 3]);
    const y = e.tidy(() => e.noGrad(() => backbone.model.forward(tx, INFERENCE)));
    expect(y.shape).toEqual([2, 1280]);
    const got = await y.readF32();
    tx.dispose();
    y.dispose();
    const ref = mobileNetV2Reference(onnx, x, 2, 224);
    expect(relErr(got, ref), 'normwise relative error').toBeLessThanOrEqual(1e-4);
    for (let k = 0; k < 2; k++) expect(relErr(got.subarray(k * 1280, (k + 1) * 1280), ref.subarray(k * 1280, (k + 1) * 1280)), IMAGES[k]).toBeLessThanOrEqual(1e-4);
    // Real features: non-negative (ReLU6 then a mean), not all zero, and different for a cat and a dog.
    expect(got.every((v) => v >= 0 && v <= 6)).toBe(true);
    expect(relErr(got.subarray(0, 1280), got.subarray(1280))).toBeGreaterThan(0.1);
  }, COLD_COMPILE_TIMEOUT);

  it('fine-tuning opens the last two inverted-residual blocks and Conv_1 only', () => {
    expect(backbone.topLayerNames).toEqual(['block_15', 'block_16', 'Conv_1']);
    backbone.model.trainOnly(backbone.topLayerNames);
    const names = backbone.model.trainableParams().map((p) => p.name!);
    expect(names).toEqual([
      ...['block_15', 'block_16'].flatMap((b) => [`${b}_expand/kernel`, `${b}_expand/bias`, `${b}_depthwise/depthwise_kernel`, `${b}_depthwise/bias`, `${b}_project/kernel`, `${b}_project/bias`]),
      'Conv_1/kernel',
      'Conv_1/bias',
    ]);
    expect(backbone.model.layer('block_14_project').param('kernel').requiresGrad).toBe(false);
  });

  it('refuses an unknown tensor in the folder', () => {
    const extra: NamedArrays = new Map(onnx);
    extra.set('conv_3_weight', onnx.get('conv_2_weight')!);
    expect(() => mobileNetV2WeightsFromOnnx(extra)).toThrow(/unexpected tensor 'conv_3_weight'/);
  });
});
