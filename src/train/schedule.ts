import type { Batch, BatchStream } from './batches.js';
import { epochOrder } from './seeds.js';

export interface ScheduleOptions {
  /** Examples in the split. */
  size: number;
  batchSize: number;
  /** Batches in this stream (default: one pass, ceil(size / batchSize)). */
  steps?: number;
  /** Reshuffle each pass from (seed, pass); false keeps file order (validation, test, prediction). */
  shuffle: boolean;
  seed: number;
  /** 0-based epoch whose batches this stream yields: global batch index = epoch · steps + step. */
  epoch?: number;
  /** Batches loaded ahead (default 2). */
  prefetch?: number;
}

/** Batches per pass over `size` examples. */
export function stepsPerPass(size: number, batchSize: number): number {
  return Math.ceil(size / batchSize);
}

/**
 * The example indices of every batch of an epoch, Keras style: an endless stream of passes over the data, each a
 * fresh permutation of (seed, pass); epoch e takes global batches e·steps … e·steps + steps − 1, so the last batch
 * of a pass may be smaller, and an epoch may span passes when steps·batch differs from the split size. A pure
 * function of (seed, epoch, step).
 */
export function epochBatchIndices(o: ScheduleOptions): number[][] {
  const spp = stepsPerPass(o.size, o.batchSize);
  const steps = o.steps ?? spp;
  const epoch = o.epoch ?? 0;
  const out: number[][] = [];
  let cachedPass = -1;
  let order: number[] = [];
  for (let step = 0; step < steps; step++) {
    const g = epoch * steps + step;
    const pass = Math.floor(g / spp);
    const k = g % spp;
    if (pass !== cachedPass) {
      order = o.shuffle ? epochOrder(o.size, o.seed, pass) : Array.from({ length: o.size }, (_, i) => i);
      cachedPass = pass;
    }
    out.push(order.slice(k * o.batchSize, Math.min((k + 1) * o.batchSize, o.size)));
  }
  return out;
}

/**
 * A `BatchStream` over precomputed batches: `load` fetches a batch's examples on the host (decoding, cache reads),
 * `upload` turns them into GPU tensors. Loads run `prefetch` batches ahead of the consumer.
 */
export class ScheduledBatches<T> implements BatchStream {
  readonly steps: number;
  readonly images: number;
  private readonly pending: Promise<T>[] = [];
  private nextLoad = 0;
  private nextTake = 0;
  private closed = false;

  constructor(
    private readonly batches: number[][],
    private readonly load: (indices: number[], step: number) => Promise<T>,
    private readonly upload: (host: T, step: number) => Batch,
    private readonly prefetch = 2,
  ) {
    this.steps = batches.length;
    this.images = batches.reduce((a, b) => a + b.length, 0);
  }

  private fill(): void {
    while (!this.closed && this.nextLoad < this.steps && this.pending.length <= this.prefetch) {
      const step = this.nextLoad++;
      const p = this.load(this.batches[step]!, step);
      p.catch(() => undefined); // reported when awaited
      this.pending.push(p);
    }
  }

  async next(): Promise<Batch> {
    if (this.closed) throw new Error('batch stream is closed');
    if (this.nextTake >= this.steps) throw new Error(`batch stream has only ${this.steps} batches`);
    this.fill();
    const step = this.nextTake++;
    const host = await this.pending.shift()!;
    this.fill();
    return this.upload(host, step);
  }

  close(): void {
    this.closed = true;
    this.pending.length = 0;
  }
}
