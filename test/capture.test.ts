import { afterEach, describe, expect, it, vi } from 'vitest';
import { BOOK_AUGMENTATION } from '../src/data/augment-params.js';
import { addTensors, CapturedStep, Engine, type Tensor } from '../src/engine/index.js';
import { buildVgg16 } from '../src/models/vgg16.js';
import { bceWithLogits } from '../src/nn/functional/index.js';
import { Conv2D, Dense, Dropout, Flatten, MaxPool2D } from '../src/nn/layers/index.js';
import { RMSprop } from '../src/nn/optim/index.js';
import { Sequential } from '../src/nn/sequential.js';
import type { Batch, BatchStream } from '../src/train/batches.js';
import { fit } from '../src/train/fit.js';
import type { History } from '../src/train/history.js';
import { buildTransferModel, forwardLogits } from '../src/train/model.js';
import { featureHeadPlan, imageForward } from '../src/train/recipes.js';
import { runTraining } from '../src/train/run.js';
import { MemoryRunStore } from '../src/train/store.js';
import { Rng } from '../src/util/rng.js';
import { gather, IMG, makeBars } from './helpers/bars.js';
import { testEngine } from './helpers/engine.js';

/** Batches of host arrays, uploaded as fit's streams do; the last batch may be partial. */
function arrayStream(e: Engine, x: Float32Array | Uint8Array, y: Float32Array, itemShape: number[], batch: number): BatchStream {
  const per = itemShape.reduce((a, d) => a * d, 1);
  const n = y.length;
  const steps = Math.ceil(n / batch);
  let k = 0;
  return {
    steps,
    images: n,
    async next(): Promise<Batch> {
      const lo = k * batch;
      const hi = Math.min(n, lo + batch);
      k++;
      const bx = e.keep(e.upload(x.slice(lo * per, hi * per), [hi - lo, ...itemShape], x instanceof Uint8Array ? 'u8' : 'f32'));
      const by = e.keep(e.upload(y.slice(lo, hi), [hi - lo]));
      return {
        x: bx,
        y: by,
        size: hi - lo,
        dispose: () => {
          bx.dispose();
          by.dispose();
        },
      };
    },
    close: () => undefined,
  };
}

async function snapshot(model: Sequential, opt: RMSprop): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const p of model.params()) out.set(p.name!, await p.readF32());
  for (const [name, a] of opt.stateTensors()) out.set(`rmsprop/${name}`, await a.readF32());
  return out;
}

/** The history without its wall-clock times. */
function results(h: History): Omit<History, 'epoch_s'> {
  return { loss: h.loss, acc: h.acc, val_loss: h.val_loss, val_acc: h.val_acc };
}

function expectBitIdentical(a: Map<string, Float32Array>, b: Map<string, Float32Array>): void {
  expect([...b.keys()]).toEqual([...a.keys()]);
  for (const [name, x] of a) {
    const y = b.get(name)!;
    const xb = new Uint32Array(x.buffer, x.byteOffset, x.length);
    const yb = new Uint32Array(y.buffer, y.byteOffset, y.length);
    const first = xb.findIndex((v, i) => v !== yb[i]);
    expect(first, `${name}: first differing element ${first} (${x[first]} vs ${y[first]})`).toBe(-1);
  }
}

function smallCnn(e: Engine): Sequential {
  const m = new Sequential('cnn', [
    new Conv2D('conv_a', { filters: 16, kernelSize: 3, padding: 'same', activation: 'relu' }),
    // 16 input channels, 3×3 stride 1: the Winograd path, with its cached filter transforms.
    new Conv2D('conv_b', { filters: 16, kernelSize: 3, padding: 'same', activation: 'relu' }),
    new MaxPool2D('pool', { poolSize: 2 }),
    new Flatten('flatten'),
    new Dense('fc', { units: 16, activation: 'relu' }),
    new Dropout('drop', 0.5),
    new Dense('logit', { units: 1 }),
  ]);
  m.build([IMG, IMG, 1], { engine: e, rng: new Rng(3) });
  return m;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('step capture and replay', () => {
  it('replayed training equals eager bit for bit: small CNN with dropout, a partial last batch, poisoned free buffers', async () => {
    const e = await testEngine();
    const bars = makeBars(27, 5);
    const val = makeBars(10, 6);
    const run = async (replay: boolean): Promise<{ state: Map<string, Float32Array>; history: History }> => {
      e.replay = replay;
      e.poisonReleased = replay;
      const model = smallCnn(e);
      const opt = new RMSprop(model.trainableParams(), { lr: 3e-3 });
      const history = await fit({
        engine: e,
        forward: (x, ctx) => forwardLogits(model, x, ctx),
        optimizer: opt,
        epochs: 3,
        seed: 9,
        train: (epoch) => {
          const order = new Rng(100 + epoch).shuffle(Array.from({ length: bars.n }, (_, i) => i));
          const g = gather(bars, order);
          return arrayStream(e, g.x, g.y, [IMG, IMG, 1], 6);
        },
        validation: () => arrayStream(e, val.images, val.labels, [IMG, IMG, 1], 4),
      });
      const state = await snapshot(model, opt);
      opt.dispose();
      model.dispose();
      return { state, history };
    };
    const eager = await run(false);
    const replays = vi.spyOn(CapturedStep.prototype, 'replay');
    const replayed = await run(true);
    e.replay = true;
    e.poisonReleased = false;
    // Training: 4 full batches of 6 and one of 3 per epoch → first eager, second captured, 10 replays; validation:
    // 2 full batches of 4 and one of 2 per pass → no replay within a pass of 2 full batches.
    expect(replays.mock.calls.length).toBe(10);
    expectBitIdentical(eager.state, replayed.state);
    expect(results(replayed.history)).toEqual(results(eager.history));
  });

  it('replays the fine-tuning step (VGG16 at 32×32, block5 + head trained, augmentation, dropout) bit for bit, poisoned free buffers', async () => {
    const e = await testEngine();
    const rng = new Rng(7);
    const n = 10;
    const pixels = Uint8Array.from({ length: n * 32 * 32 * 3 }, () => rng.int(256));
    const labels = Float32Array.from({ length: n }, (_, i) => i % 2);
    const run = async (replay: boolean): Promise<{ state: Map<string, Float32Array>; history: History }> => {
      e.replay = replay;
      // Released buffers filled with NaN: a memory plan that let two live tensors share a buffer would show.
      e.poisonReleased = replay;
      const model = buildTransferModel(e, buildVgg16(e, { inputSize: 32, seed: 1 }), 32, 2, { dropout: true });
      model.trainOnly(['block5_conv1', 'block5_conv2', 'block5_conv3', 'dense_1', 'dense_2']);
      const opt = new RMSprop(model.trainableParams(), { lr: 1e-3 });
      // Validation before training fills the Winograd filter-transform cache: the capture must not reuse block5's.
      const forward = imageForward(e, model, 'rescale', BOOK_AUGMENTATION);
      const history = await fit({
        engine: e,
        forward,
        optimizer: opt,
        epochs: 2,
        seed: 4,
        train: () => arrayStream(e, pixels, labels, [32, 32, 3], 2),
        validation: () => arrayStream(e, pixels.slice(0, 4 * 32 * 32 * 3), labels.slice(0, 4), [32, 32, 3], 2),
      });
      const state = await snapshot(model, opt);
      opt.dispose();
      model.dispose();
      return { state, history };
    };
    const replays = vi.spyOn(CapturedStep.prototype, 'replay');
    const eager = await run(false);
    expect(replays.mock.calls.length).toBe(0);
    const replayed = await run(true);
    e.replay = true;
    e.poisonReleased = false;
    // Training: 5 full batches of 2 per epoch → first eager, second captured, 3 + 5 replays over the two epochs (a
    // capture that went stale, or every step eager, would replay none); validation: 2 batches per pass, none replayed.
    expect(replays.mock.calls.length).toBe(8);
    expectBitIdentical(eager.state, replayed.state);
    expect(results(replayed.history)).toEqual(results(eager.history));
  });

  it('a resumed replayed run equals an uninterrupted eager one', async () => {
    const e = await testEngine();
    const rng = new Rng(1);
    const synthetic = (count: number): { features: Float32Array; labels: Float32Array; featureShape: number[]; count: number } => {
      const features = Float32Array.from({ length: count * 6 }, () => rng.uniform(-1, 1));
      const labels = Float32Array.from({ length: count }, (_, i) => (features[i * 6]! + features[i * 6 + 1]! > 0 ? 1 : 0));
      return { features, labels, featureShape: [6], count };
    };
    const train = synthetic(23);
    const val = synthetic(11);
    const o = { train, validation: val, batch: 5, lr: 1e-3, seed: 11, model: 'synthetic', config: {} };
    const replays = vi.spyOn(CapturedStep.prototype, 'replay');
    e.replay = false;
    const full = featureHeadPlan(e, { ...o, epochs: 4 });
    const a = await runTraining(e, full.plan, { store: new MemoryRunStore() });
    full.model.dispose();
    expect(replays.mock.calls.length).toBe(0);
    e.replay = true;
    const store = new MemoryRunStore();
    const first = featureHeadPlan(e, { ...o, epochs: 2 });
    await runTraining(e, first.plan, { store });
    first.model.dispose();
    const second = featureHeadPlan(e, { ...o, epochs: 4 });
    const b = await runTraining(e, second.plan, { store }, { resume: true });
    second.model.dispose();
    // 4 full batches of 5 and one of 3 per epoch: each run replays 2 batches in its first epoch and 4 in the next
    // (validation: 2 full batches per pass, none replayed).
    expect(replays.mock.calls.length).toBe(12);
    expect(results(b.history)).toEqual(results(a.history));
  });

  it('a warm eager step generates no WGSL and fetches no bind-group layout', async () => {
    const e = await Engine.create({ replay: false });
    e.pipelines.verifyKeys = false; // it regenerates WGSL on purpose
    try {
      let layoutLookups = 0;
      const create = e.device.createComputePipeline.bind(e.device);
      e.device.createComputePipeline = (d: GPUComputePipelineDescriptor): GPUComputePipeline => {
        const p = create(d);
        const get = p.getBindGroupLayout.bind(p);
        p.getBindGroupLayout = (i: number): GPUBindGroupLayout => {
          layoutLookups++;
          return get(i);
        };
        return p;
      };
      const model = smallCnn(e);
      const opt = new RMSprop(model.trainableParams(), { lr: 1e-3 });
      const bars = makeBars(8, 2);
      const x = e.upload(bars.images, [8, IMG, IMG, 1]);
      const y = e.upload(bars.labels, [8]);
      const step = (k: number): void =>
        e.tidy(() => {
          const loss = bceWithLogits(forwardLogits(model, x, { training: true, seed: 1, epoch: 0, step: k }), y);
          e.tape.backward(loss);
          opt.step();
          opt.zeroGrad();
        });
      step(0);
      step(1);
      await e.sync();
      const before = { generated: e.pipelines.generated, lookups: layoutLookups, misses: e.pipelines.misses };
      expect(before.lookups).toBe(before.misses);
      for (let k = 2; k < 5; k++) step(k);
      await e.sync();
      expect(e.pipelines.generated - before.generated).toBe(0);
      expect(layoutLookups - before.lookups).toBe(0);
      expect(e.pipelines.hits).toBeGreaterThan(0);
      opt.dispose();
      model.dispose();
      x.dispose();
      y.dispose();
    } finally {
      e.destroy();
    }
  });

  it('keeps live buffers flat over many replays and frees the plan on dispose', async () => {
    const e = await testEngine();
    const live0 = e.pool.counters.liveBuffers;
    const model = smallCnn(e);
    const opt = new RMSprop(model.trainableParams(), { lr: 1e-3 });
    const bars = makeBars(8, 3);
    const x = e.upload(bars.images, [8, IMG, IMG, 1]);
    const y = e.upload(bars.labels, [8]);
    const ctx = { training: true, seed: 1, epoch: 0, step: 0 };
    const step = e.capture([x, y], (xi, yi) => {
      const loss = bceWithLogits(forwardLogits(model, xi, ctx), yi);
      e.tape.backward(loss);
      opt.step();
      opt.zeroGrad();
      return loss;
    });
    expect(step.dispatchCount).toBeGreaterThan(10);
    step.replay();
    await e.sync();
    const live1 = e.pool.counters.liveBuffers;
    const losses: number[] = [];
    for (let k = 0; k < 20; k++) {
      ctx.step = k + 2;
      step.replay([x, y]);
      if (k % 10 === 0) losses.push((await step.outputs.readF32())[0]!);
    }
    await e.sync();
    expect(e.pool.counters.liveBuffers).toBe(live1);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(opt.iterations).toBe(22);
    step.dispose();
    opt.dispose();
    model.dispose();
    x.dispose();
    y.dispose();
    expect(e.pool.counters.liveBuffers).toBe(live0);
  });

  it('per-step values reach every replay, in buffers no earlier tensor of the step shares', async () => {
    const e = await testEngine();
    const x = e.upload(new Float32Array([1, 2, 3, 4]), [4]);
    const ctx = { k: 10 };
    const step = e.capture([x], (xi) => {
      const tmp = addTensors(e, xi, xi);
      const kept = addTensors(e, tmp, xi);
      tmp.dispose(); // its buffer is free for the step's later tensors of the same size…
      const s = e.uploadPerStep(() => new Float32Array(4).fill(ctx.k), [4]); // …but not for this one
      return addTensors(e, kept, s);
    });
    expect(Array.from(await step.outputs.readF32())).toEqual([13, 16, 19, 22]);
    for (const k of [20, 30]) {
      ctx.k = k;
      step.replay([x]);
      expect(Array.from(await step.outputs.readF32())).toEqual([3, 6, 9, 12].map((v) => v + k));
    }
    step.dispose();
    x.dispose();
  });

  it('fails clearly on misuse, naming the tensor', async () => {
    const e = await testEngine();
    const w = e.upload(new Float32Array([1, 2, 3, 4]), [4]);
    w.name = 'layer/kernel';
    const x = e.upload(new Float32Array([1, 1, 1, 1]), [4]);
    const mul = (a: Tensor): Tensor => {
      const out = e.empty([4]);
      e.run({
        name: 'mul_test',
        key: 'mul_test',
        code: () => `@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> o: array<f32>;
@compute @workgroup_size(4) fn main(@builtin(global_invocation_id) g: vec3u) { o[g.x] = a[g.x] * b[g.x]; }`,
        bindings: [a, w, out],
        workgroups: [1],
      });
      return out;
    };
    const step = e.capture([x], (xi) => mul(xi), { label: 'mul' });
    step.replay([e.upload(new Float32Array([2, 2, 2, 2]), [4])]);
    expect(Array.from(await step.outputs.readF32())).toEqual([2, 4, 6, 8]);
    // Input of another shape or dtype.
    expect(() => step.replay([e.upload(new Float32Array(8), [8])])).toThrow(/replay of captured step 'mul': input 0 .*\[8\].*captured for \[4\]/);
    expect(() => step.replay([new Float32Array(3)])).toThrow(/input 0 has 3 values/);
    // A captured tensor disposed after the capture.
    w.dispose();
    expect(() => step.replay()).toThrow(/layer\/kernel.*was disposed after the capture/);
    step.dispose();
    expect(() => step.replay()).toThrow(/the step was disposed/);

    const ext = e.full([4], 0);
    ext.name = 'outside';
    // Host data written into a tensor the step does not own, a readback, a nested capture: refused while capturing.
    expect(() => e.capture([x], () => e.write(ext, new Float32Array(4)), { label: 'w' })).toThrow(/captured step 'w': host data written into .*outside/);
    expect(() => e.capture([x], () => void ext.readF32(), { label: 'r' })).toThrow(/cannot read .*outside.* back while capturing/);
    expect(() => e.capture([x], () => e.capture([x], () => null), { label: 'outer' })).toThrow(/captures do not nest/);
    // A per-step callback writing a tensor the step already used.
    const lr = e.full([4], 1);
    lr.name = 'rate';
    expect(() =>
      e.capture(
        [lr],
        (l) => {
          const out = e.empty([4]);
          e.copy(l, out);
          e.perStep(() => e.write(l, new Float32Array(4)));
          return out;
        },
        { label: 'hook' },
      ),
    ).toThrow(/perStep callback writes .*hook\.input0.*already used/);
    expect(e.capturing).toBe(false);
    for (const t of [x, ext, lr]) t.dispose();
  });

  it('refuses to replay over a cached filter transform whose filter was written since the capture', async () => {
    const e = await testEngine();
    const conv = new Sequential('c', [new Conv2D('conv', { filters: 16, kernelSize: 3, padding: 'same' })]);
    conv.build([6, 6, 16], { engine: e, rng: new Rng(1) });
    conv.freeze();
    const rng = new Rng(2);
    const x = e.upload(Float32Array.from({ length: 2 * 6 * 6 * 16 }, () => rng.uniform(-1, 1)), [2, 6, 6, 16]);
    const fwd = (xi: Tensor): Tensor => e.noGrad(() => conv.forward(xi, { training: false, seed: 0, step: 0 }));
    e.tidy(() => fwd(x)).dispose(); // fills the transform cache
    const step = e.capture([x], fwd, { label: 'conv' });
    step.replay();
    const kernel = conv.params().find((p) => p.name === 'conv/kernel')!;
    e.write(kernel, await kernel.readF32());
    expect(() => step.replay()).toThrow(/Winograd filter transform of tensor #\d+ \(conv\/kernel\).*written since the capture/);
    step.dispose();
    conv.dispose();
    x.dispose();
  });
});
