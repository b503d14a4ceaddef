import { describe, expect, it } from 'vitest';
import type { Engine, Tensor } from '../src/engine/index.js';
import {
  add,
  bceWithLogits,
  concatChannels,
  conv2d,
  dense,
  depthwiseConv2d,
  dropout,
  globalAvgPool,
  matmul,
  maxPool2d,
  relu,
  relu6,
  sigmoid,
  zeroPad2d,
} from '../src/nn/functional/index.js';
import { testEngine } from './helpers/engine.js';
import { randomArray, size } from './helpers/small-ops.js';

/*
 * Every differentiable op in one graph, run twice: once keeping every intermediate alive until backward (the old
 * contract), once disposing each intermediate — and the image input and labels — as soon as the next op has consumed
 * it, with released buffers poisoned. The tape holds what each backward reads, so the gradients are bit-identical.
 */
const X = [2, 6, 6, 3];
const PARAMS: Record<string, { shape: number[]; trainable: boolean }> = {
  w1: { shape: [3, 3, 3, 4], trainable: true },
  b1: { shape: [4], trainable: false },
  wd: { shape: [3, 3, 8, 1], trainable: true },
  bd: { shape: [8], trainable: false },
  w2: { shape: [1, 1, 8, 8], trainable: false },
  b2: { shape: [8], trainable: true },
  wf: { shape: [32, 6], trainable: true },
  bf: { shape: [6], trainable: true },
  wm: { shape: [6, 1], trainable: true },
  wg: { shape: [8, 1], trainable: true },
};

type Params = Record<keyof typeof PARAMS, Tensor>;

function graph(x: Tensor, labels: Tensor, p: Params, disposeEarly: boolean): Tensor {
  const free = <T extends Tensor>(y: T, ...used: Tensor[]): T => {
    if (disposeEarly) for (const t of used) t.dispose();
    return y;
  };
  const c1 = free(conv2d(x, p.w1, p.b1, { relu: true }), x); // [2,6,6,4]; its filter gradient reads x
  const s1 = sigmoid(c1);
  const k = free(concatChannels([c1, s1]), c1, s1); // [2,6,6,8]
  const padded = free(zeroPad2d(k, [1, 0, 0, 1]), k); // [2,7,7,8]
  const d = free(depthwiseConv2d(padded, p.wd, p.bd, { stride: 2, activation: 'relu6' }), padded); // [2,4,4,8]
  const c2 = conv2d(d, p.w2, p.b2); // frozen filter: the backward reads w2, not d
  const r6 = free(relu6(c2), c2);
  const rd = relu(d);
  const r = free(add(r6, rd), r6, rd, d);
  const m = maxPool2d(r, { size: 2, stride: 2 }); // [2,2,2,8]
  const ga = free(globalAvgPool(r), r); // [2,8]
  const f = free(m.flatten(), m); // [2,32], a view
  const h = free(dense(f, p.wf, p.bf, { relu: true }), f); // [2,6]
  const dr = free(dropout(h, 0.25, { seed: 3, step: 1 }), h);
  const o1 = free(matmul(dr, p.wm), dr);
  const o2 = free(dense(ga, p.wg, null), ga);
  const o = free(add(o1, o2), o1, o2); // [2,1]
  const z = free(o.reshape([-1]), o);
  return free(bceWithLogits(z, labels), z, labels);
}

function makeParams(e: Engine): Params {
  const out: Partial<Params> = {};
  Object.entries(PARAMS).forEach(([name, { shape, trainable }], i) => {
    const t = e.upload(randomArray(size(shape), 40 + i, -0.7, 0.7), shape);
    t.trainable = t.requiresGrad = trainable;
    out[name as keyof Params] = t;
  });
  return out as Params;
}

describe('the tape owns what every differentiable op reads', () => {
  const xData = randomArray(size(X), 31, -1, 1);
  const labelData = new Float32Array([1, 0]);

  async function step(e: Engine, p: Params, disposeEarly: boolean): Promise<Map<string, Float32Array>> {
    const x = e.upload(xData, X);
    const labels = e.upload(labelData, [2]);
    const loss = graph(x, labels, p, disposeEarly);
    if (disposeEarly) expect(x.disposed && labels.disposed).toBe(true);
    e.tape.backward(loss);
    loss.dispose();
    if (!disposeEarly) for (const t of [x, labels]) t.dispose();
    const grads = new Map<string, Float32Array>();
    for (const [name, t] of Object.entries(p)) {
      if (!t.trainable) {
        expect(t.grad, name).toBeNull();
        continue;
      }
      grads.set(name, await t.grad!.readF32());
      t.grad!.dispose();
      t.grad = null;
    }
    return grads;
  }

  it('gradients are bit-identical when every intermediate and input is disposed right after use, and nothing leaks', async () => {
    const e = await testEngine();
    const p = makeParams(e);
    // Keep-alive run, in a scope that frees the intermediates at its end (also warms caches and pipelines).
    const kept = await e.tidyAsync(() => step(e, p, false));
    expect(e.tape.length).toBe(0);
    await e.sync();
    const before = { ...e.pool.counters };
    e.poisonReleased = true;
    let eager: Map<string, Float32Array>;
    try {
      eager = await step(e, p, true);
    } finally {
      e.poisonReleased = false;
    }
    await e.sync();
    expect(e.tape.heldTensors).toBe(0);
    expect(e.pool.counters.liveBuffers).toBe(before.liveBuffers);
    expect(e.pool.counters.liveBytes).toBe(before.liveBytes);
    expect([...eager.keys()]).toEqual([...kept.keys()]);
    for (const [name, g] of kept) {
      expect(g.some((v) => v !== 0), `${name} has a gradient`).toBe(true);
      expect(Array.from(eager.get(name)!), name).toEqual(Array.from(g));
    }
    for (const t of Object.values(p)) t.dispose();
  });

  it('holds only what the backward reads: a frozen conv keeps its filter, not its input', async () => {
    const e = await testEngine();
    const x = e.upload(randomArray(2 * 4 * 4 * 3, 50), [2, 4, 4, 3]);
    x.requiresGrad = true;
    const w = e.upload(randomArray(3 * 3 * 3 * 2, 51), [3, 3, 3, 2]);
    const y = conv2d(x, w, null); // frozen filter, no ReLU: the input gradient reads only w
    expect(e.tape.heldTensors).toBe(1);
    const before = e.pool.counters.liveBuffers;
    x.dispose(); // nobody holds x's buffer any more
    expect(e.pool.counters.liveBuffers).toBe(before - 1);
    e.tape.clear();
    y.dispose();
    w.dispose();
  });
});
