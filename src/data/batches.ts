import { Rng } from './rng.js';

/** One batch on the host: images N×H×W×3 bytes (RGB), labels as floats (class index: 0/1 for two classes). */
export interface HostBatch {
  images: Uint8Array;
  labels: Float32Array;
  /** Dataset indices of the images, in batch order. */
  indices: Int32Array;
  size: number;
  height: number;
  width: number;
}

/** Whatever can load a batch of images by index (an ImageFolder, or an in-memory set in tests). */
export interface BatchSource {
  readonly size: number;
  loadBatch(indices: readonly number[]): Promise<HostBatch>;
}

export interface BatchIteratorOptions {
  batchSize: number;
  /** Reshuffle at the start of every epoch (default true; use false for validation and prediction). */
  shuffle?: boolean;
  /** Seed of the per-epoch permutations (default 0). */
  seed?: number;
  /** Batches loaded ahead while the caller works on the current one (default 2). */
  prefetch?: number;
  /** First epoch (pass) to produce; resuming at epoch k gives the same order as an uninterrupted run. */
  startEpoch?: number;
}

/**
 * Batches over a source in Keras Iterator order: each epoch is one pass over every image, in a fresh permutation
 * when shuffling; the last batch of a pass is smaller when the size is not a multiple of the batch size. `next()` runs
 * on forever, across epochs; `epoch()` yields exactly one pass. Loading of the next batches runs while the caller
 * uses the current one (their promises are started ahead), so decoding overlaps GPU work.
 */
export class BatchIterator {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly prefetch: number;
  /** Epoch and batch position of the next batch to be scheduled. */
  private schedEpoch: number;
  private schedStep = 0;
  private order: Int32Array;
  private readonly queue: { epoch: number; step: number; promise: Promise<HostBatch> }[] = [];
  /** Epoch and step of the next batch `next()` returns. */
  private nextEpoch: number;
  private nextStep = 0;

  constructor(
    readonly source: BatchSource,
    options: BatchIteratorOptions,
  ) {
    const { batchSize } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
    if (source.size < 1) throw new Error('cannot batch an empty dataset');
    this.batchSize = batchSize;
    this.shuffle = options.shuffle ?? true;
    this.seed = options.seed ?? 0;
    this.prefetch = Math.max(0, Math.floor(options.prefetch ?? 2));
    this.schedEpoch = this.nextEpoch = options.startEpoch ?? 0;
    this.order = this.orderOf(this.schedEpoch);
  }

  get size(): number {
    return this.source.size;
  }

  /** Batches per pass: ceil(size / batchSize). */
  get stepsPerEpoch(): number {
    return Math.ceil(this.source.size / this.batchSize);
  }

  /** The epoch the next batch belongs to. */
  get epoch(): number {
    return this.nextEpoch;
  }

  /** The image order of pass `epoch`: identity without shuffling, else a permutation fixed by (seed, epoch). */
  orderOf(epoch: number): Int32Array {
    const n = this.source.size;
    const idx = Array.from({ length: n }, (_, i) => i);
    if (this.shuffle) new Rng(mixSeed(this.seed, epoch)).shuffle(idx);
    return Int32Array.from(idx);
  }

  private schedule(): void {
    const n = this.source.size;
    const start = this.schedStep * this.batchSize;
    const indices = Array.from(this.order.subarray(start, Math.min(start + this.batchSize, n)));
    const promise = this.source.loadBatch(indices);
    // A prefetched batch that fails is reported when it is awaited, not as an unhandled rejection.
    promise.catch(() => undefined);
    this.queue.push({ epoch: this.schedEpoch, step: this.schedStep, promise });
    if (++this.schedStep >= this.stepsPerEpoch) {
      this.schedStep = 0;
      this.order = this.orderOf(++this.schedEpoch);
    }
  }

  /** The next batch (infinite across epochs), starting the loads of the following `prefetch` batches. */
  async next(): Promise<HostBatch> {
    if (this.queue.length === 0) this.schedule();
    const item = this.queue.shift()!;
    while (this.queue.length < this.prefetch) this.schedule();
    if (++this.nextStep >= this.stepsPerEpoch) {
      this.nextStep = 0;
      this.nextEpoch++;
    }
    return item.promise;
  }

  /** The remaining batches of the current epoch (all of them when called at an epoch boundary). */
  async *epochBatches(): AsyncGenerator<HostBatch> {
    const epoch = this.nextEpoch;
    while (this.nextEpoch === epoch) yield await this.next();
  }
}

/** Combines a seed and an epoch number into an independent seed (splitmix-style). */
export function mixSeed(seed: number, epoch: number): number {
  let z = (Math.trunc(seed) ^ Math.imul(epoch + 1, 0x9e3779b9)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}
