import { describe, expect, it } from 'vitest';
import type { Engine, Tensor } from '../src/engine/index.js';
import { add, bceWithLogits, concatChannels, dropout, globalAvgPool, maxPool2d, relu, sigmoid } from '../src/nn/functional/index.js';
import { refConcatChannels, refConcatChannelsBackward } from '../src/reference/concat.js';
import { refDropout } from '../src/reference/dropout.js';
import { refAdd, refRelu, refReluBackward, refSigmoid, refSigmoidBackward } from '../src/reference/elementwise.js';
import { refBceWithLogits, refBceWithLogitsBackward } from '../src/reference/loss.js';
import { refGlobalAvgPool, refGlobalAvgPoolBackward, refMaxPool, refMaxPoolBackward } from '../src/reference/pool.js';
import { testEngine } from './helpers/engine.js';
import { expectClose, FWD_TOL, GRAD_TOL, numericGrad, randomArray, size } from './helpers/small-ops.js';

/*
 * A chain of every small op:
 *   h = relu(x) + b;  p = maxPool3x3/2,ceil(h);  c = concat(sigmoid(p), p);  g = gap(c);  d = dropout(g);  loss = bce(d, labels)
 */
const SHAPE = [2, 6, 5, 3];
const POOL = { size: 3, stride: 2, ceilMode: true };
const DROP = { rate: 0.25, seed: 5, step: 3 };

function chainGpu(x: Tensor, b: Tensor, labels: Tensor): Tensor {
  const p = maxPool2d(add(relu(x), b), POOL);
  const g = globalAvgPool(concatChannels([sigmoid(p), p]));
  const d = dropout(g, DROP.rate, DROP);
  return bceWithLogits(d.reshape([-1]), labels);
}

function chainRef(x: Float64Array, b: Float64Array, labels: Float32Array): { loss: number; gx: Float64Array; gb: Float64Array } {
  const h = refAdd(refRelu(x), b);
  const pool = refMaxPool(h, SHAPE, POOL);
  const pShape = pool.shape;
  const positions = size(pShape.slice(0, 3));
  const c = pShape[3]!;
  const s = refSigmoid(pool.y);
  const cat = refConcatChannels([s, pool.y], [c, c], positions);
  const catShape = [...pShape.slice(0, 3), 2 * c];
  const g = refGlobalAvgPool(cat, catShape);
  const d = refDropout(g, DROP.rate, DROP.seed, DROP.step);
  const loss = refBceWithLogits(d, labels);
  // Backward, op by op in reverse.
  const gd = refBceWithLogitsBackward(d, labels);
  const gg = refDropout(gd, DROP.rate, DROP.seed, DROP.step);
  const gcat = refGlobalAvgPoolBackward(gg, catShape);
  const [gs, gp1] = refConcatChannelsBackward(gcat, [c, c], positions) as [Float64Array, Float64Array];
  const gp = refAdd(refSigmoidBackward(pool.y, gs), gp1);
  const gh = refMaxPoolBackward(gp, pool.argmax, h.length);
  return { loss, gx: refReluBackward(x, gh), gb: gh };
}

function param(e: Engine, data: Float32Array, shape: number[]): Tensor {
  const t = e.upload(data, shape);
  t.trainable = true;
  t.requiresGrad = true;
  return t;
}

describe('autograd through the small ops', () => {
  const n = size(SHAPE);
  const xData = randomArray(n, 1, -2, 2);
  const bData = randomArray(n, 2, -1, 1);
  const labelData = Float32Array.from({ length: 12 }, (_, i) => (i * 7) % 3 === 0 ? 1 : 0);

  it('the reference chain matches finite differences', () => {
    const x = Float64Array.from(xData);
    const b = Float64Array.from(bData);
    const ref = chainRef(x, b, labelData);
    expectClose(ref.gx, numericGrad((v) => chainRef(v, b, labelData).loss, x, 1e-6), 1e-6, 'dloss/dx');
    expectClose(ref.gb, numericGrad((v) => chainRef(x, v, labelData).loss, b, 1e-6), 1e-6, 'dloss/db');
  });

  it('gradients match the reference and accumulate until zeroed', async () => {
    const e = await testEngine();
    const x = param(e, xData, SHAPE);
    const b = param(e, bData, SHAPE);
    const labels = e.upload(labelData, [12]);
    const ref = chainRef(Float64Array.from(xData), Float64Array.from(bData), labelData);
    const step = (): Promise<Float32Array> =>
      e.tidyAsync(async () => {
        const loss = chainGpu(x, b, labels);
        e.tape.backward(loss);
        return loss.readF32();
      });
    expectClose(await step(), [ref.loss], FWD_TOL, 'loss');
    expectClose(await x.grad!.readF32(), ref.gx, GRAD_TOL, 'x.grad');
    expectClose(await b.grad!.readF32(), ref.gb, GRAD_TOL, 'b.grad');
    await step();
    expectClose(await x.grad!.readF32(), ref.gx.map((v) => 2 * v), GRAD_TOL, 'x.grad after two backward passes');
    expectClose(await b.grad!.readF32(), ref.gb.map((v) => 2 * v), GRAD_TOL, 'b.grad after two backward passes');
    for (const t of [x, b]) {
      t.grad!.dispose();
      t.grad = null;
    }
    await step();
    expectClose(await x.grad!.readF32(), ref.gx, GRAD_TOL, 'x.grad after zeroing');
    expect(e.tape.length).toBe(0);
    for (const t of [x, b, x.grad!, b.grad!, labels]) t.dispose();
  });

  it('noGrad records nothing and leaves gradients alone', async () => {
    const e = await testEngine();
    const x = param(e, xData, SHAPE);
    const b = param(e, bData, SHAPE);
    const labels = e.upload(labelData, [12]);
    const before = e.tape.length;
    const loss = await e.tidyAsync(async () => {
      const l = e.noGrad(() => chainGpu(x, b, labels));
      expect(l.requiresGrad).toBe(false);
      expect(e.tape.length).toBe(before);
      return l.readF32();
    });
    expect(loss[0]).toBeCloseTo(chainRef(Float64Array.from(xData), Float64Array.from(bData), labelData).loss, 5);
    expect(x.grad).toBeNull();
    for (const t of [x, b, labels]) t.dispose();
  });

  it('ops on tensors without requiresGrad record nothing; backward skips inputs that need no gradient', async () => {
    const e = await testEngine();
    const a = e.upload(randomArray(2 * 3 * 3 * 4, 3), [2, 3, 3, 4]);
    const w = e.upload(randomArray(2 * 3 * 3 * 4, 4), [2, 3, 3, 4]);
    e.tidy(() => {
      const before = e.tape.length;
      globalAvgPool(concatChannels([relu(a), sigmoid(w)]));
      maxPool2d(add(a, w), { size: 2, stride: 2 });
      expect(e.tape.length).toBe(before);
    });
    w.requiresGrad = true;
    e.resetStats();
    const gyData = randomArray(2 * 3 * 3 * 8, 5);
    e.tidy(() => {
      const y = concatChannels([relu(a), w]);
      e.tape.backward(y, e.upload(gyData, y.shape));
    });
    // Only w's slice is computed; relu(a) had no record, so no relu backward either.
    expect(e.stats.dispatches.get('concat_bwd_slice')).toBe(1);
    expect(e.stats.dispatches.get('relu_bwd')).toBeUndefined();
    expectClose(await w.grad!.readF32(), refConcatChannelsBackward(gyData, [4, 4], 18)[1]!, GRAD_TOL, 'w.grad');
    for (const t of [a, w, w.grad!]) t.dispose();
  });

  it('add gives two leaves separate gradient buffers', async () => {
    const e = await testEngine();
    const a = param(e, randomArray(6, 6), [6]);
    const b = param(e, randomArray(6, 7), [6]);
    const gy = randomArray(6, 8);
    for (let k = 0; k < 2; k++) e.tidy(() => e.tape.backward(add(a, b), e.upload(gy, [6])));
    expect(a.grad!.buffer).not.toBe(b.grad!.buffer);
    expectClose(await a.grad!.readF32(), gy.map((v) => 2 * v), GRAD_TOL, 'a.grad');
    expectClose(await b.grad!.readF32(), gy.map((v) => 2 * v), GRAD_TOL, 'b.grad');
    for (const t of [a, b, a.grad!, b.grad!]) t.dispose();
  });

  it('a training-step loop keeps live buffers flat', async () => {
    const e = await testEngine();
    const x = param(e, xData, SHAPE);
    const b = param(e, bData, SHAPE);
    const labels = e.upload(labelData, [12]);
    const run = (): void =>
      e.tidy(() => {
        for (const t of [x, b]) {
          t.grad?.dispose();
          t.grad = null;
        }
        e.tape.backward(chainGpu(x, b, labels));
      });
    run();
    const start = { ...e.pool.counters };
    for (let i = 0; i < 5; i++) run();
    await e.sync();
    expect(e.pool.counters.liveBuffers).toBe(start.liveBuffers);
    expect(e.pool.counters.liveBytes).toBe(start.liveBytes);
    for (const t of [x, b, x.grad!, b.grad!, labels]) t.dispose();
  });
});

/** The same chain, but the caller frees every intermediate (and the labels) as soon as the next op has consumed it. */
function chainGpuDisposing(x: Tensor, b: Tensor, labels: Tensor): Tensor {
  const free = <T extends Tensor>(y: T, ...used: Tensor[]): T => {
    for (const t of used) t.dispose();
    return y;
  };
  const r = relu(x);
  const h = free(add(r, b), r);
  const p = free(maxPool2d(h, POOL), h); // maxPool's backward reads its argmax, which the op itself owns
  const s = sigmoid(p); // sigmoid's backward reads s
  const c = free(concatChannels([s, p]), s, p);
  const g = free(globalAvgPool(c), c);
  const d = free(dropout(g, DROP.rate, DROP), g); // dropout's backward reads its per-step seeds
  const flat = free(d.reshape([-1]), d);
  return free(bceWithLogits(flat, labels), flat, labels); // bce's backward reads its logits and the labels
}

describe('the tape owns what backward reads', () => {
  const n = size(SHAPE);
  const xData = randomArray(n, 11, -2, 2);
  const bData = randomArray(n, 12, -1, 1);
  const labelData = Float32Array.from({ length: 12 }, (_, i) => (i % 3 === 1 ? 1 : 0));
  const ref = chainRef(Float64Array.from(xData), Float64Array.from(bData), labelData);

  it('exact gradients when the caller disposes every intermediate right after the forward (freed buffers poisoned)', async () => {
    const e = await testEngine();
    const x = param(e, xData, SHAPE);
    const b = param(e, bData, SHAPE);
    // Poisoning fills every released buffer with NaN: a backward reading a tensor the tape did not hold would see it.
    e.poisonReleased = true;
    try {
      const loss = chainGpuDisposing(x, b, e.upload(labelData, [12]));
      expect(e.tape.heldTensors).toBeGreaterThan(0);
      expectClose(await loss.readF32(), [ref.loss], FWD_TOL, 'loss');
      e.tape.backward(loss);
      loss.dispose();
      expect(e.tape.heldTensors).toBe(0);
    } finally {
      e.poisonReleased = false;
    }
    expectClose(await x.grad!.readF32(), ref.gx, GRAD_TOL, 'x.grad');
    expectClose(await b.grad!.readF32(), ref.gb, GRAD_TOL, 'b.grad');
    for (const t of [x, b, x.grad!, b.grad!]) t.dispose();
  });

  it('an input the caller disposed before backward still gives the same gradient', async () => {
    const e = await testEngine();
    const z = param(e, randomArray(12, 13, -3, 3), [12]);
    const gradWith = async (disposeEarly: boolean): Promise<Float32Array> => {
      const labels = e.upload(labelData, [12]);
      const h = sigmoid(z); // a non-leaf input of relu, whose backward reads it
      const r = relu(h);
      const loss = bceWithLogits(r, labels);
      r.dispose();
      if (disposeEarly) {
        h.dispose();
        labels.dispose();
        // Allocations of the same sizes would reuse the freed buffers if nothing held them.
        e.upload(new Float32Array(12).fill(-7), [12]).dispose();
        e.full([12], 1e6).dispose();
      }
      e.tape.backward(loss);
      loss.dispose();
      if (!disposeEarly) for (const t of [h, labels]) t.dispose();
      const g = await z.grad!.readF32();
      z.grad!.dispose();
      z.grad = null;
      return g;
    };
    const kept = await gradWith(false);
    e.poisonReleased = true;
    try {
      expect(Array.from(await gradWith(true))).toEqual(Array.from(kept));
    } finally {
      e.poisonReleased = false;
    }
    z.dispose();
  });

  it('nothing leaks: live buffers return to their count before the forward after backward, clear() or a scope', async () => {
    const e = await testEngine();
    const x = param(e, xData, SHAPE);
    const b = param(e, bData, SHAPE);
    const forward = (): Tensor => chainGpuDisposing(x, b, e.upload(labelData, [12]));
    const dropGrads = (): void => {
      for (const t of [x, b]) {
        t.grad?.dispose();
        t.grad = null;
      }
    };
    await e.sync();
    const before = e.pool.counters.liveBuffers;
    const beforeBytes = e.pool.counters.liveBytes;

    // Backward releases what each record held.
    const loss = forward();
    expect(e.pool.counters.liveBuffers).toBeGreaterThan(before + 1);
    e.tape.backward(loss);
    loss.dispose();
    dropGrads();
    expect(e.tape.length).toBe(0);
    expect(e.pool.counters.liveBuffers).toBe(before);
    expect(e.pool.counters.liveBytes).toBe(beforeBytes);

    // clear() without a backward.
    const unused = forward();
    expect(e.tape.heldTensors).toBeGreaterThan(0);
    e.tape.clear();
    unused.dispose();
    expect(e.tape.heldTensors).toBe(0);
    expect(e.pool.counters.liveBuffers).toBe(before);

    // A forward pass in a scope that never had a backward is pruned when the outermost scope ends.
    e.tidy(() => void forward());
    expect(e.tape.length).toBe(0);
    expect(e.pool.counters.liveBuffers).toBe(before);

    // A record is kept while it feeds an output that is still alive, even if its own output was disposed.
    const kept = e.tidy(() => forward());
    expect(e.tape.length).toBeGreaterThan(1);
    e.tape.backward(kept);
    kept.dispose();
    expectClose(await x.grad!.readF32(), chainRef(Float64Array.from(xData), Float64Array.from(bData), labelData).gx, GRAD_TOL, 'x.grad across a scope');
    dropGrads();
    expect(e.pool.counters.liveBuffers).toBe(before);
    for (const t of [x, b]) t.dispose();
  });

  it('a backward that throws releases what the tape held', async () => {
    const e = await testEngine();
    const a = param(e, randomArray(6, 14), [6]);
    await e.sync();
    const before = e.pool.counters.liveBuffers;
    const y = sigmoid(a);
    const s = e.upload(randomArray(6, 15), [6]);
    const z = e.empty([6]);
    e.tape.record('broken', [y], z, () => {
      throw new Error('broken backward');
    }, [s, y]);
    for (const t of [s, y]) t.dispose();
    expect(e.tape.heldTensors).toBe(3); // sigmoid's output, and the broken op's two
    expect(() => e.tape.backward(z)).toThrow('broken backward');
    expect(e.tape.length).toBe(0);
    expect(e.tape.heldTensors).toBe(0);
    z.dispose();
    expect(a.grad).toBeNull();
    expect(e.pool.counters.liveBuffers).toBe(before);
    a.dispose();
  });
});
