import { sizeClass, type Engine } from '../engine/index.js';
import type { Layer } from '../nn/layer.js';

/** A batch whose largest tensor does not fit in one GPU buffer binding on this device. */
export class BatchTooLargeError extends Error {
  constructor(
    message: string,
    readonly batch: number,
    readonly maxBatch: number,
  ) {
    super(message);
    this.name = 'BatchTooLargeError';
  }
}

/** The largest per-example tensor a forward pass of `model` creates: its input (as f32) or a layer's output. */
export function largestActivation(model: Layer, inputShape: readonly number[]): { bytes: number; where: string; shape: number[] } {
  let best = { bytes: inputShape.reduce((a, d) => a * d, 4), where: 'the input', shape: [...inputShape] };
  for (const l of model.walk()) {
    if (!l.outputShape) continue;
    const bytes = l.outputShape.reduce((a, d) => a * d, 4);
    if (bytes > best.bytes) best = { bytes, where: `the output of layer '${l.name}'`, shape: [...l.outputShape] };
  }
  return best;
}

/** The device's limit on one buffer binding (what a kernel can address). */
export function bufferLimit(e: Engine): number {
  return Math.min(e.device.limits.maxStorageBufferBindingSize, e.device.limits.maxBufferSize);
}

/** The largest batch whose biggest activation fits the device's buffer limit. */
export function maxBatchFor(perExampleBytes: number, limit: number): number {
  let b = Math.max(0, Math.floor(limit / perExampleBytes));
  while (b > 0 && sizeClass(b * perExampleBytes) > limit) b--;
  return b;
}

/**
 * Checks up front, from the layers' shapes, that a batch fits: the largest activation of a batch must fit one
 * buffer binding. Throws with the size that fits instead of failing in the middle of training.
 */
export function checkBatchFits(e: Engine, model: Layer, inputShape: readonly number[], batch: number, flag = '--batch'): void {
  const limit = bufferLimit(e);
  const big = largestActivation(model, inputShape);
  const max = maxBatchFor(big.bytes, limit);
  if (batch <= max) return;
  const mib = (b: number): string => `${(b / 1048576).toFixed(1)} MiB`;
  const hint = max >= 1 ? `use ${flag} ${max} or less` : `even one example does not fit; use a smaller --input-size`;
  throw new BatchTooLargeError(
    `a batch of ${batch} does not fit this device: ${big.where} ([${batch}, ${big.shape.join(', ')}] f32) needs ${mib(batch * big.bytes)}, ` +
      `over the ${mib(limit)} limit of one GPU buffer binding; ${hint}`,
    batch,
    max,
  );
}
