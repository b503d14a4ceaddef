import { describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine/index.js';
import { bceWithLogits } from '../src/nn/functional/index.js';
import { RMSprop } from '../src/nn/optim/index.js';
import { testEngine } from './helpers/engine.js';
import { gather, IMG, makeBars } from './helpers/bars.js';
import { freeze, SmallCnn } from './helpers/small-cnn.js';

const STEPS = 4;
const BATCH = 8;

/** conv1 → pool → conv2 → conv3 → pool → dense; returns dispatch counts of STEPS training steps. */
async function train(e: Engine, frozen: boolean): Promise<{ counts: Map<string, number>; net: SmallCnn; before: Float32Array[]; opt: RMSprop }> {
  const net = new SmallCnn(e, 7, [8, 8, 16], new Set([0, 2]));
  if (frozen) for (const p of [net.convs[0]!.w, net.convs[0]!.b]) freeze(p);
  const before = await Promise.all(net.params.map((p) => p.readF32()));
  const opt = new RMSprop(net.params, { lr: 1e-2 });
  const data = makeBars(STEPS * BATCH, 8);
  e.resetStats();
  for (let s = 0; s < STEPS; s++) {
    const { x, y } = gather(data, Array.from({ length: BATCH }, (_, k) => s * BATCH + k));
    e.tidy(() => {
      opt.zeroGrad();
      const loss = bceWithLogits(net.forward(e.upload(x, [BATCH, IMG, IMG, 1])), e.upload(y, [BATCH]));
      e.tape.backward(loss);
      opt.step();
    });
  }
  await e.sync();
  return { counts: new Map(e.stats.dispatches), net, before, opt };
}

const count = (m: Map<string, number>, name: string): number => m.get(name) ?? 0;
/** Input gradients of convolutions, by either algorithm (3×3 stride-1 layers with enough channels take Winograd). */
const gradInputs = (m: Map<string, number>): number => count(m, 'conv2d_grad_input') + count(m, 'winograd_gx_output');

describe('freezing the first layers', () => {
  it('frozen weights stay bit-identical and their backward kernels never run', async () => {
    const e = await testEngine();
    const { counts, net, before, opt } = await train(e, true);
    const [conv1, conv2, conv3] = net.convs as [typeof net.convs[0], typeof net.convs[0], typeof net.convs[0]];
    expect(Array.from(await conv1.w.readF32())).toEqual(Array.from(before[0]!));
    expect(Array.from(await conv1.b.readF32())).toEqual(Array.from(before[1]!));
    expect(conv1.w.grad).toBeNull();
    expect(opt.stateTensors().get('conv1/kernel')!.size).toBe(conv1.w.size);
    expect(Array.from(await opt.stateTensors().get('conv1/kernel')!.readF32()).every((v) => v === 0)).toBe(true);
    // The trainable layers did move.
    for (const [k, p] of [conv2.w, conv3.w, net.head.w].entries()) {
      const now = await p.readF32();
      expect(now.some((v, i) => v !== before[2 + 2 * k]![i]), p.name).toBe(true);
    }
    // Filter gradients for conv2 and conv3 only; input gradient only for conv3 (conv2's input comes from the frozen part).
    expect(count(counts, 'conv2d_fwd')).toBe(3 * STEPS);
    expect(count(counts, 'conv2d_grad_filter')).toBe(2 * STEPS);
    expect(gradInputs(counts)).toBe(STEPS);
    // The pool after the frozen conv records nothing: no argmax, no backward.
    expect(count(counts, 'maxpool_fwd')).toBe(STEPS);
    expect(count(counts, 'maxpool_fwd_argmax')).toBe(STEPS);
    expect(count(counts, 'maxpool_bwd')).toBe(STEPS);
    // One fused update per trainable tensor (conv2, conv3, dense: weights and biases).
    expect(count(counts, 'rmsprop_step')).toBe(6 * STEPS);
    opt.dispose();
    net.dispose();
  });

  it('without freezing, the same loop runs every conv backward that has a use (baseline for the counts above)', async () => {
    const e = await testEngine();
    const { counts, net, before, opt } = await train(e, false);
    expect(Array.from(await net.convs[0]!.w.readF32()).some((v, i) => v !== before[0]![i])).toBe(true);
    expect(count(counts, 'conv2d_grad_filter')).toBe(3 * STEPS);
    // The first conv's input is the image, which needs no gradient: never a grad-input for it.
    expect(gradInputs(counts)).toBe(2 * STEPS);
    expect(count(counts, 'maxpool_bwd')).toBe(2 * STEPS);
    expect(count(counts, 'rmsprop_step')).toBe(8 * STEPS);
    opt.dispose();
    net.dispose();
  });
});
