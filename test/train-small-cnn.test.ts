import { describe, expect, it } from 'vitest';
import type { Engine, Tensor } from '../src/engine/index.js';
import { bceWithLogits, softmaxCrossEntropy } from '../src/nn/functional/index.js';
import { BinaryMetrics, CategoricalMetrics, ConfusionMatrix } from '../src/nn/metrics.js';
import { RMSprop } from '../src/nn/optim/index.js';
import { Rng } from '../src/util/rng.js';
import { testEngine } from './helpers/engine.js';
import { gather, IMG, makeBars, makeBars4, type BarData } from './helpers/bars.js';
import { SmallCnn } from './helpers/small-cnn.js';

/** Epochs of shuffled mini-batches of 32; returns each epoch's training loss and accuracy. */
async function trainEpochs(
  e: Engine,
  net: SmallCnn,
  opt: RMSprop,
  train: BarData,
  metrics: BinaryMetrics | CategoricalMetrics,
  loss: (logits: Tensor, labels: Tensor) => Tensor,
  epochs: number,
  seed: number,
): Promise<{ loss: number; acc: number }[]> {
  const rng = new Rng(seed);
  const batch = 32;
  const history: { loss: number; acc: number }[] = [];
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = rng.shuffle(Array.from({ length: train.n }, (_, i) => i));
    metrics.reset();
    for (let s = 0; s + batch <= train.n; s += batch) {
      const { x, y } = gather(train, order.slice(s, s + batch));
      e.tidy(() => {
        const labels = e.upload(y, [batch]);
        opt.zeroGrad();
        const logits = net.forward(e.upload(x, [batch, IMG, IMG, 1]));
        const l = loss(logits, labels);
        metrics.add(logits, labels, l);
        e.tape.backward(l);
        opt.step();
      });
    }
    history.push(await metrics.read());
  }
  return history;
}

describe('training a small CNN end to end', () => {
  it('conv → pool → conv → pool → dense with RMSprop and BCE learns bar orientation (≥ 95% held out)', async () => {
    const e = await testEngine();
    const train = makeBars(768, 1);
    const test = makeBars(384, 2);
    const net = new SmallCnn(e, 3, [8, 16], new Set([0, 1]));
    const opt = new RMSprop(net.params, { lr: 3e-3 });
    const trainMetrics = new BinaryMetrics(e);
    const batch = 32;
    const history = await trainEpochs(e, net, opt, train, trainMetrics, bceWithLogits, 5, 4);
    const testMetrics = new BinaryMetrics(e);
    for (let s = 0; s < test.n; s += batch) {
      const { x, y } = gather(test, Array.from({ length: batch }, (_, k) => s + k));
      e.tidy(() => e.noGrad(() => testMetrics.add(net.forward(e.upload(x, [y.length, IMG, IMG, 1])), e.upload(y, [y.length]))));
    }
    const held = await testMetrics.read();
    expect(held.count).toBe(test.n);
    expect(history[history.length - 1]!.loss, JSON.stringify(history)).toBeLessThan(history[0]!.loss);
    expect(held.acc, `held-out ${JSON.stringify(held)}; training ${JSON.stringify(history)}`).toBeGreaterThanOrEqual(0.95);
    for (const m of [trainMetrics, testMetrics, opt, net]) m.dispose();
  });
});

describe('training a small CNN on four classes', () => {
  it('conv → pool → conv → pool → Dense(4) with softmax cross-entropy tells four bar directions apart (≥ 95% held out)', async () => {
    const e = await testEngine();
    const train = makeBars4(1024, 11);
    const test = makeBars4(384, 12);
    const net = new SmallCnn(e, 5, [8, 16], new Set([0, 1]), 4);
    const opt = new RMSprop(net.params, { lr: 3e-3 });
    const trainMetrics = new CategoricalMetrics(e, 4);
    const batch = 32;
    const history = await trainEpochs(e, net, opt, train, trainMetrics, softmaxCrossEntropy, 6, 6);
    const testMetrics = new CategoricalMetrics(e, 4);
    const confusion = new ConfusionMatrix(e, 4);
    for (let s = 0; s < test.n; s += batch) {
      const { x, y } = gather(test, Array.from({ length: batch }, (_, k) => s + k));
      e.tidy(() =>
        e.noGrad(() => {
          const logits = net.forward(e.upload(x, [y.length, IMG, IMG, 1]));
          const labels = e.upload(y, [y.length]);
          testMetrics.add(logits, labels);
          confusion.add(logits, labels);
        }),
      );
    }
    const held = await testMetrics.read();
    const matrix = await confusion.read();
    expect(held.count).toBe(test.n);
    expect(matrix.flat().reduce((a, b) => a + b, 0)).toBe(test.n);
    expect(matrix.reduce((a, r, i) => a + r[i]!, 0) / test.n).toBe(held.acc);
    expect(history[history.length - 1]!.loss, JSON.stringify(history)).toBeLessThan(history[0]!.loss);
    expect(held.acc, `held-out ${JSON.stringify(held)}; training ${JSON.stringify(history)}; ${JSON.stringify(matrix)}`).toBeGreaterThanOrEqual(0.95);
    for (const m of [trainMetrics, testMetrics, confusion, opt, net]) m.dispose();
  });
});
