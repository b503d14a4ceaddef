// GPU memory: the engine's live and peak byte counts (pool and captured steps).
import { describe, expect, it } from 'vitest';
import { addTensors } from '../src/engine/index.js';
import { testEngine } from './helpers/engine.js';

describe('GPU memory accounting', () => {
  it('peak tracking counts a known allocation pattern exactly', async () => {
    const e = await testEngine();
    await e.sync();
    const base = e.memoryStats();
    e.resetPeak();
    expect(e.memoryStats()).toEqual({ ...base, peakBytes: base.liveBytes });
    const at = (live: number, peak: number, step = 0): void => {
      expect(e.memoryStats()).toEqual({ liveBytes: base.liveBytes + live, peakBytes: base.liveBytes + peak, stepBytes: base.stepBytes + step });
    };
    // Buffer capacities (size classes): 4096, 8192, and 4000 bytes → 4096.
    const a = e.empty([1024]);
    const b = e.empty([2048]);
    const c = e.empty([1000]);
    at(16384, 16384);
    // A view holds no buffer of its own.
    const v = c.reshape([10, 100]);
    at(16384, 16384);
    a.dispose();
    b.dispose();
    at(4096, 16384);
    // 12000 bytes → 16384: a new peak of 20480.
    const d = e.empty([3000]);
    at(20480, 20480);
    d.dispose();
    // A reused buffer counts as much as a new one.
    const a2 = e.empty([1024]);
    at(8192, 20480);
    e.resetPeak();
    at(8192, 8192);
    a2.dispose();
    c.dispose();
    at(4096, 8192);
    v.dispose();
    at(0, 8192);

    // A captured step: its fixed input (4096), both intermediates (4096 each: the first is released inside the step
    // but stays in the step's plan), and a constant (a step-owned tensor of 1024 bytes plus the 1024-byte buffer its
    // host data is copied from).
    e.resetPeak();
    const x = e.keep(e.upload(new Float32Array(1024).fill(1), [1024]));
    at(4096, 4096);
    const step = e.capture([x], (xin) => {
      const ones = e.full([256], 1);
      const t1 = addTensors(e, xin!, xin!);
      const t2 = addTensors(e, t1, t1);
      ones.dispose();
      return t2;
    });
    const plan = 4096 * 3 + 1024 + 1024;
    at(4096 + plan, 4096 + plan, plan);
    e.resetPeak();
    for (let i = 0; i < 3; i++) step.replay();
    await e.sync();
    at(4096 + plan, 4096 + plan, plan);
    expect(Array.from((await step.outputs.readF32()).slice(0, 3))).toEqual([4, 4, 4]);
    step.dispose();
    at(4096, 4096 + plan, 0);
    x.dispose();
    at(0, 4096 + plan, 0);
  });
});

describe('command trace', () => {
  it('collects the commands of eager work and of a replay, which re-encode to the same results', async () => {
    const e = await testEngine();
    const x = e.keep(e.upload(new Float32Array(64).fill(1), [64]));
    e.startTrace();
    const y = addTensors(e, x, x);
    const eager = e.stopTrace();
    expect(eager.map((c) => c.kind)).toEqual(['dispatch']);
    const step = e.capture([x], (xin) => addTensors(e, addTensors(e, xin!, xin!), xin!));
    e.startTrace();
    step.replay([x]);
    const replayed = e.stopTrace();
    expect(replayed.map((c) => (c.kind === 'dispatch' ? c.name : 'copy'))).toEqual(['copy', 'grad_add', 'grad_add']);
    expect(e.stopTrace()).toEqual([]);
    const { encodeAndSubmit } = await import('../bench/floor.js');
    encodeAndSubmit(e.device, replayed);
    expect(Array.from((await step.outputs.readF32()).slice(0, 2))).toEqual([3, 3]);
    expect(Array.from((await y.readF32()).slice(0, 2))).toEqual([2, 2]);
    step.dispose();
    y.dispose();
    x.dispose();
  });
});
