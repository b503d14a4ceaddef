// The one batching path (src/train/schedule.ts): which examples each batch holds, and how batches are loaded.
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../src/engine/tensor.js';
import type { Batch } from '../src/train/batches.js';
import { epochBatchIndices, ScheduledBatches, stepsPerPass } from '../src/train/schedule.js';
import { epochOrder, mixSeed, STREAM } from '../src/train/seeds.js';

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);

/** A host "batch" spelling its indices and step; counts loads started and in flight. */
function loader(fail?: number) {
  const s = {
    loads: [] as number[][],
    inFlight: 0,
    maxInFlight: 0,
    async load(indices: number[], step: number): Promise<{ indices: number[]; step: number }> {
      s.loads.push([...indices]);
      s.inFlight++;
      s.maxInFlight = Math.max(s.maxInFlight, s.inFlight);
      await new Promise((r) => setTimeout(r, 1));
      s.inFlight--;
      if (step === fail) throw new Error('disk on fire');
      return { indices, step };
    },
  };
  return s;
}

/** No GPU here: the uploaded batch carries the host batch where the tensors would be. */
function upload(host: { indices: number[]; step: number }, step: number): Batch & { host: typeof host; uploadStep: number } {
  return { x: null as unknown as Tensor, y: null as unknown as Tensor, size: host.indices.length, dispose() {}, host, uploadStep: step };
}

describe('epochBatchIndices', () => {
  it('covers every example once per epoch, with a smaller last batch, reshuffled every epoch', () => {
    const o = { size: 23, batchSize: 5, shuffle: true, seed: 1 };
    expect(stepsPerPass(23, 5)).toBe(5);
    const e0 = epochBatchIndices({ ...o, epoch: 0 });
    const e1 = epochBatchIndices({ ...o, epoch: 1 });
    expect(e0.map((b) => b.length)).toEqual([5, 5, 5, 5, 3]);
    for (const e of [e0, e1]) expect(sorted(e.flat())).toEqual(range(23));
    expect(e0.flat()).not.toEqual(e1.flat());
    expect(e0.flat()).not.toEqual(range(23));
    // Each pass is the permutation of (seed, pass) from the one seed mixer.
    expect(e1.flat()).toEqual(epochOrder(23, 1, 1));
  });

  it('is a pure function of (seed, epoch, step), pinned to the recorded runs, and ordered without shuffling', () => {
    const o = { size: 17, batchSize: 4, shuffle: true, seed: 9 };
    expect(epochBatchIndices({ ...o, epoch: 1 })).toEqual(epochBatchIndices({ ...o, epoch: 1 }));
    expect(epochBatchIndices({ ...o, seed: 10 }).flat()).not.toEqual(epochBatchIndices(o).flat());
    // Histories and checkpoints on disk depend on these draws: the mixer and the shuffle must never change.
    expect([mixSeed(0), mixSeed(7, STREAM.shuffle, 3), mixSeed(2 ** 40 + 5, 2, 1, 9)]).toEqual([84694791, 2256764264, 2503543205]);
    expect(epochBatchIndices({ size: 10, batchSize: 4, shuffle: true, seed: 7, epoch: 0 })).toEqual([[4, 1, 2, 5], [6, 8, 3, 9], [0, 7]]);
    expect(epochBatchIndices({ size: 10, batchSize: 4, shuffle: true, seed: 7, epoch: 1 })).toEqual([[0, 1, 4, 2], [3, 9, 8, 7], [6, 5]]);
    const plain = { size: 10, batchSize: 4, shuffle: false, seed: 0 };
    expect(epochBatchIndices(plain)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    expect(epochBatchIndices({ ...plain, epoch: 3 })).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  });

  it('runs on across passes when an epoch is not one pass (steps × batch ≠ size), as Keras steps_per_epoch', () => {
    const o = { size: 10, batchSize: 4, shuffle: true, seed: 3, steps: 2 };
    // Global batches 0..5 are passes 0 and 1 (3 batches each); epochs of 2 steps slice that stream.
    const stream = [...epochBatchIndices({ ...o, steps: 3, epoch: 0 }), ...epochBatchIndices({ ...o, steps: 3, epoch: 1 })];
    const epochs = [0, 1, 2].flatMap((epoch) => epochBatchIndices({ ...o, epoch }));
    expect(epochs).toEqual(stream);
    expect(epochs.map((b) => b.length)).toEqual([4, 4, 2, 4, 4, 2]);
  });
});

describe('ScheduledBatches', () => {
  it('yields the scheduled batches in order and starts loading the next ones ahead', async () => {
    const batches = epochBatchIndices({ size: 10, batchSize: 4, shuffle: false, seed: 0, steps: 5 });
    const l = loader();
    const s = new ScheduledBatches(batches, (idx, step) => l.load(idx, step), upload, 2);
    expect(s.steps).toBe(5);
    expect(s.images).toBe(4 + 4 + 2 + 4 + 4);
    const first = (await s.next()) as ReturnType<typeof upload>;
    expect(first.host).toEqual({ indices: [0, 1, 2, 3], step: 0 });
    expect(first.uploadStep).toBe(0);
    // Batches after the first were requested before the caller asked for them, and loaded concurrently.
    expect(l.loads.length).toBeGreaterThanOrEqual(3);
    expect(l.maxInFlight).toBeGreaterThanOrEqual(2);
    const rest: number[][] = [];
    for (let i = 1; i < 5; i++) rest.push(((await s.next()) as ReturnType<typeof upload>).host.indices);
    expect(rest).toEqual([[4, 5, 6, 7], [8, 9], [0, 1, 2, 3], [4, 5, 6, 7]]);
    expect(l.loads).toEqual(batches);
    await expect(s.next()).rejects.toThrow(/only 5 batches/);
  });

  it('reports a failed load when that batch is awaited, and stops when closed', async () => {
    const l = loader(1);
    const s = new ScheduledBatches([[0, 1], [2, 3], [0, 1]], (idx, step) => l.load(idx, step), upload, 1);
    await s.next();
    await expect(s.next()).rejects.toThrow('disk on fire');
    s.close();
    await expect(s.next()).rejects.toThrow(/closed/);
    const loaded = l.loads.length;
    await new Promise((r) => setTimeout(r, 5));
    expect(l.loads.length).toBe(loaded);
  });
});
