// Grad-CAM must point at what decides the class: a small CNN learns that a striped patch's orientation (vertical:
// class 1, horizontal: class 0) decides the label, the patch anywhere on a noisy background; on held-out images the
// heatmap's maximum must lie inside the patch. A model trained on shuffled labels (same data, same steps) must not
// reach that rate, so the test measures the model's evidence, not the patch's contrast.
import { describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine/index.js';
import { bceWithLogits } from '../src/nn/functional/index.js';
import { gradCam } from '../src/nn/gradcam.js';
import { INFERENCE } from '../src/nn/layer.js';
import { Conv2D, Dense, GlobalAveragePooling2D, MaxPool2D } from '../src/nn/layers/index.js';
import { RMSprop } from '../src/nn/optim/index.js';
import { Sequential } from '../src/nn/sequential.js';
import { Rng } from '../src/util/rng.js';
import { testEngine } from './helpers/engine.js';

const S = 16;
const P = 4;

interface Synthetic {
  x: Float32Array;
  y: Float32Array;
  /** Top-left corner of each image's patch. */
  at: [number, number][];
  n: number;
}

function makePatches(n: number, seed: number): Synthetic {
  const rng = new Rng(seed);
  const x = new Float32Array(n * S * S * 3);
  const y = new Float32Array(n);
  const at: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    const label = rng.int(2);
    const py = rng.int(S - P + 1);
    const px = rng.int(S - P + 1);
    y[i] = label;
    at.push([py, px]);
    for (let r = 0; r < S; r++)
      for (let c = 0; c < S; c++) {
        const inside = r >= py && r < py + P && c >= px && c < px + P;
        // Stripes of the patch alternate 0.1 / 0.9 (mean 0.5, as the background's).
        const v = inside ? ((label === 1 ? c - px : r - py) % 2 === 0 ? 0.9 : 0.1) : rng.uniform(0.3, 0.7);
        for (let ch = 0; ch < 3; ch++) x[((i * S + r) * S + c) * 3 + ch] = v;
      }
  }
  return { x, y, at, n };
}

function model(e: Engine, seed: number): Sequential {
  const m = new Sequential('patch_cnn', [
    new Conv2D('conv1', { filters: 8, kernelSize: 3, activation: 'relu' }),
    new MaxPool2D('pool1'),
    new Conv2D('conv2', { filters: 16, kernelSize: 3, activation: 'relu' }),
    new GlobalAveragePooling2D('gap'),
    new Dense('logit', { units: 1, activation: 'linear' }),
  ]);
  m.build([S, S, 3], { engine: e, rng: new Rng(seed) });
  return m;
}

async function train(e: Engine, m: Sequential, data: Synthetic, labels: Float32Array): Promise<void> {
  const opt = new RMSprop(m.trainableParams(), { lr: 3e-3 });
  const rng = new Rng(5);
  const batch = 32;
  for (let epoch = 0; epoch < 8; epoch++) {
    const order = rng.shuffle(Array.from({ length: data.n }, (_, i) => i));
    for (let s = 0; s + batch <= data.n; s += batch) {
      const idx = order.slice(s, s + batch);
      const xb = new Float32Array(batch * S * S * 3);
      const yb = new Float32Array(batch);
      idx.forEach((j, k) => {
        xb.set(data.x.subarray(j * S * S * 3, (j + 1) * S * S * 3), k * S * S * 3);
        yb[k] = labels[j]!;
      });
      e.tidy(() => {
        opt.zeroGrad();
        const loss = bceWithLogits(m.forward(e.upload(xb, [batch, S, S, 3]), INFERENCE), e.upload(yb, [batch]));
        e.tape.backward(loss);
        opt.step();
      });
    }
  }
  opt.zeroGrad();
  opt.dispose();
}

/** Accuracy and the share of images whose heatmap maximum (at the input's size) lies inside the patch. */
async function localise(e: Engine, m: Sequential, data: Synthetic): Promise<{ hits: number; acc: number }> {
  const images = e.keep(e.upload(data.x, [data.n, S, S, 3]));
  const r = await gradCam(m, images, { classIndex: Array.from(data.y) });
  images.dispose();
  let hits = 0;
  let correct = 0;
  r.upsampled.forEach((map, i) => {
    let best = 0;
    for (let k = 1; k < map.length; k++) if (map[k]! > map[best]!) best = k;
    const [py, px] = data.at[i]!;
    const [yy, xx] = [Math.floor(best / S), best % S];
    if (map[best]! > 0 && yy >= py && yy < py + P && xx >= px && xx < px + P) hits++;
    if ((r.logits[i]! > 0 ? 1 : 0) === data.y[i]) correct++;
  });
  return { hits: hits / data.n, acc: correct / data.n };
}

describe('Grad-CAM localises the evidence', () => {
  it('the heatmap maximum lies inside the deciding patch in ≥ 90% of held-out images; a shuffled-label control does not', async () => {
    const e = await testEngine();
    const trainSet = makePatches(640, 1);
    const held = makePatches(200, 2);

    const trained = model(e, 3);
    await train(e, trained, trainSet, trainSet.y);
    const real = await localise(e, trained, held);

    const shuffled = Float32Array.from(new Rng(9).shuffle(Array.from(trainSet.y)));
    const control = model(e, 3);
    await train(e, control, trainSet, shuffled);
    const ctl = await localise(e, control, held);

    const report = `trained: ${JSON.stringify(real)}; shuffled-label control: ${JSON.stringify(ctl)}`;
    expect(real.acc, report).toBeGreaterThanOrEqual(0.9);
    expect(real.hits, report).toBeGreaterThanOrEqual(0.9);
    expect(ctl.hits, report).toBeLessThan(0.9);
    expect(ctl.hits, report).toBeLessThan(real.hits - 0.2);
    trained.dispose();
    control.dispose();
  });
});
