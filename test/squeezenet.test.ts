import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine/index.js';
import { readNpyFolder } from '../src/formats/npy-folder-node.js';
import { parseNpy } from '../src/formats/npy.js';
import { parameterCount } from '../src/formats/tensor.js';
import type { NamedArrays } from '../src/formats/types.js';
import { createBackbone } from '../src/models/registry.js';
import { buildSqueezeNet11, squeezeNetWeightsFromGluon } from '../src/models/squeezenet1_1.js';
import { INFERENCE } from '../src/nn/layer.js';
import type { Sequential } from '../src/nn/sequential.js';
import { testEngine } from './helpers/engine.js';
import { relErr } from './helpers/small-ops.js';

const shared = path.resolve(import.meta.dirname, '..', '../shared/weights/squeezenet1_1');

/** input_0.npy is NCHW [1, 3, 224, 224]; the engine is NHWC. */
function nchwToNhwc(data: Float32Array, [n, c, h, w]: number[]): Float32Array {
  const out = new Float32Array(data.length);
  for (let b = 0; b < n!; b++)
    for (let ch = 0; ch < c!; ch++)
      for (let y = 0; y < h!; y++) for (let x = 0; x < w!; x++) out[((b * h! + y) * w! + x) * c! + ch] = data[((b * c! + ch) * h! + y) * w! + x]!;
  return out;
}

function argmax(a: ArrayLike<number>): number {
  let k = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[k]!) k = i;
  return k;
}

describe('SqueezeNet 1.1 on the real weights', () => {
  let e: Engine;
  let gluon: NamedArrays;
  let model: Sequential;

  beforeAll(async () => {
    e = await testEngine();
    gluon = await readNpyFolder(path.join(shared, 'weights'));
    model = buildSqueezeNet11(e, { includeTop: true });
    model.setWeights(squeezeNetWeightsFromGluon(gluon, { includeTop: true }), { source: 'squeezenet1_1/weights' });
  });

  it('maps all 52 Gluon tensors (1,235,496 parameters, OIHW → HWIO) onto the layers', () => {
    expect(gluon.size).toBe(52);
    expect(model.countParams()).toBe(parameterCount(gluon));
    expect(model.countParams()).toBe(1_235_496);
    expect(model.weightShapes().get('fire2/expand3x3/kernel')).toEqual([3, 3, 16, 64]);
    expect(model.weightShapes().get('conv10/kernel')).toEqual([1, 1, 512, 1000]);
    expect(model.outputShape).toEqual([1000]);
    expect(model.layer('fire9').outputShape).toEqual([13, 13, 512]);
  });

  it('reproduces the reference scores of the three test inputs (max |Δ| ≤ 1e-2, same top-1)', async () => {
    for (const k of [0, 1, 2]) {
      const dir = path.join(shared, `test_data_set_${k}`);
      const input = parseNpy(new Uint8Array(readFileSync(path.join(dir, 'input_0.npy'))));
      const expected = parseNpy(new Uint8Array(readFileSync(path.join(dir, 'output_0.npy')))).data as Float32Array;
      expect(input.shape).toEqual([1, 3, 224, 224]);
      const x = e.upload(nchwToNhwc(input.data as Float32Array, input.shape), [1, 224, 224, 3]);
      const y = e.tidy(() => e.noGrad(() => model.forward(x, INFERENCE)));
      const scores = await y.readF32();
      x.dispose();
      y.dispose();
      expect(scores.length).toBe(expected.length);
      let maxDiff = 0;
      for (let i = 0; i < scores.length; i++) maxDiff = Math.max(maxDiff, Math.abs(scores[i]! - expected[i]!));
      expect(Number.isFinite(maxDiff) && scores.every(Number.isFinite), `set ${k}: non-finite scores`).toBe(true);
      expect(maxDiff, `set ${k}: max |Δ| ${maxDiff} (top score ${Math.max(...expected)})`).toBeLessThanOrEqual(1e-2);
      expect(argmax(scores), `set ${k} top-1`).toBe(argmax(expected));
      expect(relErr(scores, expected)).toBeLessThanOrEqual(1e-5);
    }
  });

  it('as a backbone: 512-d pooled features = the mean of fire9 over space; fine-tuning opens fire8 and fire9', async () => {
    const warnings: string[] = [];
    const b = createBackbone('squeezenet1_1', e, { logger: { warn: (m) => warnings.push(m) } });
    const status = b.loadWeights(gluon, { source: 'squeezenet1_1/weights' });
    expect(status).toMatchObject({ pretrained: true, parameters: 1_235_496 - 512 * 1000 - 1000 });
    expect(warnings).toEqual([]);
    expect(b.featureShape).toEqual([512]);
    expect(b.defaultPreprocess).toBe('imagenet');
    const input = parseNpy(new Uint8Array(readFileSync(path.join(shared, 'test_data_set_0', 'input_0.npy'))));
    const x = e.upload(nchwToNhwc(input.data as Float32Array, input.shape), [1, 224, 224, 3]);
    const features = e.tidy(() => e.noGrad(() => b.model.forward(x, INFERENCE)));
    const fire9 = e.tidy(() => e.noGrad(() => model.forwardUntil(x, 'fire9', INFERENCE)));
    const f = await features.readF32();
    const m = await fire9.readF32();
    const mean = new Float64Array(512);
    for (let i = 0; i < m.length; i++) mean[i % 512] += m[i]! / 169;
    expect(relErr(f, mean)).toBeLessThanOrEqual(1e-5);
    b.model.trainOnly(b.topLayerNames);
    expect(b.model.trainableParams().map((p) => p.name)).toEqual(
      ['fire8', 'fire9'].flatMap((f) => ['squeeze1x1', 'expand1x1', 'expand3x3'].flatMap((p) => [`${f}/${p}/kernel`, `${f}/${p}/bias`])),
    );
    for (const t of [x, features, fire9]) t.dispose();
    b.model.dispose();
  });

  it('refuses weights of the wrong network, naming the tensor', () => {
    const wrong: NamedArrays = new Map(gluon);
    wrong.set('squeezenet0_conv26_weight', gluon.get('squeezenet0_conv25_weight')!);
    expect(() => squeezeNetWeightsFromGluon(wrong)).toThrow(/squeezenet0_conv26_weight/);
    const transposed: NamedArrays = new Map(gluon);
    const w = gluon.get('squeezenet0_conv4_weight')!;
    transposed.set('squeezenet0_conv4_weight', { shape: [128, 16, 1, 1], data: w.data });
    expect(() => model.setWeights(squeezeNetWeightsFromGluon(transposed, { includeTop: true }))).toThrow(
      /'fire3\/squeeze1x1\/kernel': expected shape \[1, 1, 128, 16\], found \[1, 1, 16, 128\]/,
    );
  });
});
