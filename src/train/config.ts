import type { AugmentConfig } from '../data/augment-params.js';
import type { OnBadImage } from '../data/image-folder.js';
import type { BackboneName } from '../models/types.js';
import type { PreprocessMode } from '../util/preprocess.js';
import { optimizerConfig, parseOptimizerConfig, type OptimizerConfig, type OptimizerName } from './optimizer-config.js';
import type { RecipeName } from './recipes.js';

/** config.json of a run: every setting needed to rebuild its model and continue or reproduce it. */
export interface RunConfig {
  recipe: RecipeName;
  name: string;
  created: string;
  model: BackboneName;
  weights: { path: string; checksum: string; pretrained: boolean };
  input_size: number;
  preprocess: PreprocessMode;
  interpolation: 'nearest';
  /** Image dataset root (train/, validation/, test/), or null for recipe 1 (see `features`). */
  data: string | null;
  /** Recipe 1: the folder of extracted features, and the dataset they came from. */
  features: string | null;
  feature_shape: number[];
  /** Class names in label order (flow_from_directory: sorted folder names). */
  classes: string[];
  /**
   * 'binary': one sigmoid output unit and BCE (two classes); 'categorical': one output per class, softmax
   * cross-entropy. Absent in runs made before there was a choice (they are binary).
   */
  class_mode?: ClassMode;
  head: { units: number; dropout: number };
  epochs: number;
  /** Training batches per epoch (null: one pass over the training split). */
  steps: number | null;
  validation_steps: number | null;
  batch: number;
  /** Absent `name` (runs made before there was a choice): rmsprop. */
  optimizer: OptimizerConfig;
  loss: 'binary_crossentropy (from logits)' | 'categorical_crossentropy (from logits)';
  seed: number;
  augmentation: AugmentConfig | null;
  /** Recipe 3: the layers of the base that are trained, and the run it starts from. */
  unfreeze: string[];
  from: string | null;
  /** Recipe 3: the source run's checkpoint it started from, so a later change to that run never blurs the lineage. */
  from_checkpoint?: { epoch: number; sha256: string };
  on_bad_image: OnBadImage;
  params: { total: number; trainable: number };
  adapter: { description: string; vendor: string; architecture: string; software: boolean };
  software: { node: string; platform: string };
}

const RECIPES: readonly string[] = ['feature-head', 'augment', 'finetune'];

export type ClassMode = 'binary' | 'categorical';
export const CLASS_MODES: readonly ClassMode[] = ['binary', 'categorical'];

/** Keras' class_mode for these classes: as asked, else binary for two classes and categorical above. */
export function resolveClassMode(classes: readonly string[], asked?: ClassMode): ClassMode {
  if (asked === 'binary' && classes.length !== 2) {
    throw new Error(`--class-mode binary needs exactly 2 class folders, found ${classes.length} (${classes.join(', ')}); use --class-mode categorical`);
  }
  return asked ?? (classes.length === 2 ? 'binary' : 'categorical');
}

/** Output units of a run's head: 1 (binary) or one per class. */
export function headOutputs(c: Pick<RunConfig, 'classes' | 'class_mode'>): number {
  return (c.class_mode ?? (c.classes.length === 2 ? 'binary' : 'categorical')) === 'binary' ? 1 : c.classes.length;
}

/** The loss recorded in config.json for a class mode. */
export function lossName(mode: ClassMode): RunConfig['loss'] {
  return mode === 'binary' ? 'binary_crossentropy (from logits)' : 'categorical_crossentropy (from logits)';
}

/** Checks the fields a run needs to be rebuilt; names the file and the field that is wrong. */
export function parseRunConfig(value: unknown, file: string): RunConfig {
  const c = value as Partial<RunConfig> | null;
  const fail = (field: string, want: string): never => {
    throw new Error(`${file}: field '${field}' is missing or not ${want}`);
  };
  if (typeof c !== 'object' || c === null) throw new Error(`${file}: not a run configuration object`);
  if (!RECIPES.includes(c.recipe as string)) fail('recipe', RECIPES.join(' | '));
  if (typeof c.model !== 'string') fail('model', 'a model name');
  if (typeof c.weights !== 'object' || c.weights === null || typeof c.weights.path !== 'string' || typeof c.weights.checksum !== 'string') fail('weights', '{ path, checksum }');
  for (const k of ['input_size', 'epochs', 'batch', 'seed'] as const) if (!Number.isInteger(c[k])) fail(k, 'an integer');
  if (!Array.isArray(c.feature_shape)) fail('feature_shape', 'an array');
  if (!Array.isArray(c.classes) || c.classes.length < 2 || !c.classes.every((n) => typeof n === 'string') || new Set(c.classes).size !== c.classes.length) {
    fail('classes', 'two or more distinct class names');
  }
  if (c.class_mode !== undefined && !CLASS_MODES.includes(c.class_mode)) fail('class_mode', CLASS_MODES.join(' | '));
  if (c.class_mode === 'binary' && c.classes!.length !== 2) fail('class_mode', "'categorical' (binary needs exactly two classes)");
  if (typeof c.head !== 'object' || c.head === null || typeof c.head.dropout !== 'number') fail('head', '{ units, dropout }');
  c.optimizer = parseOptimizerConfig(c.optimizer, file);
  if (typeof c.preprocess !== 'string') fail('preprocess', 'a preprocessing mode');
  return c as RunConfig;
}

/** The fields every new run fills the same way; `newRunConfig` adds them to what the recipe decides. */
export type RecipeSettings = Omit<RunConfig, 'created' | 'interpolation' | 'loss' | 'optimizer' | 'adapter' | 'software'> & { lr: number; optimizer?: OptimizerName; loss?: RunConfig['loss'] };

/** The one place a run's config.json is put together (optimizer settings included: the ones training applies; default RMSprop). */
export function newRunConfig(
  env: { engine: { info: { description: string; vendor: string; architecture: string; isFallbackAdapter: boolean } }; software: RunConfig['software'] },
  s: RecipeSettings,
): RunConfig {
  const { lr, optimizer, loss: _loss, ...rest } = s;
  const i = env.engine.info;
  return {
    ...rest,
    created: new Date().toISOString(),
    interpolation: 'nearest',
    loss: lossName(rest.class_mode ?? (rest.classes.length > 2 ? 'categorical' : 'binary')),
    optimizer: optimizerConfig(optimizer ?? 'rmsprop', lr),
    adapter: { description: i.description, vendor: i.vendor, architecture: i.architecture, software: i.isFallbackAdapter },
    software: env.software,
  };
}
