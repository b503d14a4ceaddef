import type { Tensor } from '../engine/index.js';

/** One batch on the GPU: inputs and 0/1 labels [N]. The consumer disposes it. */
export interface Batch {
  x: Tensor;
  y: Tensor;
  size: number;
  dispose(): void;
}

/** One pass over a split (an epoch of training, or a whole evaluation), batch by batch in order. */
export interface BatchStream {
  readonly steps: number;
  /** Images over all steps. */
  readonly images: number;
  next(): Promise<Batch>;
  /** Stops prefetching and frees what is buffered. */
  close(): void;
}

/** How the training loop calls a model: `training` enables dropout/augmentation; draws depend on (seed, epoch, step). */
export interface ForwardContext {
  training: boolean;
  seed: number;
  epoch: number;
  step: number;
}

/** Returns the logits [N, 1] for a batch of inputs. */
export type ForwardFn = (x: Tensor, ctx: ForwardContext) => Tensor;
