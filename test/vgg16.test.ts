import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { NamedArrays } from '../src/formats/types.js';
import { buildVgg16, kerasWeightName, loadVgg16Weights, VGG16_PARAMETERS, VGG16_WEIGHTS_PATH, vgg16ConvNames } from '../src/models/index.js';
import { createBackbone } from '../src/models/registry.js';
import { INFERENCE } from '../src/nn/layer.js';
import { sameBytes } from './helpers/bytes.js';
import { testEngine } from './helpers/engine.js';
import { vgg16Reference } from './helpers/model-reference.js';
import { expectClose, FWD_TOL, randomArray } from './helpers/small-ops.js';

const repoRoot = path.resolve(import.meta.dirname, '..');
const fragment = path.resolve(repoRoot, '../shared/weights/vgg16-fragment/model.json');

function logger() {
  const warnings: string[] = [];
  return { warnings, warn: (m: string) => warnings.push(m) };
}

describe('VGG16 convolutional base', () => {
  it('has the Keras layer names, 14,714,688 parameters and the names and shapes of the Keras weights manifest', async () => {
    const e = await testEngine();
    const model = buildVgg16(e, { inputSize: 32 });
    const names = model.layers.map((l) => l.name);
    expect(names[0]).toBe('block1_conv1');
    expect(names.at(-1)).toBe('block5_pool');
    expect(names.filter((n) => n.endsWith('_pool'))).toEqual(['block1_pool', 'block2_pool', 'block3_pool', 'block4_pool', 'block5_pool']);
    expect(names.filter((n) => n.includes('_conv'))).toEqual(vgg16ConvNames());
    expect(model.countParams()).toBe(VGG16_PARAMETERS);
    // The TF.js conversion of the Keras ImageNet file lists every weight with its HWIO shape, in order.
    const manifest = JSON.parse(readFileSync(fragment, 'utf8')) as { weightsManifest: { weights: { name: string; shape: number[] }[] }[] };
    const keras = manifest.weightsManifest.flatMap((g) => g.weights).map((w) => [kerasWeightName(w.name), w.shape]);
    expect([...model.weightShapes()]).toEqual(keras);
    expect(keras.reduce((a, [, s]) => a + (s as number[]).reduce((x, d) => x * d, 1), 0)).toBe(VGG16_PARAMETERS);
    model.dispose();
  });

  it('maps any input from 32×32 up to its feature shape (150 → 4×4×512) without running it', async () => {
    const e = await testEngine();
    const model = buildVgg16(e, { inputSize: 32 });
    const floor5 = (s: number): number => [1, 2, 3, 4, 5].reduce((d) => Math.floor(d / 2), s);
    for (const s of [32, 33, 63, 150, 224, 301]) expect(model.computeOutputShape([s, s, 3])).toEqual([floor5(s), floor5(s), 512]);
    expect(model.computeOutputShape([150, 150, 3])).toEqual([4, 4, 512]);
    expect(() => model.computeOutputShape([31, 31, 3])).toThrow(/smaller than the pool size/);
    expect(() => buildVgg16(e, { inputSize: 31 })).toThrow(/at least 32/);
    const summary = model.summary();
    expect(summary).toMatch(/block5_pool \(MaxPooling2D\)\s+\(None, 1, 1, 512\)\s+0/);
    expect(summary).toContain('Total params: 14,714,688');
    model.dispose();
  });

  it('freezes per layer: fine-tuning trains block5_conv1..3 only', async () => {
    const e = await testEngine();
    const b = createBackbone('vgg16', e, { inputSize: 32, logger: logger() });
    expect(b.featureShape).toEqual([1, 1, 512]);
    expect(b.topLayerNames).toEqual(['block5_conv1', 'block5_conv2', 'block5_conv3']);
    b.model.trainOnly(b.topLayerNames);
    const trainable = b.model.trainableParams();
    expect(trainable.map((p) => p.name)).toEqual(b.topLayerNames.flatMap((n) => [`${n}/kernel`, `${n}/bias`]));
    expect(trainable.reduce((a, p) => a + p.size, 0)).toBe(3 * (3 * 3 * 512 * 512 + 512));
    for (const p of b.model.layer('block4_conv3').params()) expect(p.requiresGrad).toBe(false);
    b.model.dispose();
  });

  it('loads Keras-named weights (also ":0" and nested names) and names the tensor, expected and found shape when one is wrong', async () => {
    const e = await testEngine();
    const source = buildVgg16(e, { inputSize: 32, seed: 1 });
    const target = buildVgg16(e, { inputSize: 32, seed: 2 });
    const weights = await source.getWeights();
    source.dispose();
    const keras2: NamedArrays = new Map([...weights].map(([n, t], i) => [i % 2 ? `${n}:0` : `${n.split('/')[0]}/${n}:0`, t]));
    const log = logger();
    const status = loadVgg16Weights(target, keras2, { logger: log, source: 'vgg16.h5' });
    expect(status).toMatchObject({ pretrained: true, source: 'vgg16.h5', parameters: VGG16_PARAMETERS });
    expect(log.warnings).toEqual([]);
    const back = await target.getWeights();
    expect([...back.keys()]).toEqual([...weights.keys()]);
    for (const name of weights.keys()) {
      const a = weights.get(name)!.data as Float32Array;
      const b = back.get(name)!.data as Float32Array;
      expect(sameBytes(a, b), name).toBe(true);
    }
    const wrong: NamedArrays = new Map(weights);
    wrong.set('block1_conv1/kernel', { shape: [64, 3, 3, 3], data: weights.get('block1_conv1/kernel')!.data });
    expect(() => loadVgg16Weights(target, wrong, { logger: log, source: 'bad.safetensors' })).toThrow(
      /bad\.safetensors: tensor 'block1_conv1\/kernel': expected shape \[3, 3, 3, 64\], found \[64, 3, 3, 3\]/,
    );
    const partial: NamedArrays = new Map([...weights].filter(([n]) => !n.startsWith('block2_conv2')));
    expect(() => loadVgg16Weights(target, partial, { logger: log })).toThrow(/missing tensors: block2_conv2\/kernel, block2_conv2\/bias/);
    target.dispose();
  });

  it('without weights keeps a seeded Glorot base and says so loudly through the logger', async () => {
    const e = await testEngine();
    const log = logger();
    const b = createBackbone('vgg16', e, { inputSize: 32, seed: 9, logger: log });
    const status = b.loadWeights(null);
    expect(status.pretrained).toBe(false);
    expect(status.source).toBe('glorot-uniform(seed 9)');
    expect(log.warnings).toHaveLength(1);
    expect(status.warning).toBe(log.warnings[0]);
    expect(log.warnings[0]).toMatch(/WARNING: NO PRETRAINED WEIGHTS FOR VGG16/);
    expect(log.warnings[0]).toContain(VGG16_WEIGHTS_PATH);
    expect(log.warnings[0]!.split('\n').length).toBeGreaterThanOrEqual(5);
    // Biases are zero and every kernel lies within its Glorot bound.
    const w = await b.model.getWeights();
    expect((w.get('block5_conv3/bias')!.data as Float32Array).every((v) => v === 0)).toBe(true);
    const k = w.get('block1_conv2/kernel')!.data as Float32Array;
    expect(k.reduce((m, v) => Math.max(m, Math.abs(v)), 0)).toBeLessThanOrEqual(Math.sqrt(6 / (9 * 64 + 9 * 64)));
    b.model.dispose();
  });

  it('a 32×32 forward matches the float64 reference of the same weights', async () => {
    const e = await testEngine();
    const model = buildVgg16(e, { inputSize: 32, seed: 3 });
    const x = randomArray(32 * 32 * 3, 5, 0, 1);
    const tx = e.upload(x, [1, 32, 32, 3]);
    const y = e.tidy(() => e.noGrad(() => model.forward(tx, INFERENCE)));
    expect(y.shape).toEqual([1, 1, 1, 512]);
    const ref = vgg16Reference(await model.getWeights(), x, 32);
    expectClose(await y.readF32(), ref, FWD_TOL, 'VGG16 features');
    for (const t of [tx, y]) t.dispose();
    model.dispose();
  });
});
