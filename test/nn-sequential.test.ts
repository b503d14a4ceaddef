import { describe, expect, it } from 'vitest';
import type { Engine, Tensor } from '../src/engine/index.js';
import type { NamedArrays } from '../src/formats/types.js';
import { bceWithLogits } from '../src/nn/functional/index.js';
import { fans, glorotUniform } from '../src/nn/init.js';
import { INFERENCE, type ForwardContext } from '../src/nn/layer.js';
import { Conv2D, Dense, Dropout, Flatten, GlobalAveragePooling2D, MaxPool2D } from '../src/nn/layers/index.js';
import { RMSprop } from '../src/nn/optim/index.js';
import { Sequential } from '../src/nn/sequential.js';
import { Rng } from '../src/util/rng.js';
import { randomArray } from './helpers/small-ops.js';
import { sameBytes } from './helpers/bytes.js';
import { testEngine } from './helpers/engine.js';

const INPUT = [10, 9, 3];

function smallModel(e: Engine, seed = 1): Sequential {
  const m = new Sequential('small', [
    new Conv2D('conv_a', { filters: 4, kernelSize: 3, activation: 'relu' }),
    new Conv2D('conv_b', { filters: 6, kernelSize: 3, activation: 'relu' }),
    new MaxPool2D('pool', { poolSize: 2 }),
    new Flatten('flatten'),
    new Dense('fc', { units: 5, activation: 'relu' }),
    new Dropout('drop', 0.5),
    new Dense('logit', { units: 1 }),
  ]);
  m.build(INPUT, { engine: e, rng: new Rng(seed) });
  return m;
}

const TRAIN: ForwardContext = { training: true, step: 3, seed: 17 };


describe('Glorot-uniform initialisation', () => {
  it('uses Keras fans and stays within ±√(6 / (fanIn + fanOut)) with the uniform variance', () => {
    expect(fans([3, 3, 16, 32])).toEqual({ fanIn: 3 * 3 * 16, fanOut: 3 * 3 * 32 });
    expect(fans([100, 7])).toEqual({ fanIn: 100, fanOut: 7 });
    const shape = [3, 3, 64, 64];
    const w = glorotUniform(new Rng(5), shape);
    const limit = Math.sqrt(6 / (9 * 64 + 9 * 64));
    let sum = 0;
    let sq = 0;
    for (const v of w) {
      expect(Math.abs(v)).toBeLessThanOrEqual(limit);
      sum += v;
      sq += v * v;
    }
    const mean = sum / w.length;
    const variance = sq / w.length - mean * mean;
    // 36864 draws: the sample mean and variance sit within a few standard errors of 0 and limit²/3.
    expect(Math.abs(mean)).toBeLessThan((4 * limit) / Math.sqrt(3 * w.length));
    expect(Math.abs(variance / (limit * limit / 3) - 1)).toBeLessThan(0.03);
    expect(Array.from(glorotUniform(new Rng(5), shape))).toEqual(Array.from(w));
    expect(Array.from(glorotUniform(new Rng(6), shape))).not.toEqual(Array.from(w));
  });
});

describe('Sequential', () => {
  it('infers shapes, names parameters per layer and counts them in a Keras-style summary', async () => {
    const e = await testEngine();
    const m = smallModel(e);
    // 'same' 3×3 convolutions keep 10×9; the 2×2 pool floors to 5×4.
    const expected: [string, string, number[], number][] = [
      ['conv_a', 'Conv2D', [10, 9, 4], 3 * 3 * 3 * 4 + 4],
      ['conv_b', 'Conv2D', [10, 9, 6], 3 * 3 * 4 * 6 + 6],
      ['pool', 'MaxPooling2D', [5, 4, 6], 0],
      ['flatten', 'Flatten', [120], 0],
      ['fc', 'Dense', [5], 120 * 5 + 5],
      ['drop', 'Dropout', [5], 0],
      ['logit', 'Dense', [1], 5 + 1],
    ];
    const total = expected.reduce((a, r) => a + r[3], 0);
    expect(m.outputShape).toEqual([1]);
    expect(m.countParams()).toBe(total);
    expect([...m.weightShapes()]).toEqual([
      ['conv_a/kernel', [3, 3, 3, 4]],
      ['conv_a/bias', [4]],
      ['conv_b/kernel', [3, 3, 4, 6]],
      ['conv_b/bias', [6]],
      ['fc/kernel', [120, 5]],
      ['fc/bias', [5]],
      ['logit/kernel', [5, 1]],
      ['logit/bias', [1]],
    ]);
    const text = m.summary();
    expect(text).toContain('Model: "small"');
    for (const [name, kind, shape, count] of expected) {
      const line = text.split('\n').find((l) => l.trimStart().startsWith(`${name} (`));
      expect(line, name).toBeDefined();
      expect(line).toContain(`(${kind})`);
      expect(line).toContain(`(None, ${shape.join(', ')})`);
      expect(line!.trimEnd().endsWith(` ${count}`)).toBe(true);
    }
    expect(text).toContain(`Total params: ${total.toLocaleString('en-US')}`);
    m.freeze(['conv_a']);
    const frozen = expected[0]![3];
    expect(m.summary()).toContain(`Trainable params: ${(total - frozen).toLocaleString('en-US')}`);
    expect(m.summary()).toContain(`Non-trainable params: ${frozen.toLocaleString('en-US')}`);
    m.dispose();
  });

  it('freezes and unfreezes by layer name, setting trainable and requiresGrad of the parameters', async () => {
    const e = await testEngine();
    const m = smallModel(e);
    m.freeze(['conv_a', 'conv_b']);
    for (const p of m.layer('conv_a').params()) expect([p.trainable, p.requiresGrad]).toEqual([false, false]);
    for (const p of m.layer('fc').params()) expect([p.trainable, p.requiresGrad]).toEqual([true, true]);
    expect(m.trainableParams().map((p) => p.name)).toEqual(['fc/kernel', 'fc/bias', 'logit/kernel', 'logit/bias']);
    m.unfreeze(['conv_b']);
    expect(m.layer('conv_b').trainable).toBe(true);
    expect(m.trainableParams().map((p) => p.name)).toEqual(['conv_b/kernel', 'conv_b/bias', 'fc/kernel', 'fc/bias', 'logit/kernel', 'logit/bias']);
    m.trainOnly(['logit']);
    expect(m.trainableParams().map((p) => p.name)).toEqual(['logit/kernel', 'logit/bias']);
    expect(() => m.freeze(['fc', 'no_such_layer'])).toThrow(/no layer 'no_such_layer'.*conv_a/);
    expect(m.layer('fc').trainable).toBe(false); // from trainOnly; the failed call changed nothing
    m.unfreeze();
    expect(m.trainableParams().length).toBe(8);
    m.dispose();
  });

  it('nests: a frozen base inside a model counts as non-trainable', async () => {
    const e = await testEngine();
    const base = new Sequential('base', [new Conv2D('c1', { filters: 4, kernelSize: 3, activation: 'relu' }), new MaxPool2D('p1')]);
    const model = new Sequential('model', [base, new GlobalAveragePooling2D('gap'), new Dense('out', { units: 2 })]);
    model.build([6, 6, 3], { engine: e, rng: new Rng(2) });
    base.trainable = false;
    expect(model.layer('c1').trainable).toBe(false);
    expect(model.trainableParams().map((p) => p.name)).toEqual(['out/kernel', 'out/bias']);
    expect(model.summary()).toMatch(/base \(Sequential\)\s+\(None, 3, 3, 4\)\s+112/);
    expect(() => new Sequential('dup', [new Flatten('x'), new Flatten('x')])).toThrow(/two layers are named 'x'/);
    model.dispose();
  });

  it('round-trips named weights between host and GPU, and refuses a wrong shape naming the tensor', async () => {
    const e = await testEngine();
    const m = smallModel(e, 1);
    const other = smallModel(e, 2);
    const w1 = await m.getWeights();
    const w2 = await other.getWeights();
    expect(sameBytes(w1.get('fc/kernel')!.data as Float32Array, w2.get('fc/kernel')!.data as Float32Array)).toBe(false);
    other.setWeights(w1);
    const back = await other.getWeights();
    expect([...back.keys()]).toEqual([...w1.keys()]);
    for (const [name, t] of w1) {
      expect(back.get(name)!.shape).toEqual(t.shape);
      expect(sameBytes(back.get(name)!.data as Float32Array, t.data as Float32Array), name).toBe(true);
    }
    const bad: NamedArrays = new Map(w2);
    bad.set('conv_b/kernel', { shape: [6, 4, 3, 3], data: w2.get('conv_b/kernel')!.data });
    expect(() => other.setWeights(bad, { source: 'x.safetensors' })).toThrow(/x\.safetensors.*'conv_b\/kernel': expected shape \[3, 3, 4, 6\], found \[6, 4, 3, 3\]/);
    const missing: NamedArrays = new Map(w2);
    missing.delete('logit/bias');
    expect(() => other.setWeights(missing)).toThrow(/missing tensors: logit\/bias/);
    const extra: NamedArrays = new Map(w2);
    extra.set('head/kernel', { shape: [1], data: new Float32Array(1) });
    expect(() => other.setWeights(extra)).toThrow(/unexpected tensors: head\/kernel/);
    // Nothing was written by the refused calls.
    const after = await other.getWeights();
    for (const [name, t] of w1) expect(sameBytes(after.get(name)!.data as Float32Array, t.data as Float32Array), name).toBe(true);
    other.setWeights(extra, { allowUnexpected: true });
    expect(sameBytes((await other.getWeights()).get('fc/kernel')!.data as Float32Array, w2.get('fc/kernel')!.data as Float32Array)).toBe(true);
    m.dispose();
    other.dispose();
  });

  it('dropout is the identity at inference and draws a different mask per layer in training', async () => {
    const e = await testEngine();
    const x = e.upload(randomArray(4 * 64, 3), [4, 64]);
    const a = new Dropout('drop_a', 0.5);
    const b = new Dropout('drop_b', 0.5);
    expect(a.forward(x, INFERENCE)).toBe(x);
    const ya = await a.forward(x, TRAIN).readF32();
    const yb = await b.forward(x, TRAIN).readF32();
    const xs = await x.readF32();
    const zerosA = ya.map((v) => (v === 0 ? 1 : 0));
    const zerosB = yb.map((v) => (v === 0 ? 1 : 0));
    expect(Array.from(zerosA)).not.toEqual(Array.from(zerosB));
    for (let i = 0; i < xs.length; i++) if (ya[i] !== 0) expect(ya[i]).toBeCloseTo(xs[i]! * 2, 5);
    x.dispose();
  });

  it('training changes only trainable parameters and never runs the backward of a frozen prefix', async () => {
    const e = await testEngine();
    const x = e.upload(randomArray(3 * 10 * 9 * 3, 4), [3, ...INPUT]);
    const labels = e.upload([1, 0, 1], [3]);
    const countsDuringBackward = (run: () => Tensor): Map<string, number> => {
      const loss = run();
      e.resetStats();
      e.tape.backward(loss);
      const counts = new Map(e.stats.dispatches);
      return counts;
    };

    // A model whose two convolutions are frozen …
    const m = smallModel(e, 7);
    m.freeze(['conv_a', 'conv_b']);
    const before = await m.getWeights();
    const opt = new RMSprop(m.trainableParams(), { lr: 0.01 });
    const frozenRun = e.tidy(() => countsDuringBackward(() => bceWithLogits(m.forward(x, TRAIN), labels)));
    opt.step();
    const after = await m.getWeights();
    for (const name of ['conv_a/kernel', 'conv_a/bias', 'conv_b/kernel', 'conv_b/bias']) {
      expect(sameBytes(after.get(name)!.data as Float32Array, before.get(name)!.data as Float32Array), name).toBe(true);
      expect(m.layer(name.split('/')[0]!).param(name.split('/')[1]!).grad, name).toBeNull();
    }
    for (const name of ['fc/kernel', 'logit/kernel', 'logit/bias']) {
      expect(sameBytes(after.get(name)!.data as Float32Array, before.get(name)!.data as Float32Array), name).toBe(false);
    }

    // … runs exactly the backward dispatches of its head applied to the frozen prefix's output as a constant.
    const m2 = smallModel(e, 7);
    m2.setWeights(before);
    const head = m2.layers.slice(2);
    const headOnlyRun = e.tidy(() =>
      countsDuringBackward(() => {
        const features = e.noGrad(() => m2.forwardUntil(x, 'conv_b', TRAIN));
        let h = features;
        for (const l of head) h = l.forward(h, TRAIN);
        return bceWithLogits(h, labels);
      }),
    );
    expect(frozenRun).toEqual(headOnlyRun);

    const total = (c: Map<string, number>): number => [...c.values()].reduce((a, v) => a + v, 0);
    expect(total(frozenRun)).toBeGreaterThan(0);

    for (const p of [...m.params(), ...m2.params()]) {
      p.grad?.dispose();
      p.grad = null;
    }
    opt.dispose();
    m.dispose();
    m2.dispose();
    x.dispose();
    labels.dispose();
  });
});
