// The recipes as jobs, on any platform: options in, a run (config, history, metrics, plots, checkpoint) and results
// out, through the environment's run repository, datasets and backbones; progress goes to its event sink. The CLI
// (via jobs-node.ts) and the browser tab call these same functions.
import { BOOK_AUGMENTATION } from '../data/augment-params.js';
import type { ImageFolder, OnBadImage } from '../data/image-folder.js';
import type { Engine } from '../engine/index.js';
import { sha256Hex } from '../formats/checksum.js';
import type { PreprocessMode } from '../kernels/preprocess.js';
import { backboneDefaults } from '../models/registry.js';
import type { BackboneName } from '../models/types.js';
import type { Sequential } from '../nn/sequential.js';
import { CHECKPOINT_FILE, parseCheckpoint } from './checkpoint.js';
import { headOutputs, newRunConfig, parseRunConfig, resolveClassMode, type ClassMode, type RunConfig } from './config.js';
import { planOptimizer, type OptimizerName } from './optimizer-config.js';
import { classFolderMismatch } from '../data/directory.js';
import { classReport, reportJson, type ClassReport } from './report.js';
import { extractSplits, MANIFEST_FILE, type ExtractAllResult, type FeatureManifest } from './extract.js';
import { readFeatureSet, SPLITS, type FeatureSet, type SplitName } from './features.js';
import { classProbabilities, evaluate, predictLogits } from './fit.js';
import { uploadImageBatch } from './image-input.js';
import type { JobEnv, LoadedBackbone, RunHandle } from './job-env.js';
import type { Backbone } from '../models/types.js';
import { buildTransferModel, HEAD_DROPOUT, HEAD_UNITS } from './model.js';
import { checkBatchFits } from './preflight.js';
import { featureHeadPlan, imageForward, imagePlan, RECIPE_DEFAULTS, type RecipeName } from './recipes.js';
import { CONFIG_FILE, jsonSafe, METRICS_FILE, runTraining, type RunOutcome, type TrainingPlan } from './run.js';
import { epochBatchIndices, ScheduledBatches } from './schedule.js';
import { readJson, writeJson } from './store.js';

export interface TrainJobCommon {
  name?: string;
  epochs?: number;
  batch?: number;
  /** Default rmsprop (the book's); a resumed run keeps its own. */
  optimizer?: OptimizerName;
  lr?: number;
  seed?: number;
  /** Continue this run (a name or location) from its last checkpoint. */
  resume?: string;
  /** 'binary' (one sigmoid unit; two classes only) or 'categorical' (softmax); default binary for 2 classes, else categorical. */
  classMode?: ClassMode;
}

export interface TrainJobResult extends RunOutcome {
  /** The run's location (a folder in Node). */
  dir: string;
  config: RunConfig;
}

function paramCounts(model: Sequential): RunConfig['params'] {
  return { total: model.countParams(), trainable: model.trainableParams().reduce((a, t) => a + t.size, 0) };
}

export async function readRunConfig(run: RunHandle): Promise<RunConfig> {
  const raw = await readJson(run.store, CONFIG_FILE);
  if (!raw) throw new Error(`${run.store.describe(CONFIG_FILE)} does not exist`);
  return parseRunConfig(raw, run.store.describe(CONFIG_FILE));
}

/** An existing run (by name or location) and its config.json. */
export async function openRun(env: JobEnv, ref: string): Promise<{ run: RunHandle; config: RunConfig }> {
  const run = await env.runs.find(ref);
  return { run, config: await readRunConfig(run) };
}

/** What a new run's backbone is made of (an existing run's comes from its config). */
export interface BackboneChoice {
  model: BackboneName;
  inputSize?: number;
  weights?: string;
  seed?: number;
  allowRandom?: boolean;
}

/**
 * The one place a job's backbone is loaded: the one an existing run was made with (its weights checked by checksum,
 * or the same random initialisation), or a new run's choice.
 */
async function loadBackboneFor(env: JobEnv, from: RunConfig | BackboneChoice): Promise<LoadedBackbone> {
  if (!('recipe' in from)) {
    return env.backbones.load(from.model, {
      ...(from.inputSize ? { inputSize: from.inputSize } : {}),
      ...(from.weights ? { weights: from.weights } : {}),
      seed: from.seed ?? 0,
      allowRandom: from.allowRandom ?? false,
    });
  }
  const random = from.weights.checksum.startsWith('random');
  const loaded = await env.backbones.load(from.model, {
    inputSize: from.input_size,
    ...(from.weights.path ? { weights: from.weights.path } : {}),
    seed: from.seed,
    allowRandom: random,
    ...(random ? {} : { expectedChecksum: from.weights.checksum }),
  });
  if (random && loaded.status.pretrained) {
    loaded.backbone.model.dispose();
    throw new Error(`the run used a random base, but weights were found at ${loaded.weightsPath}`);
  }
  return loaded;
}

/** A new run, or the stored one (its config, `--epochs` applied) when resuming. */
async function runTarget(env: JobEnv, recipe: RecipeName, o: TrainJobCommon): Promise<{ run: RunHandle; stored: RunConfig | null }> {
  if (o.resume === undefined) return { run: await env.runs.create(recipe, o.name), stored: null };
  const { run, config: stored } = await openRun(env, o.resume);
  if (stored.recipe !== recipe) throw new Error(`--resume ${o.resume}: that run is a '${stored.recipe}' run, not '${recipe}'`);
  if (o.optimizer !== undefined && o.optimizer !== stored.optimizer.name) {
    throw new Error(`--resume ${o.resume}: that run trains with ${stored.optimizer.name}; it cannot continue with ${o.optimizer} (start a new run to change the optimizer)`);
  }
  if (o.epochs !== undefined) stored.epochs = o.epochs;
  if (!(await run.store.read(CHECKPOINT_FILE))) throw new Error(`--resume ${o.resume}: ${run.store.describe(CHECKPOINT_FILE)} does not exist (no epoch finished)`);
  return { run, stored };
}

/** Trains `plan` into the run with the optimizer settings of `config` (so config.json says what was applied). */
async function trainRun(env: JobEnv, run: RunHandle, config: RunConfig, plan: TrainingPlan, resume: boolean, extra: Record<string, number | string> = {}): Promise<TrainJobResult> {
  const withOptimizer: TrainingPlan = { ...plan, ...planOptimizer(config.optimizer), classes: config.classes };
  const outcome = await runTraining(
    env.engine,
    withOptimizer,
    { store: run.store, sink: env.sink, ...(env.plots ? { plots: env.plots } : {}), ...(env.confusionPlot ? { confusionPlot: env.confusionPlot } : {}) },
    { resume, ...(env.hooks ? { hooks: env.hooks } : {}), extraMetrics: { run: run.location, ...extra } },
  );
  return { ...outcome, dir: run.location, config };
}

/** The class names (train's sorted class folders); every split must have the same ones. */
function checkClasses(folders: Map<SplitName, ImageFolder>): string[] {
  const train = folders.get('train')!;
  for (const f of folders.values()) {
    const problem = classFolderMismatch(train, f, (...p) => p.join('/'));
    if (problem) throw new Error(problem);
  }
  if (train.classNames.length < 2) throw new Error(`${train.root}: classification needs at least 2 class folders, found ${train.classNames.length} (${train.classNames.join(', ')})`);
  return [...train.classNames];
}

/** A trained model is only applied to data with the class names it was trained on. */
function checkSameClasses(what: string, classes: readonly string[], runClasses: readonly string[]): void {
  if (classes.join('\u0000') === runClasses.join('\u0000')) return;
  const missing = runClasses.filter((c) => !classes.includes(c));
  const extra = classes.filter((c) => !runClasses.includes(c));
  const detail = [missing.length ? `missing ${missing.join(', ')}` : '', extra.length ? `not in the run: ${extra.join(', ')}` : '', !missing.length && !extra.length ? 'same names in another order' : '']
    .filter(Boolean)
    .join('; ');
  throw new Error(`${what}: classes ${classes.join(', ')} differ from the run's ${runClasses.join(', ')} (${detail})`);
}

// ------------------------------------------------------------------------------------------------ extract

export interface ExtractJobOptions {
  model: BackboneName;
  weights?: string;
  data: string;
  out: string;
  inputSize?: number;
  preprocess?: PreprocessMode;
  batch: number;
  onBadImage: OnBadImage;
  force?: boolean;
  seed?: number;
  /** Use a randomly initialised base when no weights are found (smoke tests and benchmarks only). */
  allowRandom?: boolean;
}

export interface ExtractJobResult extends ExtractAllResult {
  loaded: LoadedBackbone;
  data: string;
  out: string;
  folders: Map<SplitName, ImageFolder>;
}

/** Runs the frozen base over train/validation/test and stores features + labels as .npy (reused when unchanged). */
export async function extractJob(env: JobEnv, o: ExtractJobOptions): Promise<ExtractJobResult> {
  const e = env.engine;
  const loaded = await loadBackboneFor(env, o);
  try {
    const bb = loaded.backbone;
    const preprocess = o.preprocess ?? bb.defaultPreprocess;
    env.sink({ type: 'info', message: `Model: ${bb.name} at ${bb.inputSize}×${bb.inputSize}, ${preprocess} preprocessing, features [${bb.featureShape.join(', ')}], weights ${loaded.status.pretrained ? loaded.weightsPath : loaded.status.source}` });
    checkBatchFits(e, bb.model, [bb.inputSize, bb.inputSize, 3], o.batch);
    const data = env.data.resolve(o.data);
    const folders = await env.data.openSplits(data, SPLITS, { inputSize: bb.inputSize, onBadImage: o.onBadImage });
    checkClasses(folders);
    const out = env.data.features(o.out);
    const result = await extractSplits(
      e,
      [...folders].map(([name, folder]) => ({ name, folder })),
      { backbone: bb, preprocess, batchSize: o.batch, weightsChecksum: loaded.checksum, weightsPath: loaded.weightsPath, pixels: env.data.pixels ?? 'sharp-nearest', store: out.store, sink: env.sink, force: o.force ?? false },
    );
    return { ...result, loaded, data, out: out.location, folders };
  } catch (err) {
    loaded.backbone.model.dispose();
    throw err;
  }
}

// ------------------------------------------------------------------------------------------------ recipe 1

export interface FeatureHeadJobOptions extends TrainJobCommon {
  /** Features written by `extract` (manifest.json + <split>_features.npy / _labels.npy). */
  features?: string;
}

export async function featureHeadJob(env: JobEnv, o: FeatureHeadJobOptions, extraMetrics: Record<string, number | string> = {}): Promise<TrainJobResult> {
  const e = env.engine;
  const { run, stored } = await runTarget(env, 'feature-head', o);
  if (!stored && !o.features) throw new Error('--features DIR is required (a folder written by `webgpu-transfer extract`)');
  const features = env.data.features(stored?.features ?? o.features!);
  const manifest = await readJson<FeatureManifest>(features.store, MANIFEST_FILE);
  if (!manifest) throw new Error(`--features ${features.location}: no ${MANIFEST_FILE} (run \`webgpu-transfer extract --out ${features.location}\` first)`);
  const classes = manifest.splits.train?.classes ?? ['0', '1'];
  for (const [s, rec] of Object.entries(manifest.splits)) {
    if (rec.classes && rec.classes.join('\u0000') !== classes.join('\u0000')) throw new Error(`--features ${features.location}: the ${s} split has classes ${rec.classes.join(', ')}, train has ${classes.join(', ')}`);
  }
  if (stored) checkSameClasses(`--features ${features.location}`, classes, stored.classes);
  const classMode = stored ? (stored.class_mode ?? 'binary') : resolveClassMode(classes, o.classMode);
  const sets = new Map<SplitName, FeatureSet>();
  for (const s of SPLITS) {
    const set = await readFeatureSet(features.store, s, classes.length);
    if (set) sets.set(s, set);
    else if (s !== 'test') throw new Error(`--features ${features.location}: missing ${s}_features.npy or ${s}_labels.npy`);
  }
  const d = RECIPE_DEFAULTS['feature-head'];
  const train = sets.get('train')!;
  const config: RunConfig =
    stored ??
    newRunConfig(env, {
      recipe: 'feature-head',
      name: run.name,
      model: manifest.model as BackboneName,
      weights: { path: manifest.weights_path ?? '', checksum: manifest.weights_checksum, pretrained: !manifest.weights_checksum.startsWith('random') },
      input_size: manifest.input_size,
      preprocess: manifest.preprocess,
      data: manifest.splits.train?.root ? env.data.resolve(`${manifest.splits.train.root}/..`) : null,
      features: features.location,
      feature_shape: train.featureShape,
      classes,
      class_mode: classMode,
      head: { units: HEAD_UNITS, dropout: HEAD_DROPOUT },
      epochs: o.epochs ?? d.epochs,
      steps: null,
      validation_steps: null,
      batch: o.batch ?? d.batch,
      optimizer: o.optimizer ?? 'rmsprop',
      lr: o.lr ?? d.lr,
      seed: o.seed ?? 0,
      augmentation: null,
      unfreeze: [],
      from: null,
      on_bad_image: 'fail',
      params: { total: 0, trainable: 0 },
    });
  const { plan, model } = featureHeadPlan(e, {
    outputs: headOutputs(config),
    train,
    validation: sets.get('validation')!,
    ...(sets.has('test') ? { test: sets.get('test')! } : {}),
    epochs: config.epochs,
    batch: config.batch,
    lr: config.optimizer.lr,
    seed: config.seed,
    model: config.model,
    config: config as unknown as Record<string, unknown>,
  });
  config.params = paramCounts(model);
  try {
    return await trainRun(env, run, config, plan, stored !== null, extraMetrics);
  } finally {
    model.dispose();
  }
}

// ------------------------------------------------------------------------------------------------ recipes 2 and 3

/** Rebuilds a run's model (base with its pretrained weights, checked by checksum, plus the head), untrained. */
export async function buildRunModel(env: JobEnv, config: RunConfig): Promise<{ loaded: LoadedBackbone; model: Sequential }> {
  const loaded = await loadBackboneFor(env, config);
  const bb = loaded.backbone;
  const model = buildTransferModel(env.engine, bb.model, bb.inputSize, config.seed, { dropout: config.head.dropout > 0, outputs: headOutputs(config) });
  return { loaded, model };
}

/** Loads the trained tensors of a run's checkpoint into a model built by `buildRunModel`; the checkpoint's epoch and SHA-256. */
export async function restoreRunWeights(e: Engine, model: Sequential, run: RunHandle): Promise<{ epoch: number; sha256: string }> {
  const bytes = await run.store.read(CHECKPOINT_FILE);
  const file = run.store.describe(CHECKPOINT_FILE);
  if (!bytes) throw new Error(`${file} does not exist (the run has no finished epoch)`);
  const ckpt = parseCheckpoint(bytes, file);
  const params = new Map(model.namedParams());
  const problems: string[] = [];
  for (const [name, t] of ckpt.params) {
    const p = params.get(name);
    if (!p) problems.push(`'${name}' is not a parameter of the model`);
    else if (p.shape.join(',') !== t.shape.join(',')) problems.push(`'${name}' has shape [${t.shape.join(', ')}], the model's is [${p.shape.join(', ')}]`);
  }
  if (problems.length) throw new Error(`${file}: ${problems.slice(0, 5).join('; ')}`);
  for (const [name, t] of ckpt.params) e.write(params.get(name)!, t.data as Float32Array);
  return { epoch: ckpt.state.epoch, sha256: await sha256Hex(bytes) };
}

/**
 * The one place an existing run becomes its model as trained (every job that uses a run: finetune's source,
 * evaluate, predict, explain, the tab's classifier): the base it was made with, its head, its checkpoint's tensors.
 */
export async function loadRunModel(env: JobEnv, r: { run: RunHandle; config: RunConfig }): Promise<{ loaded: LoadedBackbone; model: Sequential; checkpoint: { epoch: number; sha256: string } }> {
  const { loaded, model } = await buildRunModel(env, r.config);
  try {
    return { loaded, model, checkpoint: await restoreRunWeights(env.engine, model, r.run) };
  } catch (err) {
    model.dispose();
    throw err;
  }
}

export interface ImageTrainJobOptions extends TrainJobCommon {
  model: BackboneName;
  weights?: string;
  data: string;
  inputSize?: number;
  preprocess?: PreprocessMode;
  /** Training batches per epoch (default 100, the book's); null: one pass over the training split. */
  steps?: number | null;
  validationSteps?: number | null;
  augment?: boolean;
  onBadImage?: OnBadImage;
  allowRandom?: boolean;
}

async function imageFolders(env: JobEnv, config: Pick<RunConfig, 'data' | 'input_size' | 'on_bad_image'>): Promise<Map<SplitName, ImageFolder>> {
  if (!config.data) throw new Error('the run has no image data folder; pass --data DIR');
  return env.data.openSplits(config.data, SPLITS, { inputSize: config.input_size, onBadImage: config.on_bad_image });
}

function trainImages(env: JobEnv, run: RunHandle, resume: boolean, config: RunConfig, model: Sequential, folders: Map<SplitName, ImageFolder>): Promise<TrainJobResult> {
  const plan = imagePlan(env.engine, {
    recipe: config.recipe === 'finetune' ? 'finetune' : 'augment',
    model,
    inputSize: config.input_size,
    preprocess: config.preprocess,
    augmentation: config.augmentation,
    train: folders.get('train')!,
    validation: folders.get('validation')!,
    ...(folders.has('test') ? { test: folders.get('test')! } : {}),
    epochs: config.epochs,
    ...(config.steps ? { steps: config.steps } : {}),
    ...(config.validation_steps ? { validationSteps: config.validation_steps } : {}),
    batch: config.batch,
    lr: config.optimizer.lr,
    seed: config.seed,
    modelName: config.model,
    config: config as unknown as Record<string, unknown>,
  });
  return trainRun(env, run, config, plan, resume);
}

/** Recipe 2: frozen base + head on images, augmentation on the GPU. */
export async function imageTrainJob(env: JobEnv, o: ImageTrainJobOptions): Promise<TrainJobResult> {
  const e = env.engine;
  const { run, stored } = await runTarget(env, 'augment', o);
  const d = RECIPE_DEFAULTS.augment;
  const seed = stored?.seed ?? o.seed ?? 0;
  const loaded = await loadBackboneFor(env, stored ?? o);
  const bb = loaded.backbone;
  let model: Sequential | null = null;
  try {
    bb.model.freeze();
    // The batch is checked once, on the base, before any image is read (the head's activations are smaller).
    checkBatchFits(e, bb.model, [bb.inputSize, bb.inputSize, 3], stored?.batch ?? o.batch ?? d.batch);
    // The classes decide the head: open (and check) the data before building it.
    const data = stored?.data ?? env.data.resolve(o.data);
    const folders = await imageFolders(env, { data, input_size: bb.inputSize, on_bad_image: stored?.on_bad_image ?? o.onBadImage ?? 'fail' });
    const classes = checkClasses(folders);
    if (stored) checkSameClasses(`--data ${data}`, classes, stored.classes);
    const classMode = stored ? (stored.class_mode ?? 'binary') : resolveClassMode(classes, o.classMode);
    model = buildTransferModel(e, bb.model, bb.inputSize, seed, { outputs: classMode === 'binary' ? 1 : classes.length });
    const config: RunConfig =
      stored ??
      newRunConfig(env, {
        recipe: 'augment',
        name: run.name,
        model: bb.name,
        weights: { path: loaded.weightsPath, checksum: loaded.checksum, pretrained: loaded.status.pretrained },
        input_size: bb.inputSize,
        preprocess: o.preprocess ?? bb.defaultPreprocess,
        data,
        features: null,
        feature_shape: [...bb.featureShape],
        classes,
        class_mode: classMode,
        head: { units: HEAD_UNITS, dropout: 0 },
        epochs: o.epochs ?? d.epochs,
        steps: o.steps === undefined ? d.steps : o.steps,
        validation_steps: o.validationSteps === undefined ? d.validationSteps : o.validationSteps,
        batch: o.batch ?? d.batch,
        optimizer: o.optimizer ?? 'rmsprop',
        lr: o.lr ?? d.lr,
        seed,
        augmentation: (o.augment ?? true) ? { ...BOOK_AUGMENTATION } : null,
        unfreeze: [],
        from: null,
        on_bad_image: o.onBadImage ?? 'fail',
        params: paramCounts(model),
      });
    return await trainImages(env, run, stored !== null, config, model, folders);
  } finally {
    (model ?? bb.model).dispose();
  }
}

export interface FinetuneJobOptions extends TrainJobCommon {
  /** The run to start from (its weights and settings). */
  from?: string;
  /** Layers of the base to train by name, or (an ONNX base) the last K convolutions (default: the model's top block, e.g. block5_conv1..3). */
  unfreeze?: string[] | number;
  /** An ONNX base: train every layer from the node that writes this tensor on. */
  trainableFrom?: string;
  data?: string;
  steps?: number | null;
  validationSteps?: number | null;
  augment?: boolean;
  onBadImage?: OnBadImage;
}

/** The layers recipe 3 trains: named, counted from the end (an ONNX base), from a tensor on, or the model's top block. */
function trainableLayers(bb: Backbone, o: FinetuneJobOptions): string[] {
  if (o.trainableFrom !== undefined && o.unfreeze !== undefined) throw new Error('give --unfreeze or --trainable-from, not both');
  if (o.trainableFrom === undefined && typeof o.unfreeze !== 'number') return o.unfreeze ?? bb.topLayerNames;
  if (!bb.layersToTrain) {
    throw new Error(`${o.trainableFrom !== undefined ? '--trainable-from' : `--unfreeze ${String(o.unfreeze)}`} needs an ONNX base; name ${bb.name}'s layers with --unfreeze (default: ${bb.topLayerNames.join(',')})`);
  }
  return bb.layersToTrain(o.trainableFrom !== undefined ? { from: o.trainableFrom } : { lastConvs: o.unfreeze as number });
}

/** Recipe 3: continue a run with the top layers of the base unfrozen, at a lower learning rate. */
export async function finetuneJob(env: JobEnv, o: FinetuneJobOptions): Promise<TrainJobResult> {
  const e = env.engine;
  const { run, stored } = await runTarget(env, 'finetune', o);
  const fromRef = stored?.from ?? o.from;
  if (!fromRef) throw new Error('--from RUN is required (a run of train-head, train or finetune)');
  const { run: fromRun, config: source } = await openRun(env, fromRef);
  const { loaded, model, checkpoint: restored } = await loadRunModel(env, { run: fromRun, config: source });
  try {
    if (stored?.from_checkpoint && stored.from_checkpoint.sha256 !== restored.sha256) {
      throw new Error(
        `--resume ${o.resume}: this run started from ${fromRun.store.describe(CHECKPOINT_FILE)} at epoch ${stored.from_checkpoint.epoch} (SHA-256 ${stored.from_checkpoint.sha256.slice(0, 12)}…), but that file has changed since (now epoch ${restored.epoch}, ${restored.sha256.slice(0, 12)}…)`,
      );
    }
    const bb = loaded.backbone;
    const unfreeze = stored?.unfreeze ?? trainableLayers(bb, o);
    bb.model.trainOnly(unfreeze);
    const d = RECIPE_DEFAULTS.finetune;
    // The batch is checked once, before any image is read.
    checkBatchFits(e, model, [bb.inputSize, bb.inputSize, 3], stored?.batch ?? o.batch ?? d.batch);
    const config: RunConfig =
      stored ??
      newRunConfig(env, {
        ...source,
        recipe: 'finetune',
        name: run.name,
        data: o.data ? env.data.resolve(o.data) : source.data,
        features: null,
        epochs: o.epochs ?? d.epochs,
        steps: o.steps === undefined ? d.steps : o.steps,
        validation_steps: o.validationSteps === undefined ? d.validationSteps : o.validationSteps,
        batch: o.batch ?? d.batch,
        optimizer: o.optimizer ?? 'rmsprop',
        lr: o.lr ?? d.lr,
        seed: o.seed ?? source.seed,
        augmentation: (o.augment ?? true) ? { ...BOOK_AUGMENTATION } : null,
        unfreeze: [...unfreeze],
        from: fromRun.location,
        from_checkpoint: { epoch: restored.epoch, sha256: restored.sha256 },
        on_bad_image: o.onBadImage ?? source.on_bad_image,
        params: paramCounts(model),
      });
    const folders = await imageFolders(env, config);
    const classes = checkClasses(folders);
    checkSameClasses(`--data ${config.data}`, classes, source.classes);
    config.classes = classes;
    return await trainImages(env, run, stored !== null, config, model, folders);
  } finally {
    model.dispose();
  }
}

// ------------------------------------------------------------------------------------------------ evaluate / predict

export interface EvaluateJobOptions {
  from: string;
  /** A dataset root (its `split` sub-folder is used) or a folder of class sub-folders; default the run's data. */
  data?: string;
  split?: SplitName;
  batch?: number;
  onBadImage?: OnBadImage;
}

export async function evaluateJob(
  env: JobEnv,
  o: EvaluateJobOptions,
): Promise<{ loss: number; acc: number; count: number; top5_acc?: number; report: ClassReport; folder: string; run: string; config: RunConfig }> {
  const e = env.engine;
  const { run, config } = await openRun(env, o.from);
  const root = o.data ? env.data.resolve(o.data) : config.data;
  if (!root) throw new Error('--data DIR is required (the run does not record an image folder)');
  const batch = o.batch ?? config.batch;
  const { model } = await loadRunModel(env, { run, config });
  try {
    checkBatchFits(e, model, [config.input_size, config.input_size, 3], batch);
    const folder = await env.data.openEvaluation(root, o.split ?? 'test', { inputSize: config.input_size, onBadImage: o.onBadImage ?? 'fail' });
    checkSameClasses(folder.root, folder.classNames, config.classes);
    const forward = imageForward(e, model, config.preprocess, null);
    const stream = new ScheduledBatches(epochBatchIndices({ size: folder.size, batchSize: batch, shuffle: false, seed: 0 }), (idx) => folder.loadBatch(idx), (h) => uploadImageBatch(e, h));
    const { confusion, ...r } = await evaluate(e, forward, stream, { sink: env.sink, name: 'Evaluate', confusion: true });
    return { ...r, report: classReport(o.split ?? 'test', config.classes, confusion!), folder: folder.root, run: run.location, config };
  } finally {
    model.dispose();
  }
}

export interface Prediction {
  file: string;
  /** Binary head: the probability of class 1 (the second class folder, e.g. dogs); softmax head: of the predicted class. */
  probability: number;
  /** Binary head: the model's output before the sigmoid; softmax head: the predicted class's logit. */
  logit: number;
  label: number;
  class: string;
  /** The (up to) 3 most probable classes, most probable first. */
  top: { label: number; class: string; probability: number }[];
}

/**
 * A run's model (its trained weights restored) and the given image files decoded at its input size. Everything is
 * read before anything is computed, so a bad file or run fails before any output.
 */
export async function runModelForImages(env: JobEnv, o: { from: string; images: readonly string[] }): Promise<{ run: RunHandle; config: RunConfig; pixels: Uint8Array[]; model: Sequential }> {
  if (o.images.length === 0) throw new Error('give at least one IMAGE file');
  const { run, config } = await openRun(env, o.from);
  const pixels = await env.data.decodeImages(o.images, config.input_size);
  const { model } = await loadRunModel(env, { run, config });
  return { run, config, pixels, model };
}

export async function predictJob(env: JobEnv, o: { from: string; images: string[]; batch?: number }): Promise<{ predictions: Prediction[]; run: string; config: RunConfig }> {
  const e = env.engine;
  const { run, config, pixels, model } = await runModelForImages(env, o);
  const size = config.input_size;
  try {
    // Every batch has the run's batch size (the last one padded with blank images): the kernels compiled for
    // that shape are reused instead of compiling new ones for an odd size.
    const batch = o.batch ?? config.batch;
    checkBatchFits(e, model, [size, size, 3], batch);
    const per = size * size * 3;
    const padded = Math.ceil(pixels.length / batch) * batch;
    const stream = new ScheduledBatches(
      epochBatchIndices({ size: padded, batchSize: batch, shuffle: false, seed: 0 }),
      async (idx) => {
        const images = new Uint8Array(idx.length * per);
        idx.forEach((i, k) => {
          if (i < pixels.length) images.set(pixels[i]!, k * per);
        });
        return { images, labels: new Float32Array(idx.length), indices: Int32Array.from(idx), size: idx.length, height: size, width: size };
      },
      (h) => uploadImageBatch(e, h),
    );
    const units = headOutputs(config);
    const logits = (await predictLogits(e, imageForward(e, model, config.preprocess, null), stream)).subarray(0, pixels.length * units);
    const classes = config.classes;
    const { probs, classes: k } = classProbabilities(logits, pixels.length);
    const predictions = o.images.map((file, i): Prediction => {
      const row = Array.from(probs.subarray(i * k, (i + 1) * k));
      const top = row
        .map((probability, label) => ({ label, class: classes[label] ?? `class ${label}`, probability }))
        .sort((a, b) => b.probability - a.probability || a.label - b.label)
        .slice(0, 3);
      if (units === 1) {
        const z = logits[i]!;
        const p = row[1]!; // σ(z)
        const label = p > 0.5 ? 1 : 0;
        return { file, probability: p, logit: z, label, class: classes[label]!, top };
      }
      const best = top[0]!;
      return { file, probability: best.probability, logit: logits[i * units + best.label]!, label: best.label, class: best.class, top };
    });
    return { predictions, run: run.location, config };
  } finally {
    model.dispose();
  }
}

// ------------------------------------------------------------------------------------------------ start

export interface StartJobOptions extends TrainJobCommon {
  model: BackboneName;
  weights?: string;
  data: string;
  inputSize?: number;
  preprocess?: PreprocessMode;
  /** Feature cache (default `<featuresRoot>/<model>-<size>-<preprocess>`). */
  featuresDir?: string;
  featuresRoot: string;
  onBadImage?: OnBadImage;
  allowRandom?: boolean;
}

/** Feature extraction (cached) on the model and data, then the book's head; val and test accuracy. */
export async function startJob(env: JobEnv, o: StartJobOptions): Promise<TrainJobResult & { extract: ExtractJobResult }> {
  const t0 = performance.now();
  const batch = o.batch ?? RECIPE_DEFAULTS['feature-head'].batch;
  const defaults = backboneDefaults(o.model);
  const size = o.inputSize ?? defaults.inputSize;
  const pre = o.preprocess ?? defaults.preprocess;
  const featuresDir = o.featuresDir ?? `${o.featuresRoot}/${o.model}-${size}-${pre}`;
  const extract = await extractJob(env, {
    model: o.model,
    ...(o.weights ? { weights: o.weights } : {}),
    data: o.data,
    out: featuresDir,
    inputSize: size,
    preprocess: pre,
    batch,
    onBadImage: o.onBadImage ?? 'fail',
    seed: o.seed ?? 0,
    allowRandom: o.allowRandom ?? false,
  });
  extract.loaded.backbone.model.dispose();
  const extraMetrics: Record<string, number | string> = {
    extract_s: extract.seconds,
    extract_images: extract.images,
    extract_images_per_s: extract.images ? extract.images / extract.seconds : 0,
    features_reused: extract.reused ? 'yes' : 'no',
  };
  const result = await featureHeadJob(env, { ...o, features: featuresDir }, extraMetrics);
  // metrics.json of the run gains the wall time of the whole command, extraction included.
  result.metrics.total_wall_s = (performance.now() - t0) / 1000;
  await writeJson((await env.runs.find(result.dir)).store, METRICS_FILE, { ...jsonSafe(result.metrics), ...(result.report ? reportJson(result.report) : {}) });
  return { ...result, extract };
}
