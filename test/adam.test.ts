import { afterEach, describe, expect, it, vi } from 'vitest';
import { CapturedStep, type Engine, type Tensor } from '../src/engine/index.js';
import { parseSafetensors, writeSafetensors } from '../src/formats/safetensors.js';
import { writeNpy } from '../src/formats/npy.js';
import { SharpImageDecoder } from '../src/data/decoder-node.js';
import { adamStep } from '../src/kernels/adam.js';
import { Adam } from '../src/nn/optim/index.js';
import { refAdamLr, refAdamStep } from '../src/reference/adam.js';
import { CHECKPOINT_FILE, parseCheckpoint, type Checkpoint } from '../src/train/checkpoint.js';
import { parseRunConfig } from '../src/train/config.js';
import { featureFile, labelFile, type FeatureSet } from '../src/train/features.js';
import { MemoryJobEnv } from '../src/train/job-env-memory.js';
import { featureHeadJob } from '../src/train/jobs.js';
import { featureHeadPlan } from '../src/train/recipes.js';
import { runTraining, type RunOutcome } from '../src/train/run.js';
import { MemoryRunStore, writeJson } from '../src/train/store.js';
import { Rng } from '../src/util/rng.js';
import { testEngine } from './helpers/engine.js';
import { expectClose, randomArray, size } from './helpers/small-ops.js';

/** f32 unit roundoff: each Adam step rounds m, v and p a few times, so the error grows by a few u per step. */
const U = 2 ** -24;
const stepTol = (steps: number): number => 32 * steps * U;

afterEach(() => {
  vi.restoreAllMocks();
});

/** Features labelled by a planted linear rule. */
function synthetic(n: number, k: number, seed: number): FeatureSet {
  const w = Array.from({ length: k }, (_, j) => Math.sin(j + 1));
  const rng = new Rng(seed);
  const features = Float32Array.from({ length: n * k }, () => rng.uniform(-1, 1));
  const labels = Float32Array.from({ length: n }, (_, i) => (w.reduce((s, wj, j) => s + wj * features[i * k + j]!, 0) > 0 ? 1 : 0));
  return { features, labels, featureShape: [k], count: n };
}

const train = synthetic(23, 6, 1);
const val = synthetic(11, 6, 2);

function bits(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

/** Every parameter and optimizer tensor of two checkpoints is bit-identical. */
function expectSameTensors(a: Checkpoint, b: Checkpoint): void {
  for (const [what, x, y] of [['param', a.params, b.params], ['optimizer', a.optimizer, b.optimizer]] as const) {
    expect([...y.keys()].sort(), what).toEqual([...x.keys()].sort());
    for (const [name, t] of x) expect(bits(y.get(name)!.data as Float32Array), `${what} ${name}`).toEqual(bits(t.data as Float32Array));
  }
}

const curves = (o: RunOutcome) => ({ loss: o.history.loss, acc: o.history.acc, val_loss: o.history.val_loss, val_acc: o.history.val_acc });

async function headRun(e: Engine, o: { epochs: number; optimizer?: 'adam' | 'rmsprop'; store?: MemoryRunStore; resume?: boolean }): Promise<{ outcome: RunOutcome; ckpt: Checkpoint; store: MemoryRunStore }> {
  const store = o.store ?? new MemoryRunStore();
  const { plan, model } = featureHeadPlan(e, { train, validation: val, batch: 5, lr: 1e-3, seed: 11, epochs: o.epochs, model: 'synthetic', config: {}, ...(o.optimizer ? { optimizer: o.optimizer } : {}) });
  try {
    const outcome = await runTraining(e, plan, { store }, { resume: o.resume ?? false });
    return { outcome, ckpt: parseCheckpoint((await store.read(CHECKPOINT_FILE))!, 'ckpt'), store };
  } finally {
    model.dispose();
  }
}

describe('Adam (Keras 2 semantics)', () => {
  it('the fused kernel follows the float64 reference step by step, bias correction included', async () => {
    const e = await testEngine();
    const misses = e.pipelines.misses;
    const steps = 6;
    for (const shape of [[7, 5], [1], [3, 3, 3, 17], [1000]]) {
      await e.tidyAsync(async () => {
        const n = size(shape);
        const opts = { lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };
        const p0 = randomArray(n, 1);
        const p = e.upload(p0, shape);
        const m = e.full(shape, 0);
        const v = e.full(shape, 0);
        const [refP, refM, refV] = [Float64Array.from(p0), new Float64Array(n), new Float64Array(n)];
        for (let step = 0; step < steps; step++) {
          // Gradients spanning magnitudes and changing sign, with exact zeros (where ε decides the update).
          const g = randomArray(n, 10 + step).map((x, i) => (i % 5 === 0 ? 0 : x * 10 ** ((i % 7) - 4)));
          adamStep(e, p, e.upload(g, shape), m, v, e.full([1], refAdamLr(opts, step)), opts.beta1, opts.beta2, opts.epsilon);
          refAdamStep(refP, refM, refV, g, opts, step);
          // The displacement from the start, not p itself: p ≫ lr would hide a wrong lr_t at t = 1, 2, ….
          const moved = Array.from(await p.readF32(), (x, i) => x - p0[i]!);
          expectClose(moved, Array.from(refP, (x, i) => x - p0[i]!), stepTol(step + 1), `displacement [${shape}] at t=${step + 1}`);
          expectClose(await m.readF32(), refM, stepTol(step + 1), `m [${shape}] at t=${step + 1}`);
          expectClose(await v.readF32(), refV, stepTol(step + 1), `v [${shape}] at t=${step + 1}`);
        }
      });
    }
    // lr_t is a runtime value: one pipeline per tensor size serves every step.
    expect(e.pipelines.misses - misses).toBe(4);
  });

  it('the reference has the closed form of a constant gradient: each step moves lr·g / (|g| + ε/√(1 − β2^t))', () => {
    const [lr, g, eps] = [0.1, -3e-4, 1e-7];
    expect(refAdamLr({ lr }, 0)).toBeCloseTo((lr * Math.sqrt(0.001)) / 0.1, 15);
    expect(refAdamLr({ lr }, 1)).toBeCloseTo((lr * Math.sqrt(1 - 0.999 ** 2)) / (1 - 0.81), 15);
    const [p, m, v] = [Float64Array.from([1]), new Float64Array(1), new Float64Array(1)];
    let want = 1;
    for (let t = 1; t <= 5; t++) {
      refAdamStep(p, m, v, [g], { lr, epsilon: eps }, t - 1);
      want -= (lr * g) / (Math.abs(g) + eps / Math.sqrt(1 - 0.999 ** t));
      expect(m[0]).toBeCloseTo((1 - 0.9 ** t) * g, 15);
      expect(v[0]).toBeCloseTo((1 - 0.999 ** t) * g * g, 15);
      expect(p[0]).toBeCloseTo(want, 12);
    }
    // ε outside the square root (Keras): at t = 1 a gradient the size of ε moves by g/(g + ε/√0.001) ≈ 0.03, not lr.
    const tiny = Float64Array.from([0]);
    refAdamStep(tiny, new Float64Array(1), new Float64Array(1), [1e-7], { lr: 1 }, 0);
    expect(tiny[0]).toBeCloseTo(-1e-7 / (1e-7 + 1e-7 / Math.sqrt(0.001)), 12);
  });

  it('Adam.step updates parameters with gradients, skips the others, counts iterations and writes lr_t per step', async () => {
    const e = await testEngine();
    const shapes = [[4, 3], [3], [2, 2]];
    const data = shapes.map((s, i) => randomArray(size(s), 20 + i));
    const params = shapes.map((s, i) => {
      const t = e.upload(data[i]!, s);
      t.name = `layer/w${i}`;
      t.trainable = true;
      t.requiresGrad = true;
      return t;
    });
    const opts = { lr: 0.05 };
    const opt = new Adam(params, opts);
    expect(opt.name).toBe('adam');
    expect([...opt.stateTensors().keys()]).toEqual(['m/layer/w0', 'm/layer/w1', 'm/layer/w2', 'v/layer/w0', 'v/layer/w1', 'v/layer/w2']);
    const ref = data.map((d) => [Float64Array.from(d), new Float64Array(d.length), new Float64Array(d.length)] as const);
    for (let step = 0; step < 4; step++) {
      expect(opt.currentLr).toBeCloseTo(refAdamLr(opts, step), 12);
      const grads = shapes.map((s, i) => randomArray(size(s), 100 * step + i));
      // Parameter 1 has no gradient (as if frozen): it and its moments must stay bit-identical.
      params.forEach((p, i) => {
        if (i !== 1) p.grad = e.keep(e.upload(grads[i]!, p.shape));
      });
      opt.step();
      for (const i of [0, 2]) refAdamStep(...ref[i]!, grads[i]!, opts, step);
      opt.zeroGrad();
      expect(params.every((p) => p.grad === null)).toBe(true);
    }
    expect(opt.iterations).toBe(4);
    for (const i of [0, 2]) {
      const moved = Array.from(await params[i]!.readF32(), (x, j) => x - data[i]![j]!);
      expectClose(moved, Array.from(ref[i]![0], (x, j) => x - data[i]![j]!), stepTol(4), `displacement ${i}`);
      expectClose(await opt.stateTensors().get(`v/layer/w${i}`)!.readF32(), ref[i]![2], stepTol(4), `v ${i}`);
    }
    expect(Array.from(await params[1]!.readF32())).toEqual(Array.from(data[1]!));
    expect(Array.from(await opt.stateTensors().get('m/layer/w1')!.readF32())).toEqual([0, 0, 0]);
    opt.dispose();
    params.forEach((p: Tensor) => p.dispose());
  });

  it('on the GPU, a constant gradient moves each step by about lr (the closed form, in f32)', async () => {
    const e = await testEngine();
    const p = e.upload(Float32Array.from([1, -2]), [2]);
    p.name = 'w';
    const opt = new Adam([p], { lr: 0.01 });
    const g = [0.5, -0.25];
    const want = [1, -2];
    for (let t = 1; t <= 5; t++) {
      p.grad = e.keep(e.upload(Float32Array.from(g), [2]));
      opt.step();
      opt.zeroGrad();
      g.forEach((gi, i) => (want[i]! -= (0.01 * gi) / (Math.abs(gi) + 1e-7 / Math.sqrt(1 - 0.999 ** t))));
    }
    const got = await p.readF32();
    // 5 steps, each rounding p (|p| ≤ 2) and the update a few times.
    for (const i of [0, 1]) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(5 * 8 * U * 2);
    opt.dispose();
    p.dispose();
  });

  it('refuses invalid options and duplicate parameter names', async () => {
    const e = await testEngine();
    const a = e.full([2], 0);
    a.name = 'x';
    const b = e.full([2], 0);
    b.name = 'x';
    expect(() => new Adam([a], { lr: 0 })).toThrow(/invalid/);
    expect(() => new Adam([a], { lr: 1e-3, beta1: 1 })).toThrow(/invalid/);
    expect(() => new Adam([a], { lr: 1e-3, beta2: -0.1 })).toThrow(/invalid/);
    expect(() => new Adam([a, b], { lr: 1e-3 })).toThrow(/named x/);
    a.dispose();
    b.dispose();
  });
});

describe('training with Adam', () => {
  it('a captured and replayed run equals the eager run bit for bit', async () => {
    const e = await testEngine();
    const replay = e.replay;
    try {
      e.replay = false;
      const eager = await headRun(e, { epochs: 2, optimizer: 'adam' });
      const replays = vi.spyOn(CapturedStep.prototype, 'replay');
      e.replay = true;
      const replayed = await headRun(e, { epochs: 2, optimizer: 'adam' });
      // 4 full batches of 5 and one of 3 per epoch: the first full batch eager, the second captured, then replays.
      expect(replays.mock.calls.length).toBe(6);
      expect(replayed.ckpt.optimizerName).toBe('adam');
      expectSameTensors(eager.ckpt, replayed.ckpt);
      expect(curves(replayed.outcome)).toEqual(curves(eager.outcome));
    } finally {
      e.replay = replay;
    }
  });

  it('checkpoint → resume continues bit for bit (m, v and iterations restored); another optimizer is refused', async () => {
    const e = await testEngine();
    const full = await headRun(e, { epochs: 4, optimizer: 'adam' });
    expect(full.ckpt.metadata.optimizer).toBe('adam');
    expect(full.ckpt.state.iterations).toBe(4 * 5);
    expect([...full.ckpt.optimizer.keys()].sort()).toEqual(['m/dense_1/bias', 'm/dense_1/kernel', 'm/dense_2/bias', 'm/dense_2/kernel', 'v/dense_1/bias', 'v/dense_1/kernel', 'v/dense_2/bias', 'v/dense_2/kernel']);
    const half = await headRun(e, { epochs: 2, optimizer: 'adam' });
    const resumed = await headRun(e, { epochs: 4, optimizer: 'adam', store: half.store, resume: true });
    expect(resumed.ckpt.state.iterations).toBe(4 * 5);
    expectSameTensors(full.ckpt, resumed.ckpt);
    expect(curves(resumed.outcome)).toEqual(curves(full.outcome));
    await expect(headRun(e, { epochs: 4, optimizer: 'rmsprop', store: half.store, resume: true })).rejects.toThrow(/trained with adam; it cannot continue with rmsprop/);
  });

  it('an RMSprop checkpoint from before the optimizer was recorded still resumes exactly', async () => {
    const e = await testEngine();
    const full = await headRun(e, { epochs: 3 });
    const half = await headRun(e, { epochs: 2 });
    expect(half.ckpt.optimizerName).toBe('rmsprop');
    const { tensors, metadata } = parseSafetensors((await half.store.read(CHECKPOINT_FILE))!);
    delete metadata.optimizer;
    await half.store.write(CHECKPOINT_FILE, writeSafetensors(tensors, metadata));
    const resumed = await headRun(e, { epochs: 3, store: half.store, resume: true });
    expectSameTensors(full.ckpt, resumed.ckpt);
    expect(curves(resumed.outcome)).toEqual(curves(full.outcome));
  });

  it('the feature-head job trains with --optimizer adam, records it, lowers the loss, and keeps it on resume', async () => {
    const e = await testEngine();
    const env = new MemoryJobEnv({ engine: e, decoder: new SharpImageDecoder(), cache: null });
    const features = env.data.features('feats').store;
    const sets = { train: synthetic(40, 8, 3), validation: synthetic(12, 8, 4) };
    for (const [split, s] of Object.entries(sets)) {
      await features.write(featureFile(split), writeNpy({ shape: [s.count, ...s.featureShape], data: s.features }));
      await features.write(labelFile(split), writeNpy({ shape: [s.count], data: s.labels }));
    }
    await writeJson(features, 'manifest.json', {
      format: 'test',
      model: 'squeezenet1_1',
      input_size: 32,
      preprocess: 'imagenet',
      pixels: 'none',
      weights_checksum: 'random',
      feature_shape: [8],
      splits: { train: { root: '', count: 40, classes: ['a', 'b'], files_sha256: '' }, validation: { root: '', count: 12, classes: ['a', 'b'], files_sha256: '' } },
    });
    const r = await featureHeadJob(env, { features: 'feats', optimizer: 'adam', lr: 1e-3, epochs: 3, batch: 8, name: 'adam-head' });
    expect(r.config.optimizer).toEqual({ name: 'adam', lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });
    expect(r.history.loss[2]).toBeLessThan(r.history.loss[0]!);
    await expect(featureHeadJob(env, { resume: 'adam-head', optimizer: 'rmsprop', epochs: 4 })).rejects.toThrow(/trains with adam; it cannot continue with rmsprop/);
    const more = await featureHeadJob(env, { resume: 'adam-head', epochs: 4 });
    expect(more.config.optimizer.name).toBe('adam');
    expect(more.history.loss).toHaveLength(4);
    const book = await featureHeadJob(env, { features: 'feats', epochs: 1, batch: 8 });
    expect(book.config.optimizer.name).toBe('rmsprop');
  });
});

describe('config.json optimizer', () => {
  const base = { recipe: 'feature-head', model: 'squeezenet1_1', weights: { path: '', checksum: 'x' }, input_size: 64, epochs: 1, batch: 1, seed: 0, feature_shape: [512], classes: ['a', 'b'], head: { units: 256, dropout: 0.5 }, preprocess: 'imagenet' };
  const parse = (optimizer: unknown) => parseRunConfig(JSON.parse(JSON.stringify({ ...base, optimizer })), 'c.json').optimizer;

  it('completes Adam and (unnamed, older) RMSprop entries with Keras defaults', () => {
    expect(parse({ name: 'adam', lr: 1e-3 })).toEqual({ name: 'adam', lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });
    expect(parse({ lr: 2e-5 })).toEqual({ name: 'rmsprop', lr: 2e-5, rho: 0.9, epsilon: 1e-7 });
    expect(parse({ name: 'adam', lr: 1e-3, beta1: 0, beta2: 0.99, epsilon: 0 })).toMatchObject({ beta1: 0, beta2: 0.99, epsilon: 0 });
  });

  it('rejects a bad Adam entry, naming the field', () => {
    expect(() => parse({ name: 'adam', lr: 1e-3, beta1: 1 })).toThrow(/c\.json: field 'optimizer\.beta1' .* in \[0, 1\)/);
    expect(() => parse({ name: 'adam', lr: 1e-3, beta2: '0.999' })).toThrow(/'optimizer\.beta2'/);
    expect(() => parse({ name: 'adam', lr: 1e-3, epsilon: -1 })).toThrow(/'optimizer\.epsilon' .* ≥ 0/);
    expect(() => parse({ name: 'adam', lr: 0 })).toThrow(/'optimizer'/);
    expect(() => parse({ name: 'adam', lr: 1e-3, rho: 0.9 })).toThrow(/'optimizer\.rho' is a setting of RMSprop, not of Adam/);
    expect(() => parse({ name: 'rmsprop', lr: 1e-3, beta1: 0.9 })).toThrow(/'optimizer\.beta1' is a setting of Adam, not of RMSprop/);
    expect(() => parse({ name: 'sgd', lr: 1e-3 })).toThrow(/'optimizer\.name' .* rmsprop \| adam/);
  });
});
