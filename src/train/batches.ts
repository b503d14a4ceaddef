import type { Tensor } from '../engine/index.js';
import type { ForwardContext } from '../nn/layer.js';

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

export type { ForwardContext } from '../nn/layer.js';

/** Returns the logits [N, 1] for a batch of inputs. */
export type ForwardFn = (x: Tensor, ctx: ForwardContext) => Tensor;
