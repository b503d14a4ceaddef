/**
 * The tab's training session, on the recipe layer of src/train/jobs.ts: the same `extractJob` / `featureHeadJob` /
 * `imageTrainJob` / `finetuneJob` the CLI runs, in a `MemoryJobEnv` (runs and feature folders in memory, the picked
 * images mounted as a dataset, the backbone weights the page loaded). It also turns a run into a classifier for the
 * predict panel, and a run into one downloadable file and back.
 * Nothing here touches the DOM, so the browser test runs this very code in Node (Dawn) as the oracle.
 */
import type { BadImage } from '../src/data/errors.js';
import type { DataFs, ImageDecoder, PixelCache } from '../src/data/types.js';
import type { Engine } from '../src/engine/index.js';
import { parseSafetensors, writeSafetensors } from '../src/formats/safetensors.js';
import type { NamedArrays } from '../src/formats/types.js';
import type { BackboneName, ModelLogger } from '../src/models/types.js';
import {
  CHECKPOINT_FILE,
  CONFIG_FILE,
  extractJob,
  featureHeadJob,
  finetuneJob,
  imageTrainJob,
  MemoryJobEnv,
  openClassifier,
  parseCheckpoint,
  parseRunConfig,
  RECIPE_DEFAULTS,
  type ClassReport,
  type EventSink,
  type History,
  type RunConfig,
  type TrainJobResult,
} from '../src/train/index.js';

export type TabRecipe = 'features' | 'augment' | 'finetune';

export interface TabTrainingConfig {
  recipe: TabRecipe;
  backbone: BackboneName;
  inputSize: number;
  epochs: number;
  batch: number;
  lr: number;
  seed: number;
  /** Recipes 2 and 3: training batches per epoch (default: one pass over the training images). */
  steps?: number;
  /** Recipe 3: the run (trained or loaded in this session) whose model is fine-tuned. */
  from?: string;
}

/** The picked images: a small file system holding each split's class folders. */
export interface TabData {
  fs: DataFs;
  trainDir: string;
  validationDir: string;
}

export interface TabWeights {
  /** The backbone's pretrained tensors as found in the file; null keeps the random initialisation (with a warning). */
  tensors: NamedArrays | null;
  source: string;
}

/** A trained model for the predict panel: RGB bytes at the input size → class probabilities. */
export interface Classifier {
  /** The session's run it was built from. */
  readonly run: string;
  readonly config: RunConfig;
  readonly inputSize: number;
  readonly classNames: string[];
  /** Two-class models: the probability of class 1 per image (sigmoid head). Throws for more than two classes. */
  probabilities(pixels: Uint8Array, count: number): Promise<Float32Array>;
  /**
   * Every class's probability per image, images × `classes` row-major: [1 − σ(z), σ(z)] for a sigmoid head, the
   * softmax of the logits for a softmax head.
   */
  classProbabilities(pixels: Uint8Array, count: number): Promise<{ probs: Float64Array; classes: number }>;
  /**
   * Grad-CAM of one image (RGB bytes at the input size) for class `classIndex` (default: its predicted class), at
   * the base's last convolutional block.
   */
  explain(pixels: Uint8Array, classIndex?: number): Promise<TabHeatmap>;
  dispose(): void;
}

/** The `k` most probable classes of image `image` (ties: the lower class index first), most probable first. */
export function topClasses(p: { probs: Float64Array; classes: number }, names: readonly string[], k: number, image = 0): { index: number; className: string; probability: number }[] {
  const row = Array.from(p.probs.subarray(image * p.classes, (image + 1) * p.classes), (probability, index) => ({ index, className: names[index] ?? `class ${index}`, probability }));
  row.sort((a, b) => b.probability - a.probability || a.index - b.index);
  return row.slice(0, Math.min(k, row.length));
}

/** A Grad-CAM heatmap (layer's spatial size, unnormalised) and what it explains. */
export interface TabHeatmap {
  layer: string;
  heatmap: Float32Array;
  height: number;
  width: number;
  classIndex: number;
}

export interface TabTrainingResult {
  /** The run's name in the session. */
  run: string;
  history: History;
  metrics: Record<string, number | string>;
  /** Per-class results and the confusion matrix, counted on the validation images after the last epoch. */
  report?: ClassReport;
  classifier: Classifier;
  /** Files the data module could not decode and left out (the page lists them). */
  skipped: BadImage[];
}

export interface TabHooks {
  sink?: EventSink;
  /**
   * Called after every step of every phase (reading images, extraction, training, validation); throwing from it
   * stops the run there, tensors freed (the Stop button).
   */
  onStep?: () => void;
}

/** A model file picked by the user, read and checked (nothing on the GPU yet). */
export interface ModelFile {
  config: RunConfig;
  checkpoint: Uint8Array;
  /** The picked file names, for messages. */
  source: string;
}

/** Where the picked images are mounted for the jobs: `images/train`, `images/validation`. */
export const DATA_ROOT = 'images';
/** The safetensors metadata key a downloaded model keeps its config.json in. */
export const CONFIG_METADATA_KEY = 'config';

/** The one check of a tab run's settings (the form's values, or a test's), in the form's words; throws the first problem. */
export function validateConfig(c: TabTrainingConfig): void {
  const got = (v: number): string => (Number.isNaN(v) ? 'not a number' : String(v));
  const int = (v: number, lo: number, hi: number, what: string) => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new Error(`${what}: enter an integer from ${lo} to ${hi} (got ${got(v)})`);
  };
  int(c.inputSize, 32, 512, 'Input size');
  int(c.epochs, 1, 1000, 'Epochs');
  int(c.batch, 1, 1024, 'Batch');
  if (c.steps !== undefined) int(c.steps, 1, 100000, 'Steps per epoch');
  if (!(c.lr > 0 && c.lr < 1)) throw new Error(`Learning rate: enter a number between 0 and 1, e.g. 2e-5 (got ${got(c.lr)})`);
  if (!(c.seed >= -2147483648 && c.seed <= 4294967295)) throw new Error(`Seed: enter a number from -2147483648 to 4294967295 (got ${got(c.seed)})`);
  if (c.recipe === 'finetune' && !c.from) throw new Error('Fine-tuning continues the model trained (or loaded) in this tab: train one with recipe 1 or 2 first');
}

export interface TabSessionOptions {
  decoder: ImageDecoder;
  cache: PixelCache | null;
  logger: ModelLogger;
  software?: { node: string; platform: string };
}

export class TabSession {
  readonly env: MemoryJobEnv;
  private sink: EventSink = () => {};

  constructor(readonly engine: Engine, o: TabSessionOptions) {
    this.env = new MemoryJobEnv({
      engine,
      decoder: o.decoder,
      cache: o.cache,
      logger: o.logger,
      sink: (ev) => this.sink(ev),
      software: o.software ?? { node: 'none (browser tab)', platform: 'browser' },
    });
  }

  /** The pretrained tensors of `backbone` the jobs use from now on. */
  setWeights(backbone: BackboneName, w: TabWeights): void {
    this.env.setWeights(backbone, w);
  }

  /** Runs recipe 1, 2 or 3 on `data`, reporting through `hooks.sink`; returns the history and a classifier. */
  async train(data: TabData, cfg: TabTrainingConfig, hooks: TabHooks = {}): Promise<TabTrainingResult> {
    validateConfig(cfg);
    const env = this.env;
    env.mount(DATA_ROOT, { fs: data.fs, splits: { train: data.trainDir, validation: data.validationDir } });
    env.skipped = [];
    this.sink = (ev) => {
      hooks.sink?.(ev);
      if (ev.type === 'progress') hooks.onStep?.();
    };
    try {
      const common = { epochs: cfg.epochs, batch: cfg.batch, lr: cfg.lr, seed: cfg.seed };
      const images = { steps: cfg.steps ?? null, validationSteps: null, augment: true, onBadImage: 'skip' as const };
      let result: TrainJobResult;
      if (cfg.recipe === 'features') {
        const out = `features/${cfg.backbone}-${cfg.inputSize}`;
        const ex = await extractJob(env, { model: cfg.backbone, data: DATA_ROOT, out, inputSize: cfg.inputSize, batch: cfg.batch, onBadImage: 'skip', seed: cfg.seed, allowRandom: !env.hasWeights(cfg.backbone) });
        ex.loaded.backbone.model.dispose();
        result = await featureHeadJob(env, { ...common, features: out }, { extract_s: ex.seconds, extract_images: ex.images, features_reused: ex.reused ? 'yes' : 'no' });
      } else if (cfg.recipe === 'augment') {
        result = await imageTrainJob(env, { ...common, ...images, model: cfg.backbone, data: DATA_ROOT, inputSize: cfg.inputSize, allowRandom: !env.hasWeights(cfg.backbone) });
      } else {
        result = await finetuneJob(env, { ...common, ...images, from: cfg.from!, data: DATA_ROOT });
      }
      const run = (await env.runs.find(result.dir)).name;
      const classifier = await this.classifier(run);
      return { run, history: result.history, metrics: result.metrics, ...(result.report ? { report: result.report } : {}), classifier, skipped: [...env.skipped] };
    } finally {
      this.sink = () => {};
    }
  }

  /** The run's model (base with the weights it was made with + its trained tensors), ready to predict. */
  async classifier(runRef: string): Promise<Classifier> {
    const c = await openClassifier(this.env, runRef);
    const name = c.run.name;
    return {
      run: name,
      config: c.config,
      inputSize: c.config.input_size,
      classNames: [...c.config.classes],
      probabilities: async (pixels, count) => {
        const p = await c.classProbabilities(pixels, count);
        if (p.classes !== 2) throw new Error(`run ${name} has ${p.classes} classes: use classProbabilities`);
        return Float32Array.from({ length: count }, (_, i) => p.probs[2 * i + 1]!);
      },
      classProbabilities: (pixels, count) => c.classProbabilities(pixels, count),
      explain: async (pixels, classIndex) => {
        const r = await c.gradCam(pixels, 1, classIndex === undefined ? {} : { classIndex });
        return { layer: r.layer, heatmap: r.heatmaps[0]!, height: r.height, width: r.width, classIndex: r.classIndex[0]! };
      },
      dispose: () => c.dispose(),
    };
  }

  /** One file holding the run: its checkpoint (safetensors) with config.json in the metadata under `config`. */
  async exportRun(runRef: string): Promise<{ name: string; bytes: Uint8Array }> {
    const run = await this.env.runs.find(runRef);
    const ckpt = await run.store.read(CHECKPOINT_FILE);
    const config = await run.store.read(CONFIG_FILE);
    if (!ckpt || !config) throw new Error(`run ${run.name} has no finished epoch to save`);
    const { tensors, metadata } = parseSafetensors(ckpt, run.store.describe(CHECKPOINT_FILE));
    return { name: `${run.name}.safetensors`, bytes: writeSafetensors(tensors, { ...metadata, [CONFIG_METADATA_KEY]: new TextDecoder().decode(config) }) };
  }

  /**
   * Reads a model the user picked: a file downloaded from the tab (config inside), or a CLI run folder's
   * checkpoint.safetensors together with its config.json. Throws a message a person can act on.
   */
  static readModelFiles(files: readonly { name: string; bytes: Uint8Array }[]): ModelFile {
    const hint = 'choose a model downloaded from this page (.safetensors), or a run folder\'s checkpoint.safetensors together with its config.json';
    const tensorsFiles = files.filter((f) => /\.safetensors$/i.test(f.name));
    const jsonFiles = files.filter((f) => /\.json$/i.test(f.name));
    const others = files.filter((f) => !tensorsFiles.includes(f) && !jsonFiles.includes(f));
    if (others.length) throw new Error(`${others.map((f) => f.name).join(', ')}: not a model file; ${hint}`);
    if (tensorsFiles.length !== 1 || jsonFiles.length > 1) throw new Error(`got ${files.map((f) => f.name).join(', ') || 'no files'}; ${hint}`);
    const ckptFile = tensorsFiles[0]!;
    let meta: Record<string, string>;
    try {
      const ckpt = parseCheckpoint(ckptFile.bytes, ckptFile.name);
      meta = ckpt.metadata;
      if (ckpt.params.size === 0) throw new Error(`${ckptFile.name}: the checkpoint holds no trained tensors`);
    } catch (err) {
      const m = (err as Error).message;
      const named = m.startsWith(ckptFile.name) ? m : `${ckptFile.name}: ${m}`;
      throw new Error(/not a webgpu-transfer checkpoint/.test(m) ? `${named}; it holds no trained model (pretrained weights are chosen in step 1); ${hint}` : `${named}; ${hint}`);
    }
    let raw: unknown;
    let configName: string;
    if (jsonFiles.length) {
      configName = jsonFiles[0]!.name;
      try {
        raw = JSON.parse(new TextDecoder().decode(jsonFiles[0]!.bytes));
      } catch (err) {
        throw new Error(`${configName}: not valid JSON (${(err as Error).message})`);
      }
    } else {
      configName = `${ckptFile.name} (metadata '${CONFIG_METADATA_KEY}')`;
      const text = meta[CONFIG_METADATA_KEY];
      if (text === undefined) throw new Error(`${ckptFile.name} holds no run configuration; choose it together with its run's config.json`);
      try {
        raw = JSON.parse(text);
      } catch (err) {
        throw new Error(`${configName}: not valid JSON (${(err as Error).message})`);
      }
    }
    const config = parseRunConfig(raw, configName);
    return { config, checkpoint: ckptFile.bytes, source: files.map((f) => f.name).join(' + ') };
  }

  /** Adds a read model file to the session as a run and builds its classifier (the run is dropped if that fails). */
  async addModel(m: ModelFile): Promise<Classifier> {
    const enc = new TextEncoder();
    const run = this.env.runs.add(m.config.name || 'model', [
      [CHECKPOINT_FILE, m.checkpoint],
      [CONFIG_FILE, enc.encode(JSON.stringify(m.config, null, 2) + '\n')],
    ]);
    try {
      return await this.classifier(run.name);
    } catch (err) {
      this.env.runs.delete(run.name);
      throw new Error(`${m.source}: ${(err as Error).message}`);
    }
  }
}

export { RECIPE_DEFAULTS };
