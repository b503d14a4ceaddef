import type { Engine, Tensor } from '../engine/index.js';
import { accumulateBinaryMetrics, METRICS_STATE_SIZE } from '../kernels/metrics.js';
import { accumulateCategoricalMetrics, accumulateConfusion, CATEGORICAL_STATE_SIZE } from '../kernels/softmax-ce.js';

/**
 * Binary cross-entropy and accuracy accumulated on the GPU over many batches (no readback per batch); `read` once
 * per epoch. A prediction counts as class 1 when sigmoid(logit) > 0.5.
 */
export class BinaryMetrics implements ClassificationMetrics {
  private readonly state: Tensor;

  constructor(private readonly e: Engine) {
    this.state = e.keep(e.full([METRICS_STATE_SIZE], 0));
  }

  /** Adds a batch: `logits` [N] or [N, 1], `labels` [N] of 0/1; `loss` (the batch's mean loss, shape [1]) saves recomputing it. */
  add(logits: Tensor, labels: Tensor, loss?: Tensor): void {
    this.e.noGrad(() => accumulateBinaryMetrics(this.e, this.state, logits, labels, loss));
  }

  /** Mean loss and accuracy over the samples added since the last reset (NaN when there were none). */
  async read(): Promise<{ loss: number; acc: number; count: number }> {
    const [lossSum, correct, count] = await this.state.readF32();
    return { loss: lossSum! / count!, acc: correct! / count!, count: count! };
  }

  reset(): void {
    this.e.write(this.state, new Float32Array(METRICS_STATE_SIZE));
  }

  dispose(): void {
    this.state.dispose();
  }
}

/** What a classifier's metrics read back: mean loss, accuracy, samples; top-5 accuracy when there are more than 5 classes. */
export interface MetricsReading {
  loss: number;
  acc: number;
  count: number;
  top5_acc?: number;
}

/** Loss and accuracy of a classifier, accumulated on the GPU (BinaryMetrics or CategoricalMetrics). */
export interface ClassificationMetrics {
  add(logits: Tensor, labels: Tensor, loss?: Tensor): void;
  read(): Promise<MetricsReading>;
  reset(): void;
  dispose(): void;
}

/**
 * Softmax cross-entropy, accuracy (argmax = label, Keras' categorical accuracy) and top-5 accuracy of logits [N, C]
 * against class indices, accumulated on the GPU; `read` once per epoch.
 */
export class CategoricalMetrics implements ClassificationMetrics {
  private readonly state: Tensor;

  constructor(
    private readonly e: Engine,
    readonly classes: number,
  ) {
    this.state = e.keep(e.full([CATEGORICAL_STATE_SIZE], 0));
  }

  add(logits: Tensor, labels: Tensor, loss?: Tensor): void {
    if (logits.shape[1] !== this.classes) throw new Error(`CategoricalMetrics: logits [${logits.shape.join(', ')}] for ${this.classes} classes`);
    this.e.noGrad(() => accumulateCategoricalMetrics(this.e, this.state, logits, labels, { ...(loss ? { meanLoss: loss } : {}), topK: 5 }));
  }

  async read(): Promise<MetricsReading> {
    const [lossSum, correct, count, top] = await this.state.readF32();
    return { loss: lossSum! / count!, acc: correct! / count!, count: count!, ...(this.classes > 5 ? { top5_acc: top! / count! } : {}) };
  }

  reset(): void {
    this.e.write(this.state, new Float32Array(CATEGORICAL_STATE_SIZE));
  }

  dispose(): void {
    this.state.dispose();
  }
}

/** The metrics for a head with `outputs` units: one unit is binary (sigmoid), more are categorical (softmax). */
export function classificationMetrics(e: Engine, outputs: number): ClassificationMetrics {
  return outputs === 1 ? new BinaryMetrics(e) : new CategoricalMetrics(e, outputs);
}

/** A confusion matrix (rows true class, columns predicted) accumulated on the GPU; `classes` 2 also takes binary logits. */
export class ConfusionMatrix {
  private readonly counts: Tensor;

  constructor(
    private readonly e: Engine,
    readonly classes: number,
  ) {
    this.counts = e.keep(e.full([classes, classes], 0, 'u32'));
  }

  add(logits: Tensor, labels: Tensor): void {
    this.e.noGrad(() => accumulateConfusion(this.e, this.counts, logits, labels));
  }

  async read(): Promise<number[][]> {
    const flat = (await this.counts.read()) as Uint32Array;
    return Array.from({ length: this.classes }, (_, i) => Array.from(flat.subarray(i * this.classes, (i + 1) * this.classes)));
  }

  reset(): void {
    this.e.write(this.counts, new Uint32Array(this.classes * this.classes));
  }

  dispose(): void {
    this.counts.dispose();
  }
}
