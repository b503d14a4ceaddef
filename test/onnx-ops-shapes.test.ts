import { describe, expect, it } from 'vitest';
import { broadcastLayout, broadcastShape, sumTo } from '../src/kernels/broadcast.js';
import { permuteLayout } from '../src/kernels/permute.js';
import type { Tensor } from '../src/engine/index.js';
import { broadcastAdd, broadcastDiv, broadcastMul, broadcastSub, clip, hardSigmoid, logSoftmax, permute, softmax } from '../src/nn/ops/index.js';
import { refSoftmax } from '../src/reference/softmax.js';
import { testEngine } from './helpers/engine.js';
import { expectClose, randomArray } from './helpers/small-ops.js';

/*
 * What the op table's generic test cannot say about the broadcast, permute and softmax entries: the errors for shapes
 * they do not take, how their kernels compact the index space, a softmax over more rows than one grid dimension holds,
 * that the broadcast backward's sums are reproducible bit for bit, and that forward + backward leave no buffer behind.
 */

describe('broadcast, permute and softmax: shapes', () => {
  it('incompatible shapes and bad permutations stop with the shapes named', async () => {
    const e = await testEngine();
    const a = e.upload(new Float32Array(6), [2, 3]);
    const b = e.upload(new Float32Array(4), [4]);
    try {
      expect(() => broadcastAdd(a, b)).toThrow(/\[2, 3\] and \[4\] do not broadcast/);
      expect(() => broadcastShape('broadcastMul', [[2, 1, 5], [3, 4]])).toThrow(/\[2, 1, 5\] and \[3, 4\]/);
      expect(() => sumTo(e, a, [2])).toThrow(/\[2\] does not broadcast to \[2, 3\]/);
      expect(() => sumTo(e, b, [1, 4])).toThrow(/cannot sum \[4\] to the longer shape \[1, 4\]/);
      expect(() => permute(a, [0, 0])).toThrow(/\[0, 0\] is not a permutation of the 2 axes of \[2, 3\]/);
      expect(() => permute(a, [1, 0, 2])).toThrow(/not a permutation/);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('the kernels index merged dimensions: squeeze-excitation as [N, H·W, C], NHWC → NCHW as [N, C, H·W]', () => {
    expect(broadcastLayout([2, 3, 4, 5], [[2, 1, 1, 5], [2, 3, 4, 5]])).toEqual({ dims: [2, 12, 5], strides: [[5, 0, 1], [60, 5, 1]] });
    expect(broadcastLayout([3, 4, 5], [[3, 4, 5], [3, 4, 5]])).toEqual({ dims: [60], strides: [[1], [1]] });
    expect(broadcastLayout([2, 3, 4, 5], [[5], [2, 3, 4, 5]])).toEqual({ dims: [24, 5], strides: [[0, 1], [5, 1]] });
    expect(permuteLayout([2, 3, 4, 5], [0, 3, 1, 2])).toEqual({ dims: [2, 5, 12], strides: [60, 1, 5] });
    expect(permuteLayout([1, 5, 1, 6], [3, 1, 2, 0])).toEqual({ dims: [6, 5], strides: [1, 6] });
    expect(permuteLayout([3, 4, 5], [0, 1, 2])).toEqual({ dims: [60], strides: [1] });
  });

  it('softmax over more rows than one workgroup-grid dimension holds (a 2-D grid)', async () => {
    const e = await testEngine();
    const rows = 70_001;
    const host = randomArray(rows * 3, 5, -6, 6);
    const x = e.upload(host, [rows, 3]);
    const y = softmax(x);
    try {
      expectClose(await y.readF32(), refSoftmax(host, 3), 1e-5, 'softmax [70001, 3]');
    } finally {
      x.dispose();
      y.dispose();
    }
  });

  it('the broadcast backward is reproducible bit for bit (its sums run in a fixed order)', async () => {
    const e = await testEngine();
    const run = async (): Promise<Float32Array> => {
      const a = e.upload(randomArray(2 * 40 * 40 * 8, 1), [2, 40, 40, 8]);
      const s = e.upload(randomArray(2 * 8, 2), [2, 1, 1, 8]);
      s.requiresGrad = true;
      const y = broadcastMul(a, s);
      e.tape.backward(y, e.upload(randomArray(y.size, 3), y.shape));
      const g = await s.grad!.readF32();
      for (const t of [a, s, y, s.grad!]) t.dispose();
      return g;
    };
    const first = await run();
    expect(await run()).toEqual(first);
  });

  it('forward and backward leave no buffer behind (every intermediate of the gradient sums is released)', async () => {
    const e = await testEngine();
    const cases: [string, number[], number[] | null, (a: Tensor, b: Tensor | null) => Tensor][] = [
      ['broadcastAdd', [2, 5, 6, 4], [2, 1, 1, 4], (a, b) => broadcastAdd(a, b!)],
      ['broadcastAdd equal', [3, 4], [3, 4], (a, b) => broadcastAdd(a, b!)],
      ['broadcastSub', [3, 1, 4], [1, 5, 1], (a, b) => broadcastSub(a, b!)],
      ['broadcastSub equal', [3, 4], [3, 4], (a, b) => broadcastSub(a, b!)],
      ['broadcastMul', [2, 30, 30, 4], [2, 1, 1, 4], (a, b) => broadcastMul(a, b!)],
      ['broadcastDiv', [4], [2, 3, 3, 4], (a, b) => broadcastDiv(a, b!)],
      ['permute', [2, 3, 4, 5], null, (a) => permute(a, [0, 3, 1, 2])],
      ['softmax', [6, 100], null, (a) => softmax(a)],
      ['logSoftmax', [6, 100], null, (a) => logSoftmax(a)],
      ['hardSigmoid', [50], null, (a) => hardSigmoid(a)],
      ['clip', [50], null, (a) => clip(a, -0.5, 0.5)],
    ];
    for (const [what, sa, sb, f] of cases) {
      const start = { ...e.pool.counters };
      const a = e.upload(randomArray(sa.reduce((p, d) => p * d, 1), 1), sa);
      const b = sb ? e.upload(randomArray(sb.reduce((p, d) => p * d, 1), 2, 0.5, 1.5), sb) : null;
      a.requiresGrad = true;
      if (b) b.requiresGrad = true;
      const y = f(a, b);
      e.tape.backward(y, e.upload(randomArray(y.size, 3), y.shape));
      await e.sync();
      for (const t of [a, b, y, a.grad, b?.grad]) t?.dispose();
      expect(e.pool.counters.liveBuffers, what).toBe(start.liveBuffers);
      expect(e.pool.counters.liveBytes, what).toBe(start.liveBytes);
    }
  });
});
