// The training commands as functions (Node): options in, files in a run folder and results out; progress goes to the
// event sink, never to the console. The CLI commands are thin wrappers around these.
import { readdir } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { BOOK_AUGMENTATION } from '../data/augment-params.js';
import { SharpImageDecoder } from '../data/decoder-node.js';
import type { ImageFolder, OnBadImage } from '../data/image-folder.js';
import type { Engine } from '../engine/index.js';
import type { PreprocessMode } from '../kernels/preprocess.js';
import type { BackboneName, ModelLogger } from '../models/types.js';
import type { Sequential } from '../nn/sequential.js';
import { CHECKPOINT_FILE, parseCheckpoint } from './checkpoint.js';
import { parseRunConfig, type RunConfig } from './config.js';
import { silentSink, type EventSink } from './events.js';
import { extractSplits, MANIFEST_FILE, type ExtractAllResult, type FeatureManifest } from './extract.js';
import { readFeatureSet, SPLITS, type FeatureSet, type SplitName } from './features.js';
import { evaluate, predictLogits } from './fit.js';
import { uploadImageBatch } from './image-input.js';
import { buildTransferModel, HEAD_DROPOUT, HEAD_UNITS } from './model.js';
import { renderHistoryPng } from './plots-node.js';
import { checkBatchFits } from './preflight.js';
import { featureHeadPlan, imageForward, imagePlan, RECIPE_DEFAULTS, type RecipeName } from './recipes.js';
import { CONFIG_FILE, jsonSafe, METRICS_FILE, runTraining, type RunHooks, type RunOutcome } from './run.js';
import { NodeRunStore } from './run-store-node.js';
import { epochBatchIndices, ScheduledBatches } from './schedule.js';
import { exists, fromRoot, hasSplits, loadBackbone, openFolder, openSplits, pixelCache, type LoadedBackbone } from './setup-node.js';
import { readJson, writeJson } from './store.js';

export interface JobContext {
  engine: Engine;
  sink?: EventSink;
  /** Warnings from the models (random weights) go here. */
  logger?: ModelLogger;
  /** Where runs/<name>/ folders go (default `runs`). */
  runsDir?: string;
  /** Decoded-pixel cache folder (default `.cache/pixels`); null disables it. */
  pixelCacheDir?: string | null;
  hooks?: RunHooks;
}

const quietLogger: ModelLogger = { warn: () => {} };

function sinkOf(ctx: JobContext): EventSink {
  return ctx.sink ?? silentSink;
}

function adapterOf(e: Engine): RunConfig['adapter'] {
  return { description: e.info.description, vendor: e.info.vendor, architecture: e.info.architecture, software: e.info.isFallbackAdapter };
}

function software(): RunConfig['software'] {
  return { node: process.version, platform: `${process.platform}-${process.arch}` };
}

function timestamp(d = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

const RUN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

async function folderHasFiles(dir: string): Promise<boolean> {
  return readdir(dir).then(
    (l) => l.length > 0,
    () => false,
  );
}

/** The folder of an existing run: a path, or a name under the runs folder. */
export async function findRun(runsDir: string, run: string): Promise<string> {
  const candidates = isAbsolute(run) || run.includes('/') || run.startsWith('.') ? [resolve(run)] : [resolve(runsDir, run), resolve(run)];
  for (const c of candidates) if (await exists(join(c, CONFIG_FILE))) return c;
  throw new Error(`run '${run}' not found (looked for ${candidates.map((c) => join(c, CONFIG_FILE)).join(' and ')})`);
}

/** A new run folder under `runsDir` (not created until its first file is written). */
export async function newRunDir(runsDir: string, recipe: string, name?: string): Promise<{ dir: string; name: string }> {
  if (name !== undefined) {
    if (!RUN_NAME.test(name)) throw new Error(`--name '${name}': use letters, digits, '.', '_' and '-' only`);
    const dir = resolve(runsDir, name);
    if (await folderHasFiles(dir)) throw new Error(`run folder ${dir} already exists; choose another --name, or continue it with --resume ${name}`);
    return { dir, name };
  }
  const base = `${recipe}-${timestamp()}`;
  for (let i = 1; ; i++) {
    const n = i === 1 ? base : `${base}-${i}`;
    const dir = resolve(runsDir, n);
    if (!(await folderHasFiles(dir))) return { dir, name: n };
  }
}

export async function readRunConfig(dir: string): Promise<RunConfig> {
  const store = new NodeRunStore(dir);
  const raw = await readJson(store, CONFIG_FILE);
  if (!raw) throw new Error(`${store.describe(CONFIG_FILE)} does not exist`);
  return parseRunConfig(raw, store.describe(CONFIG_FILE));
}

function paramCounts(model: Sequential): RunConfig['params'] {
  return { total: model.countParams(), trainable: model.trainableParams().reduce((a, t) => a + t.size, 0) };
}

// ------------------------------------------------------------------------------------------------ extract

export interface ExtractJobOptions {
  model: BackboneName;
  /** Weights path (default: the model's usual place). */
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
export async function extractJob(ctx: JobContext, o: ExtractJobOptions): Promise<ExtractJobResult> {
  const e = ctx.engine;
  const sink = sinkOf(ctx);
  const loaded = await loadBackbone(e, o.model, {
    ...(o.inputSize ? { inputSize: o.inputSize } : {}),
    ...(o.weights ? { weightsPath: o.weights } : {}),
    seed: o.seed ?? 0,
    logger: ctx.logger ?? quietLogger,
    allowRandom: o.allowRandom ?? false,
  });
  try {
    const bb = loaded.backbone;
    const preprocess = o.preprocess ?? bb.defaultPreprocess;
    sink({ type: 'info', message: `Model: ${bb.name} at ${bb.inputSize}×${bb.inputSize}, ${preprocess} preprocessing, features [${bb.featureShape.join(', ')}], weights ${loaded.status.pretrained ? loaded.weightsPath : loaded.status.source}` });
    checkBatchFits(e, bb.model, [bb.inputSize, bb.inputSize, 3], o.batch);
    const data = resolve(o.data);
    const folders = await openSplits(data, SPLITS, {
      inputSize: bb.inputSize,
      onBadImage: o.onBadImage,
      cache: pixelCache(ctx.pixelCacheDir === undefined ? '.cache/pixels' : ctx.pixelCacheDir),
      log: (line) => sink({ type: 'info', message: line }),
    });
    const out = resolve(o.out);
    const result = await extractSplits(
      e,
      [...folders].map(([name, folder]) => ({ name, folder })),
      { backbone: bb, preprocess, batchSize: o.batch, weightsChecksum: loaded.checksum, weightsPath: loaded.weightsPath, pixels: 'sharp-nearest', store: new NodeRunStore(out), sink, force: o.force ?? false },
    );
    return { ...result, loaded, data, out, folders };
  } catch (err) {
    loaded.backbone.model.dispose();
    throw err;
  }
}

// ------------------------------------------------------------------------------------------------ common

export interface TrainJobCommon {
  name?: string;
  epochs?: number;
  batch?: number;
  lr?: number;
  seed?: number;
  /** Continue this run (a name under the runs folder, or a path) from its last checkpoint. */
  resume?: string;
}

export interface TrainJobResult extends RunOutcome {
  dir: string;
  config: RunConfig;
}

async function trainRun(ctx: JobContext, dir: string, config: RunConfig, plan: Parameters<typeof runTraining>[1], resume: boolean, extra: Record<string, number | string> = {}): Promise<TrainJobResult> {
  const store = new NodeRunStore(dir);
  const outcome = await runTraining(ctx.engine, plan, { store, plots: renderHistoryPng, sink: sinkOf(ctx) }, { resume, ...(ctx.hooks ? { hooks: ctx.hooks } : {}), extraMetrics: { run: dir, ...extra } });
  return { ...outcome, dir, config };
}

/** Where a run goes and which config it uses: a new one from `make`, or the stored one when resuming. */
async function runTarget(
  ctx: JobContext,
  recipe: RecipeName,
  o: TrainJobCommon,
): Promise<{ dir: string; name: string; stored: RunConfig | null }> {
  const runsDir = resolve(ctx.runsDir ?? 'runs');
  if (o.resume !== undefined) {
    const dir = await findRun(runsDir, o.resume);
    const stored = await readRunConfig(dir);
    if (stored.recipe !== recipe) throw new Error(`--resume ${o.resume}: that run is a '${stored.recipe}' run, not '${recipe}'`);
    if (o.epochs !== undefined) stored.epochs = o.epochs;
    if (!(await exists(join(dir, CHECKPOINT_FILE)))) throw new Error(`--resume ${o.resume}: ${join(dir, CHECKPOINT_FILE)} does not exist (no epoch finished)`);
    return { dir, name: basename(dir), stored };
  }
  const { dir, name } = await newRunDir(runsDir, recipe, o.name);
  return { dir, name, stored: null };
}

// ------------------------------------------------------------------------------------------------ recipe 1

export interface FeatureHeadJobOptions extends TrainJobCommon {
  /** Folder written by `extract` (manifest.json + <split>_features.npy / _labels.npy). */
  features?: string;
}

export async function featureHeadJob(ctx: JobContext, o: FeatureHeadJobOptions, extraMetrics: Record<string, number | string> = {}): Promise<TrainJobResult> {
  const e = ctx.engine;
  const target = await runTarget(ctx, 'feature-head', o);
  const featuresDir = resolve(target.stored?.features ?? o.features ?? '');
  if (!target.stored && !o.features) throw new Error('--features DIR is required (a folder written by `webgpu-transfer extract`)');
  const fstore = new NodeRunStore(featuresDir);
  const manifest = await readJson<FeatureManifest>(fstore, MANIFEST_FILE);
  if (!manifest) throw new Error(`--features ${featuresDir}: no ${MANIFEST_FILE} (run \`webgpu-transfer extract --out ${featuresDir}\` first)`);
  const sets = new Map<SplitName, FeatureSet>();
  for (const s of SPLITS) {
    const set = await readFeatureSet(fstore, s);
    if (set) sets.set(s, set);
    else if (s !== 'test') throw new Error(`--features ${featuresDir}: missing ${s}_features.npy or ${s}_labels.npy`);
  }
  const d = RECIPE_DEFAULTS['feature-head'];
  const train = sets.get('train')!;
  const config: RunConfig = target.stored ?? {
    recipe: 'feature-head',
    name: target.name,
    created: new Date().toISOString(),
    model: manifest.model as BackboneName,
    weights: { path: '', checksum: manifest.weights_checksum, pretrained: !manifest.weights_checksum.startsWith('random') },
    input_size: manifest.input_size,
    preprocess: manifest.preprocess,
    interpolation: 'nearest',
    data: manifest.splits.train?.root ? resolve(manifest.splits.train.root, '..') : null,
    features: featuresDir,
    feature_shape: train.featureShape,
    classes: manifest.splits.train?.classes ?? ['0', '1'],
    head: { units: HEAD_UNITS, dropout: HEAD_DROPOUT },
    epochs: o.epochs ?? d.epochs,
    steps: null,
    validation_steps: null,
    batch: o.batch ?? d.batch,
    optimizer: { name: 'rmsprop', lr: o.lr ?? d.lr, rho: 0.9, epsilon: 1e-7 },
    loss: 'binary_crossentropy (from logits)',
    seed: o.seed ?? 0,
    augmentation: null,
    unfreeze: [],
    from: null,
    on_bad_image: 'fail',
    params: { total: 0, trainable: 0 },
    adapter: adapterOf(e),
    software: software(),
  };
  if (!target.stored) config.weights.path = manifest.weights_path ?? '';
  const { plan, model } = featureHeadPlan(e, {
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
    return await trainRun(ctx, target.dir, config, plan, target.stored !== null, extraMetrics);
  } finally {
    model.dispose();
  }
}

// ------------------------------------------------------------------------------------------------ recipes 2 and 3

/** Rebuilds a run's model (base with its pretrained weights, checked by checksum, plus the head), untrained. */
export async function buildRunModel(ctx: JobContext, config: RunConfig): Promise<{ loaded: LoadedBackbone; model: Sequential }> {
  const random = config.weights.checksum.startsWith('random');
  const loaded = await loadBackbone(ctx.engine, config.model, {
    inputSize: config.input_size,
    ...(config.weights.path ? { weightsPath: config.weights.path } : {}),
    seed: config.seed,
    logger: ctx.logger ?? quietLogger,
    allowRandom: random,
    ...(random ? {} : { expectedChecksum: config.weights.checksum }),
  });
  if (random && loaded.status.pretrained) throw new Error(`the run used a random base, but weights were found at ${loaded.weightsPath}`);
  const bb = loaded.backbone;
  const head = buildTransferModel(ctx.engine, bb.model, bb.inputSize, config.seed, { dropout: config.head.dropout > 0 });
  return { loaded, model: head };
}

/** Loads the trained tensors of a run's checkpoint into a model built by `buildRunModel`. */
export async function restoreRunWeights(e: Engine, model: Sequential, dir: string): Promise<{ epoch: number }> {
  const store = new NodeRunStore(dir);
  const bytes = await store.read(CHECKPOINT_FILE);
  const file = store.describe(CHECKPOINT_FILE);
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
  return { epoch: ckpt.state.epoch };
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

async function imageFolders(ctx: JobContext, config: RunConfig, withTest: boolean): Promise<Map<SplitName, ImageFolder>> {
  if (!config.data) throw new Error('the run has no image data folder; pass --data DIR');
  const sink = sinkOf(ctx);
  return openSplits(config.data, withTest ? SPLITS : ['train', 'validation'], {
    inputSize: config.input_size,
    onBadImage: config.on_bad_image,
    cache: pixelCache(ctx.pixelCacheDir === undefined ? '.cache/pixels' : ctx.pixelCacheDir),
    log: (line) => sink({ type: 'info', message: line }),
  });
}

async function trainImages(ctx: JobContext, target: { dir: string; stored: RunConfig | null }, config: RunConfig, model: Sequential, folders: Map<SplitName, ImageFolder>): Promise<TrainJobResult> {
  const plan = imagePlan(ctx.engine, {
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
  return trainRun(ctx, target.dir, config, plan, target.stored !== null);
}

function checkClasses(folders: Map<SplitName, ImageFolder>): string[] {
  const train = folders.get('train')!;
  for (const [name, f] of folders) {
    if (f.classNames.join('/') !== train.classNames.join('/')) throw new Error(`${f.root}: classes ${f.classNames.join(', ')} differ from train's ${train.classNames.join(', ')} (${name})`);
  }
  if (train.classNames.length !== 2) throw new Error(`${train.root}: binary classification needs exactly 2 class folders, found ${train.classNames.length} (${train.classNames.join(', ')})`);
  return [...train.classNames];
}

/** Recipe 2: frozen base + head on images, augmentation on the GPU. */
export async function imageTrainJob(ctx: JobContext, o: ImageTrainJobOptions): Promise<TrainJobResult> {
  const e = ctx.engine;
  const target = await runTarget(ctx, 'augment', o);
  const d = RECIPE_DEFAULTS.augment;
  const seed = target.stored?.seed ?? o.seed ?? 0;
  const loaded = await loadBackbone(e, target.stored?.model ?? o.model, {
    ...((target.stored?.input_size ?? o.inputSize) ? { inputSize: target.stored?.input_size ?? o.inputSize } : {}),
    ...((target.stored?.weights.path || o.weights) ? { weightsPath: target.stored?.weights.path || o.weights } : {}),
    seed,
    logger: ctx.logger ?? quietLogger,
    allowRandom: target.stored ? target.stored.weights.checksum.startsWith('random') : (o.allowRandom ?? false),
    ...(target.stored && !target.stored.weights.checksum.startsWith('random') ? { expectedChecksum: target.stored.weights.checksum } : {}),
  });
  const bb = loaded.backbone;
  let model: Sequential | null = null;
  try {
    bb.model.freeze();
    model = buildTransferModel(e, bb.model, bb.inputSize, seed);
    checkBatchFits(e, model, [bb.inputSize, bb.inputSize, 3], target.stored?.batch ?? o.batch ?? d.batch);
    const config: RunConfig = target.stored ?? {
      recipe: 'augment',
      name: target.name,
      created: new Date().toISOString(),
      model: bb.name,
      weights: { path: loaded.weightsPath, checksum: loaded.checksum, pretrained: loaded.status.pretrained },
      input_size: bb.inputSize,
      preprocess: o.preprocess ?? bb.defaultPreprocess,
      interpolation: 'nearest',
      data: resolve(o.data),
      features: null,
      feature_shape: [...bb.featureShape],
      classes: [],
      head: { units: HEAD_UNITS, dropout: 0 },
      epochs: o.epochs ?? d.epochs,
      steps: o.steps === undefined ? d.steps : o.steps,
      validation_steps: o.validationSteps === undefined ? d.validationSteps : o.validationSteps,
      batch: o.batch ?? d.batch,
      optimizer: { name: 'rmsprop', lr: o.lr ?? d.lr, rho: 0.9, epsilon: 1e-7 },
      loss: 'binary_crossentropy (from logits)',
      seed,
      augmentation: (o.augment ?? true) ? { ...BOOK_AUGMENTATION } : null,
      unfreeze: [],
      from: null,
      on_bad_image: o.onBadImage ?? 'fail',
      params: paramCounts(model),
      adapter: adapterOf(e),
      software: software(),
    };
    const folders = await imageFolders(ctx, config, true);
    config.classes = checkClasses(folders);
    return await trainImages(ctx, target, config, model, folders);
  } finally {
    (model ?? bb.model).dispose();
  }
}

export interface FinetuneJobOptions extends TrainJobCommon {
  /** The run to start from (its weights and settings). */
  from?: string;
  /** Layers of the base to train (default: the model's top block, e.g. block5_conv1..3). */
  unfreeze?: string[];
  data?: string;
  steps?: number | null;
  validationSteps?: number | null;
  augment?: boolean;
  onBadImage?: OnBadImage;
}

/** Recipe 3: continue a run with the top layers of the base unfrozen, at a lower learning rate. */
export async function finetuneJob(ctx: JobContext, o: FinetuneJobOptions): Promise<TrainJobResult> {
  const e = ctx.engine;
  const target = await runTarget(ctx, 'finetune', o);
  const runsDir = resolve(ctx.runsDir ?? 'runs');
  const fromDir = target.stored?.from ?? (o.from ? await findRun(runsDir, o.from) : null);
  if (!fromDir) throw new Error('--from RUN is required (a run of train-head, train or finetune)');
  const source = await readRunConfig(fromDir);
  const { loaded, model } = await buildRunModel(ctx, source);
  try {
    await restoreRunWeights(e, model, fromDir);
    const bb = loaded.backbone;
    const unfreeze = target.stored?.unfreeze ?? o.unfreeze ?? bb.topLayerNames;
    bb.model.trainOnly(unfreeze);
    const d = RECIPE_DEFAULTS.finetune;
    checkBatchFits(e, model, [bb.inputSize, bb.inputSize, 3], target.stored?.batch ?? o.batch ?? d.batch);
    const config: RunConfig = target.stored ?? {
      ...source,
      recipe: 'finetune',
      name: target.name,
      created: new Date().toISOString(),
      data: o.data ? resolve(o.data) : source.data,
      features: null,
      epochs: o.epochs ?? d.epochs,
      steps: o.steps === undefined ? d.steps : o.steps,
      validation_steps: o.validationSteps === undefined ? d.validationSteps : o.validationSteps,
      batch: o.batch ?? d.batch,
      optimizer: { name: 'rmsprop', lr: o.lr ?? d.lr, rho: 0.9, epsilon: 1e-7 },
      seed: o.seed ?? source.seed,
      augmentation: (o.augment ?? true) ? { ...BOOK_AUGMENTATION } : null,
      unfreeze: [...unfreeze],
      from: fromDir,
      on_bad_image: o.onBadImage ?? source.on_bad_image,
      params: paramCounts(model),
      adapter: adapterOf(e),
      software: software(),
    };
    const folders = await imageFolders(ctx, config, true);
    const classes = checkClasses(folders);
    if (source.classes.length && classes.join('/') !== source.classes.join('/')) throw new Error(`--data ${config.data}: classes ${classes.join(', ')} differ from the run's ${source.classes.join(', ')}`);
    config.classes = classes;
    return await trainImages(ctx, target, config, model, folders);
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

export async function evaluateJob(ctx: JobContext, o: EvaluateJobOptions): Promise<{ loss: number; acc: number; count: number; folder: string; run: string; config: RunConfig }> {
  const e = ctx.engine;
  const run = await findRun(resolve(ctx.runsDir ?? 'runs'), o.from);
  const config = await readRunConfig(run);
  const root = o.data ? resolve(o.data) : config.data;
  if (!root) throw new Error('--data DIR is required (the run does not record an image folder)');
  const dir = (await hasSplits(root)) || (await exists(join(root, o.split ?? 'test'))) ? join(root, o.split ?? 'test') : root;
  const batch = o.batch ?? config.batch;
  const { model } = await buildRunModel(ctx, config);
  try {
    await restoreRunWeights(e, model, run);
    checkBatchFits(e, model, [config.input_size, config.input_size, 3], batch);
    const sink = sinkOf(ctx);
    const folder = await openFolder(dir, {
      inputSize: config.input_size,
      onBadImage: o.onBadImage ?? 'fail',
      cache: pixelCache(ctx.pixelCacheDir === undefined ? '.cache/pixels' : ctx.pixelCacheDir),
      log: (line) => sink({ type: 'info', message: line }),
    });
    if (config.classes.length && folder.classNames.join('/') !== config.classes.join('/')) {
      throw new Error(`${dir}: classes ${folder.classNames.join(', ')} differ from the run's ${config.classes.join(', ')}`);
    }
    const forward = imageForward(e, model, config.preprocess, null);
    const stream = new ScheduledBatches(epochBatchIndices({ size: folder.size, batchSize: batch, shuffle: false, seed: 0 }), (idx) => folder.loadBatch(idx), (h) => uploadImageBatch(e, h));
    const r = await evaluate(e, forward, stream, { sink, name: 'Evaluate' });
    return { ...r, folder: dir, run, config };
  } finally {
    model.dispose();
  }
}

export interface Prediction {
  file: string;
  /** Probability of class 1 (the second class folder, e.g. dogs). */
  probability: number;
  /** The model's output before the sigmoid. */
  logit: number;
  label: number;
  class: string;
}

export async function predictJob(ctx: JobContext, o: { from: string; images: string[]; batch?: number }): Promise<{ predictions: Prediction[]; run: string; config: RunConfig }> {
  const e = ctx.engine;
  if (o.images.length === 0) throw new Error('give at least one IMAGE file');
  const run = await findRun(resolve(ctx.runsDir ?? 'runs'), o.from);
  const config = await readRunConfig(run);
  const size = config.input_size;
  const decoder = new SharpImageDecoder();
  const { readFile } = await import('node:fs/promises');
  // Decode everything first: a bad file fails before any output.
  const pixels: Uint8Array[] = [];
  for (const file of o.images) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(file));
    } catch (err) {
      throw new Error(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    pixels.push(await decoder.decode(bytes, file, [size, size], 'nearest'));
  }
  const { model } = await buildRunModel(ctx, config);
  try {
    await restoreRunWeights(e, model, run);
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
    const logits = (await predictLogits(e, imageForward(e, model, config.preprocess, null), stream)).subarray(0, pixels.length);
    const classes = config.classes.length === 2 ? config.classes : ['class 0', 'class 1'];
    const predictions = o.images.map((file, i) => {
      const z = logits[i]!;
      const p = z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
      const label = p > 0.5 ? 1 : 0;
      return { file, probability: p, logit: z, label, class: classes[label]! };
    });
    return { predictions, run, config };
  } finally {
    model.dispose();
  }
}

// ------------------------------------------------------------------------------------------------ start

export interface StartJobOptions extends TrainJobCommon {
  model?: BackboneName;
  weights?: string;
  data?: string;
  inputSize?: number;
  preprocess?: PreprocessMode;
  /** Feature cache folder (default `.cache/features/<model>-<size>-<preprocess>`). */
  featuresDir?: string;
  onBadImage?: OnBadImage;
  allowRandom?: boolean;
}

export const DEFAULT_DATA = '../shared/data/cats_and_dogs_small';

/** `npm start`: feature extraction (cached) on the default model and data, then the book's head; val and test accuracy. */
export async function startJob(ctx: JobContext, o: StartJobOptions & { model: BackboneName }): Promise<TrainJobResult & { extract: ExtractJobResult }> {
  const t0 = performance.now();
  const data = o.data ?? fromRoot(DEFAULT_DATA);
  if (!(await exists(data))) {
    throw new Error(
      `no data: ${data} does not exist. Pass --data DIR, a folder with train/, validation/ and test/ sub-folders, each holding one sub-folder of images per class (e.g. cats/ and dogs/)`,
    );
  }
  const batch = o.batch ?? RECIPE_DEFAULTS['feature-head'].batch;
  // Defaults of the backbone when not overridden; they name the feature cache.
  const probe = { vgg16: { size: 150, pre: 'rescale' }, squeezenet1_1: { size: 224, pre: 'imagenet' }, mobilenet_v2: { size: 224, pre: 'imagenet' } }[o.model];
  const size = o.inputSize ?? probe.size;
  const pre = o.preprocess ?? (probe.pre as PreprocessMode);
  const featuresDir = o.featuresDir ?? resolve('.cache', 'features', `${o.model}-${size}-${pre}`);
  const extract = await extractJob(ctx, {
    model: o.model,
    ...(o.weights ? { weights: o.weights } : {}),
    data,
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
  const result = await featureHeadJob(ctx, { ...o, features: featuresDir }, extraMetrics);
  // metrics.json of the run gains the wall time of the whole command, extraction included.
  result.metrics.total_wall_s = (performance.now() - t0) / 1000;
  await writeJson(new NodeRunStore(result.dir), METRICS_FILE, jsonSafe(result.metrics));
  return { ...result, extract };
}
