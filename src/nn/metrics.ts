import type { Engine, Tensor } from '../engine/index.js';
import { accumulateBinaryMetrics, METRICS_STATE_SIZE } from '../kernels/metrics.js';

/**
 * Binary cross-entropy and accuracy accumulated on the GPU over many batches (no readback per batch); `read` once
 * per epoch. A prediction counts as class 1 when sigmoid(logit) > 0.5.
 */
export class BinaryMetrics {
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
