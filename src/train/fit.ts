import type { Engine, Tensor } from '../engine/index.js';
import { classificationLoss } from '../nn/functional/index.js';
import { classificationMetrics, ConfusionMatrix, type ClassificationMetrics, type MetricsReading } from '../nn/metrics.js';
import type { Optimizer } from '../nn/optim/index.js';
import type { BatchStream, ForwardContext, ForwardFn } from './batches.js';
import { silentSink, type EventSink } from './events.js';
import { appendEpoch, emptyHistory, type EpochLogs, type History } from './history.js';
import { StepRunner } from './step-runner.js';

/** Training produced a NaN or infinite loss; the weights after this epoch are not kept. */
export class DivergenceError extends Error {
  constructor(
    message: string,
    readonly epoch: number,
  ) {
    super(message);
    this.name = 'DivergenceError';
  }
}

export interface FitOptions {
  engine: Engine;
  forward: ForwardFn;
  optimizer: Optimizer;
  /** Total epochs; training runs epochs `initialEpoch` … `epochs − 1` (0-based). */
  epochs: number;
  initialEpoch?: number;
  seed: number;
  /** History of the epochs already run (when resuming); appended to. */
  history?: History;
  /** The training batches of one epoch (shuffled / augmented as a function of the seed and `epoch`). */
  train(epoch: number): BatchStream;
  validation?(): BatchStream;
  sink?: EventSink;
  /** After each finished epoch, history already appended (checkpointing goes here). */
  onEpochEnd?(epoch: number, logs: EpochLogs, history: History): Promise<void> | void;
  /** After each training step has been recorded (tests inject faults here). */
  onStepEnd?(epoch: number, step: number): Promise<void> | void;
  /**
   * Capture the training step once and replay it for every full batch (default: `engine.replay`); false runs every
   * step eagerly. Both give bit-identical results; replay skips the per-step host work.
   */
  replay?: boolean;
}

/**
 * Keeps at most two steps in flight: the host records step k while the GPU finishes step k − 1, so progress and
 * images/s are real and a lost device is noticed within a step.
 */
export class StepPacer {
  private previous: Promise<unknown> | null = null;
  constructor(private readonly e: Engine) {}

  async step(): Promise<void> {
    const e = this.e;
    e.flush();
    const done = e.device.queue.onSubmittedWorkDone();
    const prev = this.previous;
    this.previous = done;
    if (prev) await e.raceLost(prev);
  }

  async drain(): Promise<void> {
    const prev = this.previous;
    this.previous = null;
    if (prev) await this.e.raceLost(prev);
    await this.e.sync();
  }
}

const now = (): number => performance.now() / 1000;

/** Output units of a classifier's logits: 1 for [N] or [N, 1] (binary, sigmoid), C for [N, C]. */
export function outputUnits(logits: Tensor): number {
  return logits.shape.length === 2 ? logits.shape[1]! : 1;
}

/** Metrics made for the first batch's logits (binary or categorical), so callers need not know the head's size. */
class HeadMetrics {
  private m: ClassificationMetrics | null = null;
  private conf: ConfusionMatrix | null = null;
  constructor(
    private readonly e: Engine,
    private readonly confusion = false,
  ) {}
  add(logits: Tensor, labels: Tensor, loss: Tensor): void {
    const units = outputUnits(logits);
    this.m ??= classificationMetrics(this.e, units);
    this.m.add(logits, labels, loss);
    if (this.confusion) {
      this.conf ??= new ConfusionMatrix(this.e, units === 1 ? 2 : units);
      this.conf.add(logits, labels);
    }
  }
  async read(): Promise<MetricsReading & { confusion?: number[][] }> {
    if (!this.m) return { loss: NaN, acc: NaN, count: 0 };
    const r = await this.m.read();
    return this.conf ? { ...r, confusion: await this.conf.read() } : r;
  }
  reset(): void {
    this.m?.reset();
    this.conf?.reset();
  }
  dispose(): void {
    this.m?.dispose();
    this.conf?.dispose();
  }
}

/**
 * Runs `source` through the model without gradients; mean loss (BCE for one output unit, softmax cross-entropy for
 * more) and accuracy over every image, top-5 accuracy above 5 classes, and with `confusion` the confusion matrix.
 */
export async function evaluate(
  e: Engine,
  forward: ForwardFn,
  source: BatchStream,
  opts: { seed?: number; sink?: EventSink; name?: string; replay?: boolean; confusion?: boolean } = {},
): Promise<MetricsReading & { confusion?: number[][] }> {
  const sink = opts.sink ?? silentSink;
  const name = opts.name ?? 'evaluate';
  const metrics = new HeadMetrics(e, opts.confusion ?? false);
  const pacer = new StepPacer(e);
  const ctx: ForwardContext = { training: false, seed: opts.seed ?? 0, epoch: 0, step: 0 };
  const runner = new StepRunner(
    e,
    (x, y) =>
      e.noGrad(() => {
        const logits = forward(x, ctx);
        metrics.add(logits, y, classificationLoss(logits, y));
      }),
    { enabled: opts.replay ?? e.replay, label: name },
  );
  const t0 = now();
  let images = 0;
  try {
    sink({ type: 'phase', name, total: source.steps, unit: 'steps' });
    for (let step = 0; step < source.steps; step++) {
      const batch = await source.next();
      ctx.step = step;
      try {
        runner.run([batch.x, batch.y]);
      } finally {
        batch.dispose();
      }
      images += batch.size;
      await pacer.step();
      const el = now() - t0;
      sink({ type: 'progress', name, done: step + 1, total: source.steps, images, elapsed_s: el, images_per_s: images / Math.max(el, 1e-9) });
    }
    await pacer.drain();
    return await metrics.read();
  } finally {
    source.close();
    runner.dispose();
    metrics.dispose();
  }
}

/**
 * The logits of every image of `source`, in order, row-major (images × units): one per image for a binary head
 * (sigmoid(logit) is the class-1 probability), C per image for a softmax head.
 */
export async function predictLogits(e: Engine, forward: ForwardFn, source: BatchStream, opts: { replay?: boolean } = {}): Promise<Float32Array> {
  let out = new Float32Array(source.images);
  let units = 1;
  let pos = 0;
  const ctx: ForwardContext = { training: false, seed: 0, epoch: 0, step: 0 };
  const runner = new StepRunner(e, (x) => e.noGrad(() => forward(x, ctx)), { enabled: opts.replay ?? e.replay, label: 'predict' });
  try {
    for (let step = 0; step < source.steps; step++) {
      const batch = await source.next();
      ctx.step = step;
      let logits: Tensor;
      try {
        logits = runner.run([batch.x]);
      } finally {
        batch.dispose();
      }
      try {
        if (pos === 0 && outputUnits(logits) !== units) {
          units = outputUnits(logits);
          out = new Float32Array(source.images * units);
        }
        out.set((await logits.readF32()).subarray(0, batch.size * units), pos * units);
      } finally {
        runner.release(logits);
      }
      pos += batch.size;
    }
  } finally {
    source.close();
    runner.dispose();
  }
  return out;
}

/**
 * The Keras `fit` loop (any optimizer): BCE from the logit for a one-unit (binary) head, softmax cross-entropy from the
 * logits for a C-unit head (categorical).
 */
export async function fit(o: FitOptions): Promise<History> {
  const e = o.engine;
  const sink = o.sink ?? silentSink;
  const history = o.history ?? emptyHistory();
  const metrics = new HeadMetrics(e);
  const params = o.optimizer.params;
  // One context for every step: the captured step's per-step callbacks re-read its epoch and step before each replay.
  const ctx: ForwardContext = { training: true, seed: o.seed, epoch: 0, step: 0 };
  const dropGrads = (): void => {
    e.tape.clear();
    for (const p of params) {
      p.grad?.dispose();
      p.grad = null;
    }
  };
  const runner = new StepRunner(
    e,
    (x, y) => {
      try {
        const logits = o.forward(x, ctx);
        const loss = classificationLoss(logits, y);
        metrics.add(logits, y, loss);
        e.tape.backward(loss);
        o.optimizer.step();
        o.optimizer.zeroGrad();
      } finally {
        dropGrads();
      }
    },
    { enabled: o.replay ?? e.replay, label: 'train step' },
  );
  try {
    for (let epoch = o.initialEpoch ?? 0; epoch < o.epochs; epoch++) {
      const label = `Epoch ${epoch + 1}/${o.epochs}`;
      const t0 = now();
      metrics.reset();
      const source = o.train(epoch);
      const pacer = new StepPacer(e);
      let images = 0;
      sink({ type: 'phase', name: label, total: source.steps, unit: 'steps' });
      try {
        for (let step = 0; step < source.steps; step++) {
          const batch = await source.next();
          ctx.epoch = epoch;
          ctx.step = step;
          try {
            runner.run([batch.x, batch.y]);
          } finally {
            batch.dispose();
            dropGrads();
          }
          images += batch.size;
          await o.onStepEnd?.(epoch, step);
          await pacer.step();
          const el = now() - t0;
          sink({ type: 'progress', name: label, done: step + 1, total: source.steps, images, elapsed_s: el, images_per_s: images / Math.max(el, 1e-9) });
        }
        await pacer.drain();
      } finally {
        source.close();
      }
      const trainSeconds = now() - t0;
      const train = await metrics.read();
      if (!Number.isFinite(train.loss)) {
        throw new DivergenceError(`training diverged: the loss of epoch ${epoch + 1} is ${train.loss}`, epoch);
      }
      const val = o.validation ? await evaluate(e, o.forward, o.validation(), { sink, name: `${label} validation` }) : { loss: NaN, acc: NaN };
      if (o.validation && !Number.isFinite(val.loss)) {
        throw new DivergenceError(`training diverged: the validation loss after epoch ${epoch + 1} is ${val.loss}`, epoch);
      }
      const logs: EpochLogs = {
        epoch: epoch + 1,
        epochs: o.epochs,
        loss: train.loss,
        acc: train.acc,
        val_loss: val.loss,
        val_acc: val.acc,
        seconds: now() - t0,
        images_per_s: images / Math.max(trainSeconds, 1e-9),
      };
      appendEpoch(history, logs);
      await o.onEpochEnd?.(epoch, logs, history);
      sink({ type: 'epoch', ...logs });
    }
    return history;
  } finally {
    runner.dispose();
    metrics.dispose();
  }
}

const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/**
 * Class probabilities of logits laid out images × units: for one unit [1 − σ(z), σ(z)] per image, else the softmax
 * of each row; `classes` columns per image.
 */
export function classProbabilities(logits: Float32Array, images: number): { probs: Float64Array; classes: number } {
  const units = logits.length / images;
  if (units === 1) {
    const probs = new Float64Array(images * 2);
    for (let i = 0; i < images; i++) {
      const p = sigmoid(logits[i]!);
      probs[2 * i] = 1 - p;
      probs[2 * i + 1] = p;
    }
    return { probs, classes: 2 };
  }
  const probs = new Float64Array(images * units);
  for (let i = 0; i < images; i++) {
    let m = -Infinity;
    for (let j = 0; j < units; j++) m = Math.max(m, logits[i * units + j]!);
    let s = 0;
    for (let j = 0; j < units; j++) s += probs[i * units + j] = Math.exp(logits[i * units + j]! - m);
    for (let j = 0; j < units; j++) probs[i * units + j]! /= s;
  }
  return { probs, classes: units };
}

/** All class probabilities of every image of `source` (images × classes, see `classProbabilities`). */
export async function predictClassProbabilities(e: Engine, forward: ForwardFn, source: BatchStream): Promise<{ probs: Float64Array; classes: number }> {
  const images = source.images;
  return classProbabilities(await predictLogits(e, forward, source), images);
}
