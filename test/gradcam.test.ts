import { describe, expect, it } from 'vitest';
import { resizeBilinear, weightedChannelSumRelu, channelMeans } from '../src/kernels/gradcam.js';
import { gradCam, gradCamDefaultLayer, gradCamLayers } from '../src/nn/gradcam.js';
import { Conv2D, Dense, Flatten, MaxPool2D } from '../src/nn/layers/index.js';
import { Sequential } from '../src/nn/sequential.js';
import { refConv2d, refConv2dBackward, refConvGeometry } from '../src/reference/conv2d.js';
import { refGradCamMap, refResizeBilinear } from '../src/reference/gradcam.js';
import { refDense, refDenseBackward } from '../src/reference/matmul.js';
import { refMaxPool, refMaxPoolBackward } from '../src/reference/pool.js';
import { buildMobileNetV2 } from '../src/models/mobilenet_v2.js';
import { buildSqueezeNet11 } from '../src/models/squeezenet1_1.js';
import { buildVgg16 } from '../src/models/vgg16.js';
import { buildTransferModel } from '../src/train/model.js';
import { heatmapOverlay, normaliseHeatmap, resizeMap, viridis } from '../src/train/heatmap.js';
import { Rng } from '../src/util/rng.js';
import { testEngine } from './helpers/engine.js';
import { expectClose, poisoned, randomArray, size } from './helpers/small-ops.js';

const TOL = 1e-4;

describe('Grad-CAM kernels against the float64 reference', () => {
  const resizeCases: [number[], number, number][] = [
    [[2, 3, 4], 12, 16],
    [[1, 5, 5, 3], 17, 9],
    [[2, 13, 13], 224, 224],
    [[1, 8, 6, 2], 4, 3], // downsampling
    [[1, 1, 1], 5, 7],
  ];
  for (const [shape, oh, ow] of resizeCases) {
    it(`bilinear resize [${shape}] → ${oh}×${ow}`, async () => {
      const e = await testEngine();
      await e.tidyAsync(async () => {
        const data = randomArray(size(shape), 3);
        const out = resizeBilinear(e, e.upload(data, shape), oh, ow, poisoned(e, shape.length === 3 ? [shape[0]!, oh, ow] : [shape[0]!, oh, ow, shape[3]!]));
        expectClose(await out.readF32(), refResizeBilinear(data, shape, oh, ow), 1e-6, 'resize');
      });
    });
  }

  it('bilinear resize keeps a constant map and the corners of an upsampled ramp', () => {
    const up = refResizeBilinear([1, 2, 3, 4], [1, 2, 2], 4, 4);
    expect(Array.from(up.subarray(0, 4))).toEqual([1, 1.25, 1.75, 2]);
    expect(Array.from(refResizeBilinear([5, 5, 5, 5], [1, 2, 2], 3, 5)).every((v) => v === 5)).toBe(true);
  });

  it('channel means and the ReLU of the weighted channel sum', async () => {
    const e = await testEngine();
    await e.tidyAsync(async () => {
      const [n, p, c] = [3, 49, 37];
      const a = randomArray(n * p * c, 5, 0, 2);
      const g = randomArray(n * p * c, 6);
      const alpha = channelMeans(e, e.upload(g, [n, 7, 7, c]), n, p, c);
      const cam = weightedChannelSumRelu(e, e.upload(a, [n, 7, 7, c]), alpha, n, p, c, poisoned(e, [n, p]));
      const ref = refGradCamMap(a, g, n, p, c);
      expect(ref.some((v) => v === 0) && ref.some((v) => v > 0)).toBe(true); // the ReLU is exercised
      expectClose(await cam.readF32(), ref, TOL, 'cam');
    });
  });
});

/** conv1 (3×3, relu) → pool1 → conv2 (3×3, relu) → flatten → dense_1 (relu) → dense_2 (K logits). */
function smallCnn(outputs: number): Sequential {
  return new Sequential('cnn', [
    new Sequential('base', [
      new Conv2D('conv1', { filters: 6, kernelSize: 3, activation: 'relu' }),
      new MaxPool2D('pool1'),
      new Conv2D('conv2', { filters: 8, kernelSize: 3, activation: 'relu' }),
    ]),
    new Flatten('flatten'),
    new Dense('dense_1', { units: 16, activation: 'relu' }),
    new Dense('dense_2', { units: outputs, activation: 'linear' }),
  ]);
}

/** Float64 Grad-CAM of `smallCnn` at `layer` ('conv1' or 'conv2'), from the reference ops. */
function referenceGradCam(w: Map<string, Float32Array>, x: Float32Array, n: number, s: number, k: number, layer: string, classIndex: number[]) {
  const g1 = refConvGeometry({ n, h: s, w: s, cin: 3, kh: 3, kw: 3, cout: 6, stride: 1, padding: 'same' });
  const a1 = refConv2d(x, w.get('conv1/kernel')!, w.get('conv1/bias')!, g1, true);
  const p = refMaxPool(a1, [n, s, s, 6], { size: 2, stride: 2 });
  const h2 = s / 2;
  const g2 = refConvGeometry({ n, h: h2, w: h2, cin: 6, kh: 3, kw: 3, cout: 8, stride: 1, padding: 'same' });
  const a2 = refConv2d(p.y, w.get('conv2/kernel')!, w.get('conv2/bias')!, g2, true);
  const f = h2 * h2 * 8;
  const d1 = refDense(a2, w.get('dense_1/kernel')!, w.get('dense_1/bias')!, n, f, 16, true);
  const z = refDense(d1, w.get('dense_2/kernel')!, w.get('dense_2/bias')!, n, 16, k, false);
  const seed = new Float64Array(n * k);
  classIndex.forEach((c, i) => (k === 1 ? (seed[i] = c === 1 ? 1 : -1) : (seed[i * k + c] = 1)));
  const gd1 = refDenseBackward(d1, w.get('dense_2/kernel')!, w.get('dense_2/bias')!, seed, n, 16, k, false).gx;
  const ga2 = refDenseBackward(a2, w.get('dense_1/kernel')!, w.get('dense_1/bias')!, gd1, n, f, 16, true).gx;
  if (layer === 'conv2') return { z, cam: refGradCamMap(a2, ga2, n, h2 * h2, 8), h: h2 };
  // conv2's output went through its ReLU: the backward masks by the pre-activation, as refConv2dBackward does.
  const gp = refConv2dBackward(p.y, w.get('conv2/kernel')!, w.get('conv2/bias')!, ga2, g2, true).gx;
  const ga1 = refMaxPoolBackward(gp, p.argmax, a1.length);
  return { z, cam: refGradCamMap(a1, ga1, n, s * s, 6), h: s };
}

describe('gradCam on a small CNN against a float64 reference', () => {
  const cases: { outputs: number; layer?: string; classIndex?: number[] }[] = [
    { outputs: 1 }, // default layer (conv2), predicted classes
    { outputs: 1, classIndex: [0, 0, 1, 1] },
    { outputs: 1, layer: 'conv1', classIndex: [1, 0, 1, 0] },
    { outputs: 3, classIndex: [2, 0, 1, 2] }, // a softmax head: class k is logit k
    { outputs: 3, layer: 'conv1' },
  ];
  for (const c of cases) {
    it(`${c.outputs} logit(s), layer ${c.layer ?? 'default'}, classes ${c.classIndex?.join(',') ?? 'predicted'}: within ${TOL} relative`, async () => {
      const e = await testEngine();
      const [n, s] = [4, 8];
      const model = smallCnn(c.outputs);
      model.build([s, s, 3], { engine: e, rng: new Rng(7 + c.outputs) });
      // Non-zero biases, so the ReLUs cut somewhere interesting.
      for (const [name, t] of model.namedParams()) if (name.endsWith('/bias')) e.write(t, randomArray(t.size, 9, -0.1, 0.1));
      model.layer('conv1').trainable = false; // a frozen layer and trainable ones: neither kind may change
      const before = await model.getWeights();
      const flags = model.params().map((t) => [t.trainable, t.requiresGrad]);
      const x = randomArray(n * s * s * 3, 11, 0, 1);
      const images = e.keep(e.upload(x, [n, s, s, 3]));
      const r = await gradCam(model, images, { ...(c.layer ? { layer: c.layer } : {}), ...(c.classIndex ? { classIndex: c.classIndex } : {}) });
      const w = new Map([...before].map(([k, v]) => [k, v.data as Float32Array]));
      const layer = c.layer ?? 'conv2';
      expect(r.layer).toBe(layer);
      const ref0 = referenceGradCam(w, x, n, s, c.outputs, layer, [0, 0, 0, 0]);
      const predicted = Array.from({ length: n }, (_, i) =>
        c.outputs === 1 ? (ref0.z[i]! > 0 ? 1 : 0) : [...ref0.z.subarray(i * c.outputs, (i + 1) * c.outputs)].reduce((b, v, j, row) => (v > row[b]! ? j : b), 0),
      );
      const classes = c.classIndex ?? predicted;
      expect(r.classIndex).toEqual(classes);
      const ref = referenceGradCam(w, x, n, s, c.outputs, layer, classes);
      expectClose(r.logits, ref.z, 1e-5, 'logits');
      expect([r.height, r.width, r.inputHeight, r.inputWidth]).toEqual([ref.h, ref.h, s, s]);
      const cam = new Float64Array(n * ref.h * ref.h);
      r.heatmaps.forEach((m, i) => cam.set(m, i * m.length));
      expect(ref.cam.some((v) => v > 0)).toBe(true);
      expectClose(cam, ref.cam, TOL, 'heatmaps');
      const up = new Float64Array(n * s * s);
      r.upsampled.forEach((m, i) => up.set(m, i * m.length));
      expectClose(up, refResizeBilinear(ref.cam, [n, ref.h, ref.h], s, s), TOL, 'upsampled heatmaps');
      // Nothing changed: weights bit-identical, no gradients, flags as they were, the tape empty.
      const after = await model.getWeights();
      for (const [name, t] of before) expect(Buffer.from((after.get(name)!.data as Float32Array).buffer).equals(Buffer.from((t.data as Float32Array).buffer)), name).toBe(true);
      expect(model.params().every((t) => t.grad === null)).toBe(true);
      expect(model.params().map((t) => [t.trainable, t.requiresGrad])).toEqual(flags);
      expect(e.tape.length).toBe(0);
      expect(images.requiresGrad).toBe(false);
      images.dispose();
      model.dispose();
    });
  }

  it('lists the layers it can explain, picks the last convolution by default, and refuses unknown names listing the valid ones', async () => {
    const e = await testEngine();
    const model = smallCnn(1);
    model.build([8, 8, 3], { engine: e, rng: new Rng(1) });
    expect(gradCamLayers(model).map((l) => l.name)).toEqual(['conv1', 'pool1', 'conv2']);
    expect(gradCamDefaultLayer(model)).toBe('conv2');
    const images = e.keep(e.upload(new Float32Array(2 * 8 * 8 * 3), [2, 8, 8, 3]));
    await expect(gradCam(model, images, { layer: 'dense_1' })).rejects.toThrow(/unknown layer 'dense_1'.*conv1, pool1, conv2/);
    await expect(gradCam(model, images, { classIndex: 2 })).rejects.toThrow(/class index 2/);
    expect(e.tape.length).toBe(0);
    expect(model.params().every((t) => t.requiresGrad)).toBe(true);
    images.dispose();
    model.dispose();
  });

  it('defaults to the last convolutional block of each backbone, inside the transfer model', async () => {
    const e = await testEngine();
    const cases: [ReturnType<typeof buildVgg16>, string, number][] = [
      [buildVgg16(e, { inputSize: 32 }), 'block5_conv3', 32],
      [buildSqueezeNet11(e, { inputSize: 64 }), 'fire9', 64],
      [buildMobileNetV2(e, { inputSize: 32 }), 'Conv_1', 32],
    ];
    for (const [base, layer, size] of cases) {
      const model = buildTransferModel(e, base, size, 0);
      expect(gradCamDefaultLayer(model), base.name).toBe(layer);
      expect(gradCamLayers(model)[0]!.name, base.name).not.toBe(layer);
      model.dispose();
    }
  });

  it('memory stays flat over repeated calls', async () => {
    const e = await testEngine();
    const model = smallCnn(1);
    model.build([8, 8, 3], { engine: e, rng: new Rng(2) });
    const images = e.keep(e.upload(randomArray(2 * 8 * 8 * 3, 4, 0, 1), [2, 8, 8, 3]));
    await gradCam(model, images);
    const live = e.pool.counters.liveBuffers;
    for (let i = 0; i < 3; i++) await gradCam(model, images, { layer: i % 2 ? 'conv1' : 'pool1' });
    await gradCam(model, images);
    expect(e.pool.counters.liveBuffers).toBe(live);
    images.dispose();
    model.dispose();
  });
});

describe('the overlay (host, platform-neutral)', () => {
  it('viridis runs from dark purple to yellow; the map is resized like the GPU kernel and blended with alpha', () => {
    // matplotlib's viridis ends, within the polynomial fit's error
    const near = (a: number[], b: number[]) => a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThanOrEqual(5));
    near(viridis(0), [68, 1, 84]);
    near(viridis(0.5), [33, 145, 140]);
    near(viridis(1), [253, 231, 37]);
    expect(viridis(2)).toEqual(viridis(1));
    const map = [0, 1, 2, 4, 3, 0];
    expectClose(resizeMap(map, 2, 3, 5, 7), refResizeBilinear(map, [1, 2, 3], 5, 7), 1e-6, 'host resize');
    expect(Array.from(normaliseHeatmap([0, 2, 4]))).toEqual([0, 0.5, 1]);
    expect(Array.from(normaliseHeatmap([0, 0]))).toEqual([0, 0]);
    const image = { width: 5, height: 4, data: Uint8Array.from({ length: 60 }, (_, i) => (i * 37) % 256) };
    expect(Array.from(heatmapOverlay(image, map, 2, 3, { alpha: 0 }))).toEqual(Array.from(image.data));
    const full = heatmapOverlay(image, map, 2, 3, { alpha: 1 });
    const up = normaliseHeatmap(resizeMap(normaliseHeatmap(map), 2, 3, 4, 5));
    // alpha 1: pure colour; the hottest pixel is the brightest yellow-ish one (red + green largest).
    const hottest = up.indexOf(Math.max(...up));
    const brightness = (p: number) => full[p * 3]! + full[p * 3 + 1]!;
    for (let p = 0; p < 20; p++) expect(brightness(p)).toBeLessThanOrEqual(brightness(hottest));
    const rgba = { width: 5, height: 4, data: new Uint8Array(80).fill(200) };
    const o = heatmapOverlay(rgba, map, 2, 3);
    expect(o.length).toBe(80);
    expect(o[3]).toBe(200);
    expect(() => heatmapOverlay(image, map, 2, 3, { alpha: 1.5 })).toThrow(/alpha/);
  });
});
