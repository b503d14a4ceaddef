/**
 * One training run of the browser app, put together from src/ only (data → models → train): open the picked
 * images as flow_from_directory folders, build the pretrained base, then either extract features and train the
 * dense head (recipe 1) or train base + head with the base frozen and augmentation on the GPU (recipe 2).
 * Nothing here touches the DOM, so the browser test runs this very function in Node (Dawn) as the oracle.
 */
import { BOOK_AUGMENTATION } from '../src/data/augment-params.js';
import type { BadImage } from '../src/data/errors.js';
import { ImageFolder } from '../src/data/image-folder.js';
import type { DataFs, ImageDecoder, PixelCache } from '../src/data/types.js';
import type { Engine, Tensor } from '../src/engine/index.js';
import type { NamedArrays } from '../src/formats/types.js';
import { preprocess } from '../src/kernels/preprocess.js';
import { createBackbone } from '../src/models/registry.js';
import type { Backbone, BackboneName, ModelLogger } from '../src/models/types.js';
import { INFERENCE } from '../src/nn/layer.js';
import type { Sequential } from '../src/nn/sequential.js';
import type { ForwardFn } from '../src/train/batches.js';
import type { EventSink } from '../src/train/events.js';
import { extractFeatures } from '../src/train/extract.js';
import { predictProbabilities } from '../src/train/fit.js';
import type { History } from '../src/train/history.js';
import { uploadImageBatch } from '../src/train/image-input.js';
import { buildTransferModel, forwardLogits } from '../src/train/model.js';
import { featureHeadPlan, imageForward, imagePlan, RECIPE_DEFAULTS } from '../src/train/recipes.js';
import { runTraining, type TrainingPlan } from '../src/train/run.js';
import { ScheduledBatches } from '../src/train/schedule.js';
import { MemoryRunStore } from '../src/train/store.js';

export type TabRecipe = 'features' | 'augment';

export interface TabTrainingConfig {
  recipe: TabRecipe;
  backbone: BackboneName;
  inputSize: number;
  epochs: number;
  batch: number;
  lr: number;
  seed: number;
  /** Recipe 2: training batches per epoch (default: one pass over the training images). */
  steps?: number;
}

export interface TabData {
  fs: DataFs;
  decoder: ImageDecoder;
  cache: PixelCache | null;
  trainDir: string;
  validationDir: string;
}

export interface TabWeights {
  /** The backbone's pretrained tensors as found in the file; null keeps the random initialisation (with a warning). */
  tensors: NamedArrays | null;
  source: string;
}

/** A trained model for the predict panel: RGB bytes at the input size → probability of class 1. */
export interface Classifier {
  readonly inputSize: number;
  readonly classNames: string[];
  probabilities(pixels: Uint8Array, count: number): Promise<Float32Array>;
  dispose(): void;
}

export interface TabTrainingResult {
  history: History;
  metrics: Record<string, number | string>;
  classifier: Classifier;
  /** Files the data module could not decode and left out (the page lists them). */
  skipped: BadImage[];
}

export interface TabHooks {
  sink?: EventSink;
  logger: ModelLogger;
  /**
   * Called after every step of every phase (reading images, extraction, training, validation); throwing from it
   * stops the run there, tensors freed (the Stop button).
   */
  onStep?: () => void;
}

export function validateConfig(c: TabTrainingConfig): void {
  const int = (v: number, lo: number, hi: number, what: string) => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new Error(`${what} must be an integer from ${lo} to ${hi}, got ${v}`);
  };
  int(c.inputSize, 32, 512, 'input size');
  int(c.epochs, 1, 1000, 'epochs');
  int(c.batch, 1, 1024, 'batch size');
  if (c.steps !== undefined) int(c.steps, 1, 100000, 'steps per epoch');
  if (!(c.lr > 0 && c.lr < 1)) throw new Error(`learning rate must be in (0, 1), got ${c.lr}`);
  if (!Number.isFinite(c.seed)) throw new Error(`seed must be a number, got ${c.seed}`);
}

async function openSplits(data: TabData, size: number, sink: EventSink): Promise<{ train: ImageFolder; validation: ImageFolder; skipped: BadImage[] }> {
  const open = (root: string) => {
    const name = `Reading ${root} images`;
    const t0 = performance.now();
    let announced = false;
    return ImageFolder.open(root, {
      fs: data.fs,
      decoder: data.decoder,
      cache: data.cache,
      targetSize: [size, size],
      onBadImage: 'skip',
      onProgress: (done, total) => {
        if (!announced) sink({ type: 'phase', name, total, unit: 'images' });
        announced = true;
        const el = (performance.now() - t0) / 1000;
        sink({ type: 'progress', name, done, total, images: done, elapsed_s: el, images_per_s: done / Math.max(el, 1e-9) });
      },
    });
  };
  const train = await open(data.trainDir);
  const validation = await open(data.validationDir);
  if (train.classNames.join() !== validation.classNames.join()) {
    throw new Error(`the training classes (${train.classNames.join(', ')}) differ from the validation classes (${validation.classNames.join(', ')})`);
  }
  return { train, validation, skipped: [...train.bad, ...validation.bad] };
}

function classifierFrom(e: Engine, forward: ForwardFn, inputSize: number, classNames: string[], dispose: () => void): Classifier {
  return {
    inputSize,
    classNames,
    probabilities: (pixels, count) => {
      const host = { images: pixels, labels: new Float32Array(count), indices: Int32Array.from({ length: count }, (_, i) => i), size: count, height: inputSize, width: inputSize };
      const stream = new ScheduledBatches([[0]], async () => host, (h) => uploadImageBatch(e, h));
      return predictProbabilities(e, forward, stream);
    },
    dispose,
  };
}

/** Runs recipe 1 or 2 in this engine on `data`, reporting through `hooks.sink`; returns the history and a classifier. */
export async function trainInTab(e: Engine, weights: TabWeights, data: TabData, cfg: TabTrainingConfig, hooks: TabHooks): Promise<TabTrainingResult> {
  validateConfig(cfg);
  const sink: EventSink = (ev) => {
    hooks.sink?.(ev);
    if (ev.type === 'progress') hooks.onStep?.();
  };
  const { train, validation, skipped } = await openSplits(data, cfg.inputSize, sink);
  const backbone: Backbone = createBackbone(cfg.backbone, e, { inputSize: cfg.inputSize, seed: cfg.seed, logger: hooks.logger });
  let head: Sequential | null = null;
  let model: Sequential | null = null;
  const disposeAll = () => {
    (model ?? backbone.model).dispose();
    head?.dispose();
  };
  try {
    const status = backbone.loadWeights(weights.tensors, { source: weights.source });
    sink({ type: 'info', message: `${cfg.backbone}: ${status.parameters.toLocaleString('en')} parameters from ${status.source}` });
    const mode = backbone.defaultPreprocess;
    const config = { ...cfg, preprocess: mode, classes: train.classNames, train_images: train.size, validation_images: validation.size, weights: weights.source };
    let plan: TrainingPlan;
    let predictForward: ForwardFn;
    if (cfg.recipe === 'features') {
      const opts = { preprocess: mode, batchSize: cfg.batch, sink };
      const trainSet = await extractFeatures(e, backbone, train, { ...opts, name: 'Extracting train' });
      const valSet = await extractFeatures(e, backbone, validation, { ...opts, name: 'Extracting validation' });
      const built = featureHeadPlan(e, { train: trainSet, validation: valSet, epochs: cfg.epochs, batch: cfg.batch, lr: cfg.lr, seed: cfg.seed, model: cfg.backbone, config });
      head = built.model;
      plan = built.plan;
      const base = backbone.model;
      const h = head;
      predictForward = (x: Tensor, ctx) => {
        const features = base.forward(preprocess(e, x, mode), INFERENCE);
        return forwardLogits(h, features, ctx);
      };
    } else {
      backbone.model.freeze();
      model = buildTransferModel(e, backbone.model, cfg.inputSize, cfg.seed);
      plan = imagePlan(e, {
        recipe: 'augment',
        model,
        inputSize: cfg.inputSize,
        preprocess: mode,
        augmentation: BOOK_AUGMENTATION,
        train,
        validation,
        epochs: cfg.epochs,
        ...(cfg.steps ? { steps: cfg.steps } : {}),
        batch: cfg.batch,
        lr: cfg.lr,
        seed: cfg.seed,
        modelName: cfg.backbone,
        config,
      });
      predictForward = imageForward(e, model, mode, null);
    }
    const outcome = await runTraining(e, plan, { store: new MemoryRunStore('this tab'), sink });
    return { history: outcome.history, metrics: outcome.metrics, classifier: classifierFrom(e, predictForward, cfg.inputSize, train.classNames, disposeAll), skipped };
  } catch (err) {
    disposeAll();
    throw err;
  }
}

export { RECIPE_DEFAULTS };
