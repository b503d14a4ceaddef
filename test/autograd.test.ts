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
