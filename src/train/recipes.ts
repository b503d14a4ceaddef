import type { AugmentConfig } from '../data/augment-params.js';
import type { ImageFolder } from '../data/image-folder.js';
import type { Engine, Tensor } from '../engine/index.js';
import type { Sequential } from '../nn/sequential.js';
import type { PreprocessMode } from '../util/preprocess.js';
import type { BatchStream, ForwardFn } from './batches.js';
import { featureBatches, type FeatureSet } from './features.js';
import { prepareImages, uploadImageBatch } from './image-input.js';
import { buildFeatureHead, forwardLogits } from './model.js';
import { checkBatchFits } from './preflight.js';
import type { OptimizerName } from './optimizer-config.js';
import type { TrainingPlan } from './run.js';
import { epochBatchIndices, ScheduledBatches } from './schedule.js';

/** The book's settings for each recipe (Deep Learning with Python, 5.3). */
export const RECIPE_DEFAULTS = {
  'feature-head': { epochs: 30, batch: 20, lr: 2e-5 },
  augment: { epochs: 30, batch: 20, lr: 2e-5, steps: 100, validationSteps: 50 },
  finetune: { epochs: 100, batch: 20, lr: 1e-5, steps: 100, validationSteps: 50 },
} as const;

export type RecipeName = keyof typeof RECIPE_DEFAULTS;

export interface FeatureHeadOptions {
  /** Output units of the head: 1 (binary, sigmoid; the default) or the number of classes (softmax). */
  outputs?: number;
  train: FeatureSet;
  validation: FeatureSet;
  test?: FeatureSet;
  epochs: number;
  batch: number;
  optimizer?: OptimizerName;
  lr: number;
  rho?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  seed: number;
  model: string;
  config: Record<string, unknown>;
}

type ScheduleFields = Pick<TrainingPlan, 'optimizer' | 'lr' | 'rho' | 'beta1' | 'beta2' | 'epsilon' | 'epochs' | 'seed'>;

/** The plan's optimiser and schedule fields, as every recipe's options give them. */
function scheduleFields(o: ScheduleFields): ScheduleFields {
  const out: ScheduleFields = { lr: o.lr, epochs: o.epochs, seed: o.seed };
  for (const k of ['optimizer', 'rho', 'beta1', 'beta2', 'epsilon'] as const) if (o[k] !== undefined) Object.assign(out, { [k]: o[k] });
  return out;
}

/** Recipe 1: Dense(256, relu) → Dropout(0.5) → Dense(1 or C) on extracted features, the plan's optimizer (RMSprop unless given), BCE or softmax CE, reshuffled each epoch. */
export function featureHeadPlan(e: Engine, o: FeatureHeadOptions): { plan: TrainingPlan; model: Sequential } {
  const shape = o.train.featureShape;
  for (const s of [o.validation, o.test]) {
    if (s && s.featureShape.join(',') !== shape.join(',')) throw new Error(`feature shapes differ between splits: [${shape.join(', ')}] and [${s.featureShape.join(', ')}]`);
  }
  const model = buildFeatureHead(e, shape, o.seed, o.outputs ?? 1);
  checkBatchFits(e, model, shape, o.batch);
  const forward: ForwardFn = (x, ctx) => forwardLogits(model, x, ctx);
  const evalStream = (set: FeatureSet): BatchStream => featureBatches(e, set, { batchSize: o.batch, shuffle: false, seed: o.seed });
  const plan: TrainingPlan = {
    recipe: 'feature-head',
    model: o.model,
    config: o.config,
    params: model.trainableParams(),
    forward,
    ...scheduleFields(o),
    train: (epoch) => featureBatches(e, o.train, { batchSize: o.batch, shuffle: true, seed: o.seed, epoch }),
    validation: () => evalStream(o.validation),
    ...(o.test ? { test: () => evalStream(o.test!) } : {}),
  };
  return { plan, model };
}

/** Batches of images from a folder: a u8 upload per batch, the augmentation/normalisation happens in `forward`. */
export function imageBatches(
  e: Engine,
  folder: ImageFolder,
  o: { batchSize: number; shuffle: boolean; seed: number; epoch?: number; steps?: number },
): BatchStream {
  const batches = epochBatchIndices({ size: folder.size, batchSize: o.batchSize, shuffle: o.shuffle, seed: o.seed, epoch: o.epoch ?? 0, ...(o.steps ? { steps: o.steps } : {}) });
  return new ScheduledBatches(batches, (idx) => folder.loadBatch(idx), (host) => uploadImageBatch(e, host));
}

/** A forward pass from u8 pixels: normalisation, augmentation when training, then the model's logits. */
export function imageForward(e: Engine, model: Sequential, preprocess: PreprocessMode, augmentation: AugmentConfig | null): ForwardFn {
  return (x: Tensor, ctx) => {
    const input = prepareImages(e, x, preprocess, ctx, augmentation);
    const out = forwardLogits(model, input, ctx);
    input.dispose();
    return out;
  };
}

export interface ImageRecipeOptions {
  recipe: 'augment' | 'finetune';
  /** The base + head model, built for `inputSize`, with the wanted layers trainable. */
  model: Sequential;
  inputSize: number;
  preprocess: PreprocessMode;
  augmentation: AugmentConfig | null;
  train: ImageFolder;
  validation: ImageFolder;
  test?: ImageFolder;
  epochs: number;
  /** Training batches per epoch (default: one pass). */
  steps?: number;
  validationSteps?: number;
  batch: number;
  optimizer?: OptimizerName;
  lr: number;
  rho?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  seed: number;
  modelName: string;
  config: Record<string, unknown>;
}

/**
 * Recipes 2 and 3: images through the (partly) frozen base and the head, augmented on the GPU. The batch is not
 * checked here: the jobs check it (`checkBatchFits`) before reading any image.
 */
export function imagePlan(e: Engine, o: ImageRecipeOptions): TrainingPlan {
  const params = o.model.trainableParams();
  if (params.length === 0) throw new Error('nothing to train: every layer of the model is frozen');
  const forward = imageForward(e, o.model, o.preprocess, o.augmentation);
  return {
    recipe: o.recipe,
    model: o.modelName,
    config: o.config,
    params,
    forward,
    ...scheduleFields(o),
    train: (epoch) => imageBatches(e, o.train, { batchSize: o.batch, shuffle: true, seed: o.seed, epoch, ...(o.steps ? { steps: o.steps } : {}) }),
    validation: () => imageBatches(e, o.validation, { batchSize: o.batch, shuffle: false, seed: o.seed, ...(o.validationSteps ? { steps: o.validationSteps } : {}) }),
    ...(o.test ? { test: () => imageBatches(e, o.test!, { batchSize: o.batch, shuffle: false, seed: o.seed }) } : {}),
  };
}
