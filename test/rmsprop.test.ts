import { describe, expect, it } from 'vitest';
import type { Tensor } from '../src/engine/index.js';
import { rmspropStep } from '../src/kernels/rmsprop.js';
import { RMSprop } from '../src/nn/optim/rmsprop.js';
import { refRmspropLr, refRmspropStep } from '../src/reference/rmsprop.js';
import { testEngine } from './helpers/engine.js';
import { expectClose, FWD_TOL, randomArray, size } from './helpers/small-ops.js';

describe('RMSprop (Keras 2 semantics)', () => {
  it('the fused kernel follows the float64 reference over several steps', async () => {
    const e = await testEngine();
    const misses = e.pipelines.misses;
    for (const shape of [[7, 5], [1], [3, 3, 3, 17], [1000]]) {
      await e.tidyAsync(async () => {
        const n = size(shape);
        const opts = { lr: 0.01, rho: 0.9, epsilon: 1e-7, decay: 0.05 };
        const pData = randomArray(n, 1);
        const p = e.upload(pData, shape);
        const a = e.full(shape, 0);
        const refP = Float64Array.from(pData);
        const refA = new Float64Array(n);
        for (let step = 0; step < 5; step++) {
          // Gradients spanning magnitudes, including exact zeros (where a stays tiny and ε matters).
          const g = randomArray(n, 10 + step).map((v, i) => (i % 5 === 0 ? 0 : v * 10 ** ((i % 7) - 4)));
          rmspropStep(e, p, e.upload(g, shape), a, e.full([1], refRmspropLr(opts, step)), opts.rho, opts.epsilon);
          refRmspropStep(refP, refA, g, opts, step);
        }
        expectClose(await p.readF32(), refP, FWD_TOL, `parameters [${shape}]`);
        expectClose(await a.readF32(), refA, FWD_TOL, `accumulators [${shape}]`);
      });
    }
    // The learning rate is a runtime value: one pipeline per tensor size serves every step.
    expect(e.pipelines.misses - misses).toBe(4);
  });

  it('the reference puts ε outside the square root and starts from a = 0', () => {
    const [g, lr, eps] = [3e-4, 0.1, 1e-7];
    const p = Float64Array.from([1]);
    const a = Float64Array.from([0]);
    refRmspropStep(p, a, [g], { lr, epsilon: eps }, 0);
    expect(a[0]).toBeCloseTo(0.1 * g * g, 15);
    expect(p[0]).toBeCloseTo(1 - (lr * g) / (Math.sqrt(0.1) * g + eps), 12);
    expect(refRmspropLr({ lr: 1, decay: 0.5 }, 2)).toBe(0.5);
  });

  it('RMSprop.step updates parameters with gradients, skips the others, and counts iterations', async () => {
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
    const opts = { lr: 0.05, decay: 0.1 };
    const opt = new RMSprop(params, opts);
    expect([...opt.stateTensors().keys()]).toEqual(['layer/w0', 'layer/w1', 'layer/w2']);
    const refP = data.map((d) => Float64Array.from(d));
    const refA = data.map((d) => new Float64Array(d.length));
    for (let step = 0; step < 3; step++) {
      const grads = shapes.map((s, i) => randomArray(size(s), 100 * step + i));
      // Parameter 1 has no gradient (as if frozen): it must stay bit-identical.
      params.forEach((p, i) => {
        if (i !== 1) p.grad = e.keep(e.upload(grads[i]!, p.shape));
      });
      opt.step();
      for (const i of [0, 2]) refRmspropStep(refP[i]!, refA[i]!, grads[i]!, opts, step);
      opt.zeroGrad();
      expect(params.every((p) => p.grad === null)).toBe(true);
    }
    expect(opt.iterations).toBe(3);
    expect(opt.currentLr).toBeCloseTo(0.05 / 1.3, 12);
    expectClose(await params[0]!.readF32(), refP[0]!, FWD_TOL, 'parameter 0');
    expectClose(await params[2]!.readF32(), refP[2]!, FWD_TOL, 'parameter 2');
    expectClose(await opt.stateTensors().get('layer/w2')!.readF32(), refA[2]!, FWD_TOL, 'accumulator 2');
    expect(Array.from(await params[1]!.readF32())).toEqual(Array.from(data[1]!));
    expect(Array.from(await opt.stateTensors().get('layer/w1')!.readF32())).toEqual([0, 0, 0]);
    opt.dispose();
    params.forEach((p: Tensor) => p.dispose());
  });

  it('refuses invalid options and duplicate parameter names', async () => {
    const e = await testEngine();
    const a = e.full([2], 0);
    a.name = 'x';
    const b = e.full([2], 0);
    b.name = 'x';
    expect(() => new RMSprop([a], { lr: 0 })).toThrow(/invalid/);
    expect(() => new RMSprop([a, b], { lr: 1e-3 })).toThrow(/named x/);
    a.dispose();
    b.dispose();
  });
});
