import { describe, expect, it } from 'vitest';
import { BatchIterator, type BatchSource, type HostBatch } from '../src/data/batches.js';

/** N images of 1×1×3 whose pixel bytes spell their index; label = index parity. Counts loads in flight. */
function source(n: number): BatchSource & { loads: number[][]; inFlight: number; maxInFlight: number } {
  const s = {
    size: n,
    loads: [] as number[][],
    inFlight: 0,
    maxInFlight: 0,
    async loadBatch(indices: readonly number[]): Promise<HostBatch> {
      s.loads.push([...indices]);
      s.inFlight++;
      s.maxInFlight = Math.max(s.maxInFlight, s.inFlight);
      await new Promise((r) => setTimeout(r, 1));
      s.inFlight--;
      const images = new Uint8Array(indices.length * 3);
      indices.forEach((i, k) => images.set([i & 255, i >> 8, 7], k * 3));
      return { images, labels: Float32Array.from(indices, (i) => i % 2), indices: Int32Array.from(indices), size: indices.length, height: 1, width: 1 };
    },
  };
  return s;
}

async function epochIndices(it: BatchIterator): Promise<number[][]> {
  const out: number[][] = [];
  for await (const b of it.epochBatches()) {
    expect(Array.from(b.labels)).toEqual(Array.from(b.indices, (i) => i % 2));
    expect(Array.from(b.images.filter((_, k) => k % 3 === 0))).toEqual(Array.from(b.indices, (i) => i & 255));
    out.push(Array.from(b.indices));
  }
  return out;
}

describe('BatchIterator', () => {
  it('covers every image once per epoch, with a smaller last batch, reshuffled every epoch', async () => {
    const it = new BatchIterator(source(23), { batchSize: 5, seed: 1 });
    expect(it.stepsPerEpoch).toBe(5);
    const e0 = await epochIndices(it);
    const e1 = await epochIndices(it);
    expect(e0.map((b) => b.length)).toEqual([5, 5, 5, 5, 3]);
    for (const e of [e0, e1]) expect(e.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 23 }, (_, i) => i));
    expect(e0.flat()).not.toEqual(e1.flat());
    expect(e0.flat()).not.toEqual(Array.from({ length: 23 }, (_, i) => i));
    expect(it.epoch).toBe(2);
  });

  it('is reproducible from the seed, resumable at an epoch, and ordered without shuffling', async () => {
    const a = new BatchIterator(source(17), { batchSize: 4, seed: 9 });
    const b = new BatchIterator(source(17), { batchSize: 4, seed: 9 });
    const c = new BatchIterator(source(17), { batchSize: 4, seed: 10 });
    const a0 = await epochIndices(a);
    const a1 = await epochIndices(a);
    expect(await epochIndices(b)).toEqual(a0);
    expect((await epochIndices(c)).flat()).not.toEqual(a0.flat());
    const resumed = new BatchIterator(source(17), { batchSize: 4, seed: 9, startEpoch: 1 });
    expect(await epochIndices(resumed)).toEqual(a1);
    const plain = new BatchIterator(source(10), { batchSize: 4, shuffle: false });
    expect(await epochIndices(plain)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    expect(await epochIndices(plain)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  });

  it('next() runs on across epochs and starts loading the next batches ahead', async () => {
    const src = source(6);
    const it = new BatchIterator(src, { batchSize: 4, prefetch: 2, shuffle: false });
    const first = await it.next();
    expect(Array.from(first.indices)).toEqual([0, 1, 2, 3]);
    // The two following batches were requested before the caller asked for them (the second is in the next epoch).
    expect(src.loads).toEqual([[0, 1, 2, 3], [4, 5], [0, 1, 2, 3]]);
    expect(src.maxInFlight).toBeGreaterThanOrEqual(2);
    expect(Array.from((await it.next()).indices)).toEqual([4, 5]);
    expect(it.epoch).toBe(1);
    expect(Array.from((await it.next()).indices)).toEqual([0, 1, 2, 3]);
  });

  it('reports a failed load when that batch is awaited', async () => {
    let calls = 0;
    const failing: BatchSource = {
      size: 4,
      async loadBatch() {
        if (++calls === 2) throw new Error('disk on fire');
        return { images: new Uint8Array(6), labels: new Float32Array(2), indices: new Int32Array(2), size: 2, height: 1, width: 1 };
      },
    };
    const it = new BatchIterator(failing, { batchSize: 2, prefetch: 1, shuffle: false });
    await it.next();
    await expect(it.next()).rejects.toThrow('disk on fire');
    expect(() => new BatchIterator(failing, { batchSize: 0 })).toThrow(/batchSize/);
  });
});
