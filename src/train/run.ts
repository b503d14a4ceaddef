import { GpuError, type Engine } from '../engine/index.js';
import { createOptimizer, type OptimizerName, type OptimizerSettings } from '../nn/optim/index.js';
import type { BatchStream, ForwardFn } from './batches.js';
import { assertResumable, CHECKPOINT_FILE, parseCheckpoint, restoreCheckpoint, snapshotCheckpoint } from './checkpoint.js';
import { silentSink, type EventSink } from './events.js';
import { DivergenceError, evaluate, fit } from './fit.js';
import { emptyHistory, historyLength, type EpochLogs, type History } from './history.js';
import type { PlotRenderer } from './plots.js';
import { classReport, CONFUSION_PLOT, reportJson, type ClassReport, type ConfusionRenderer } from './report.js';
import { writeJson, type RunStore } from './store.js';
import type { Tensor } from '../engine/index.js';

export const CONFIG_FILE = 'config.json';
export const HISTORY_FILE = 'history.json';
export const METRICS_FILE = 'metrics.json';
export const ACCURACY_PLOT = 'accuracy.png';
export const LOSS_PLOT = 'loss.png';

/** Where a run's files go and how progress is reported. */
export interface RunIO {
  store: RunStore;
  /** Renders accuracy.png / loss.png; omitted, no plots are written. */
  plots?: PlotRenderer;
  /** Renders confusion.png; omitted, it is not written. */
  confusionPlot?: ConfusionRenderer;
  sink?: EventSink;
}

/** Everything one training run needs, built by a recipe. */
export interface TrainingPlan {
  recipe: string;
  /** Written to config.json: every setting of the run. */
  config: Record<string, unknown>;
  /** The parameters the optimizer updates (and the checkpoint holds). */
  params: Tensor[];
  forward: ForwardFn;
  /** Default rmsprop (the book's). */
  optimizer?: OptimizerName;
  lr: number;
  /** RMSprop's ρ (default Keras' 0.9); config.json records the settings used. */
  rho?: number;
  /** Adam's β1 and β2 (default Keras': 0.9, 0.999). */
  beta1?: number;
  beta2?: number;
  /** Either optimizer's ε (default Keras' 1e-7). */
  epsilon?: number;
  epochs: number;
  seed: number;
  train(epoch: number): BatchStream;
  validation(): BatchStream;
  test?(): BatchStream;
  /** Shown in metrics.json. */
  model: string;
  /** Class names in label order: metrics.json gets per-class results and the confusion matrix under these names. */
  classes?: readonly string[];
}

export interface RunHooks {
  onStepEnd?(epoch: number, step: number): Promise<void> | void;
  onEpochEnd?(epoch: number, logs: EpochLogs): Promise<void> | void;
}

export interface RunOutcome {
  history: History;
  metrics: Record<string, number | string>;
  /** Per-class results and the confusion matrix of the test split (validation when there is no test split). */
  report?: ClassReport;
}

/** Training stopped before its last epoch; the checkpoint of the last finished epoch (if any) is intact. */
export class TrainingStoppedError extends Error {
  constructor(
    message: string,
    readonly reason: 'diverged' | 'device-lost',
    /** Epochs finished and checkpointed (0: none). */
    readonly lastGoodEpoch: number,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'TrainingStoppedError';
  }
}

async function writePlots(io: RunIO, history: History): Promise<void> {
  if (!io.plots || historyLength(history) === 0) return;
  await io.store.write(ACCURACY_PLOT, await io.plots(history, 'acc'));
  await io.store.write(LOSS_PLOT, await io.plots(history, 'loss'));
}

/**
 * Trains a plan into a run store: config.json first, then after every epoch an atomic checkpoint (weights, optimizer
 * state, iteration, epoch, seed, history), history.json and the plots; at the end the test evaluation and
 * metrics.json. With `resume`, continues from the stored checkpoint: because every random draw is a function of
 * (seed, epoch, step), the continued run reproduces the history of an uninterrupted one.
 */
export async function runTraining(e: Engine, plan: TrainingPlan, io: RunIO, opts: { resume?: boolean; hooks?: RunHooks; extraMetrics?: Record<string, number | string> } = {}): Promise<RunOutcome> {
  const sink = io.sink ?? silentSink;
  const t0 = performance.now();
  const optimizer = createOptimizer(plan.params, optimizerSettings(plan));
  const ckptPath = io.store.describe(CHECKPOINT_FILE);
  let history = emptyHistory();
  let initialEpoch = 0;
  let lastGood = 0;
  const sessionRates: number[] = [];
  try {
    if (opts.resume) {
      const bytes = await io.store.read(CHECKPOINT_FILE);
      if (!bytes) throw new Error(`cannot resume: ${ckptPath} does not exist (no epoch of this run finished)`);
      const ckpt = parseCheckpoint(bytes, ckptPath);
      if (ckpt.state.seed !== plan.seed) throw new Error(`cannot resume: ${ckptPath} was made with seed ${ckpt.state.seed}, this run uses ${plan.seed}`);
      assertResumable(ckpt, ckptPath);
      restoreCheckpoint(e, ckpt, plan.params, optimizer, ckptPath);
      history = ckpt.state.history;
      initialEpoch = lastGood = ckpt.state.epoch;
      sink({ type: 'info', message: `Resuming from ${ckptPath} after epoch ${initialEpoch} of ${plan.epochs}` });
    } else {
      await writeJson(io.store, CONFIG_FILE, plan.config);
    }
    try {
      await fit({
        engine: e,
        forward: plan.forward,
        optimizer,
        epochs: plan.epochs,
        initialEpoch,
        seed: plan.seed,
        history,
        train: (epoch) => plan.train(epoch),
        validation: () => plan.validation(),
        sink,
        ...(opts.hooks?.onStepEnd ? { onStepEnd: opts.hooks.onStepEnd } : {}),
        onEpochEnd: async (epoch, logs, h) => {
          const bytes = await snapshotCheckpoint(plan.params, optimizer, { epoch: epoch + 1, iterations: optimizer.iterations, seed: plan.seed, history: h });
          await io.store.write(CHECKPOINT_FILE, bytes);
          lastGood = epoch + 1;
          await writeJson(io.store, HISTORY_FILE, h);
          await writePlots(io, h);
          sessionRates.push(logs.images_per_s);
          sink({ type: 'checkpoint', epoch: epoch + 1, file: ckptPath });
          await opts.hooks?.onEpochEnd?.(epoch, logs);
        },
      });
    } catch (err) {
      const kept = lastGood > 0 ? `the checkpoint of epoch ${lastGood} is intact in ${ckptPath}` : 'no epoch finished, so there is no checkpoint';
      if (err instanceof DivergenceError) {
        throw new TrainingStoppedError(`${err.message}; training stopped and ${kept} (try a lower --lr)`, 'diverged', lastGood, err);
      }
      if (err instanceof GpuError && (err.kind === 'device-lost' || e.lost)) {
        throw new TrainingStoppedError(`${err.message}; training stopped and ${kept}${lastGood > 0 ? '; continue it with --resume' : ''}`, 'device-lost', lastGood, err);
      }
      if (e.lost) {
        throw new TrainingStoppedError(`GPU device lost (${(err as Error).message}); training stopped and ${kept}${lastGood > 0 ? '; continue it with --resume' : ''}`, 'device-lost', lastGood, err);
      }
      throw err;
    }
    await writeJson(io.store, HISTORY_FILE, history);
    await writePlots(io, history);
    const n = historyLength(history);
    const last = n - 1;
    let best = 0;
    for (let i = 1; i < n; i++) if (history.val_acc[i]! > history.val_acc[best]!) best = i;
    const test = plan.test ? await evaluate(e, plan.forward, plan.test(), { sink, name: 'Test', confusion: true }) : { loss: NaN, acc: NaN, confusion: undefined, top5_acc: undefined };
    // The confusion matrix: of the test split, or of a last validation pass when there is none.
    const counted = plan.test ? test : await evaluate(e, plan.forward, plan.validation(), { sink, name: 'Validation (confusion matrix)', confusion: true });
    const matrix = counted.confusion;
    const names = matrix ? (plan.classes && plan.classes.length === matrix.length ? [...plan.classes] : matrix.map((_, i) => String(i))) : [];
    const report = matrix ? classReport(plan.test ? 'test' : 'validation', names, matrix) : undefined;
    const metrics: Record<string, number | string> = {
      model: plan.model,
      recipe: plan.recipe,
      epochs: n,
      loss: history.loss[last] ?? NaN,
      acc: history.acc[last] ?? NaN,
      val_loss: history.val_loss[last] ?? NaN,
      val_acc: history.val_acc[last] ?? NaN,
      test_loss: test.loss,
      test_acc: test.acc,
      ...(test.top5_acc !== undefined ? { test_top5_acc: test.top5_acc } : {}),
      best_val_acc: history.val_acc[best] ?? NaN,
      best_epoch: n > 0 ? best + 1 : 0,
      images_per_s: sessionRates.length ? sessionRates.reduce((a, b) => a + b, 0) / sessionRates.length : NaN,
      wall_s: (performance.now() - t0) / 1000,
      // GPU bytes at the most held at once since the engine was created (or its resetPeak): the whole command.
      peak_gpu_bytes: e.memoryStats().peakBytes,
      ...opts.extraMetrics,
    };
    await writeJson(io.store, METRICS_FILE, { ...jsonSafe(metrics), ...(report ? reportJson(report) : {}) });
    if (report && io.confusionPlot) await io.store.write(CONFUSION_PLOT, await io.confusionPlot(report));
    sink({ type: 'result', metrics });
    return { history, metrics, ...(report ? { report } : {}) };
  } finally {
    optimizer.dispose();
  }
}

/** The plan's optimizer with the settings it gives (Keras' defaults for the rest). */
function optimizerSettings(p: TrainingPlan): OptimizerSettings {
  const eps = p.epsilon !== undefined ? { epsilon: p.epsilon } : {};
  if (p.optimizer === 'adam') return { name: 'adam', lr: p.lr, ...(p.beta1 !== undefined ? { beta1: p.beta1 } : {}), ...(p.beta2 !== undefined ? { beta2: p.beta2 } : {}), ...eps };
  return { name: 'rmsprop', lr: p.lr, ...(p.rho !== undefined ? { rho: p.rho } : {}), ...eps };
}

/** NaN and infinities become null in JSON. */
export function jsonSafe(m: Record<string, number | string>): Record<string, number | string | null> {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, typeof v === 'number' && !Number.isFinite(v) ? null : v]));
}
