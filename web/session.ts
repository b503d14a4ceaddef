/**
 * The tab's training session, on the recipe layer of src/train/jobs.ts: the same `extractJob` / `featureHeadJob` /
 * `imageTrainJob` / `finetuneJob` the CLI runs, in a `MemoryJobEnv` (runs and feature folders in memory, the picked
 * images mounted as a dataset, the backbone weights the page loaded or the .onnx network the user picked). It also
 * turns a run into a classifier for the predict panel, a run into one downloadable file and back, and a run into a
 * zip of its ONNX or TF.js export (`exportJob`, as `webgpu-transfer export` writes it).
 * Nothing here touches the DOM, so the browser test runs this very code in Node (Dawn) as the oracle.
 */
import type { BadImage } from '../src/data/errors.js';
import type { DataFs, ImageDecoder, PixelCache } from '../src/data/types.js';
import type { Engine } from '../src/engine/index.js';
import { sha256Hex } from '../src/formats/checksum.js';
import { onnxInfo, type OnnxInfo } from '../src/formats/onnx-info.js';
import { parseOnnx } from '../src/formats/onnx.js';
import { parseSafetensors, writeSafetensors } from '../src/formats/safetensors.js';
import { zipSync, type Zippable } from 'fflate';
import type { NamedArrays } from '../src/formats/types.js';
import { loadOnnxBackbone } from '../src/models/onnx/load.js';
import { formatOnnxRef, isOnnxModelRef, parseOnnxRef, type BackboneName, type ModelLogger, type OnnxModelRef } from '../src/models/types.js';
import {
  CHECKPOINT_FILE,
  CONFIG_FILE,
  exportJob,
  extractJob,
  featureHeadJob,
  finetuneJob,
  imageTrainJob,
  MemoryJobEnv,
  openClassifier,
  openRun,
  parseCheckpoint,
  parseRunConfig,
  RECIPE_DEFAULTS,
  type ClassReport,
  type EventSink,
  type ExportFormat,
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
  /** Default RMSprop (the book's); the page's few-shot settings use Adam. */
  optimizer?: 'rmsprop' | 'adam';
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

/** An .onnx file the user picked, read and checked in the tab (nothing on the GPU). */
export interface TabOnnxFile {
  /** The file's name: the path the runs made on it record (`model.onnx`). */
  name: string;
  bytes: Uint8Array;
  /** SHA-256 of the bytes: what a run records as its weights' checksum. */
  checksum: string;
  /** Producer, inputs, op counts, parameters, the default cut (what `webgpu-transfer onnx info` prints). */
  info: OnnxInfo;
  /** The network's own input size (its static height = width), else 224. */
  inputSize: number;
}

export type TabPooling = 'avg' | 'max' | 'none';
export const TAB_POOLINGS: readonly TabPooling[] = ['avg', 'max', 'none'];

/** Where the base ends and how a spatial cut becomes features; omitted: the classifier's input, average pooling. */
export interface TabOnnxChoice {
  cut?: string;
  pool?: TabPooling;
}

/** A picked network built once as a base at an input size (and disposed): what the recipes will train on. */
export interface TabOnnxBase {
  file: TabOnnxFile;
  /** The model reference the runs record (the file name, with `#cut=…&pool=…` when those are not the defaults). */
  ref: OnnxModelRef;
  /** The tensor the base ends at (the default cut when none was chosen). */
  cut: string;
  pool: TabPooling;
  inputSize: number;
  /** Features per image, e.g. [512]. */
  featureShape: number[];
  parameters: number;
}

/** A loaded model needs the .onnx file it was trained on, and the tab has no such file picked (or another one). */
export class OnnxBaseNeededError extends Error {
  constructor(
    message: string,
    /** The network's file name as the run recorded it. */
    readonly network: string,
    readonly reason: 'missing' | 'differs',
  ) {
    super(message);
    this.name = 'OnnxBaseNeededError';
  }
}

const ONNX_HINT = 'choose a network exported to ONNX (e.g. torch.onnx.export), a file ending in .onnx';

/** The file name of a path as a run recorded it (a CLI run records the whole path). */
const baseName = (path: string): string => path.split(/[\\/]/).pop() || path;

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
  if (c.optimizer !== undefined && c.optimizer !== 'rmsprop' && c.optimizer !== 'adam') throw new Error(`Optimizer: choose adam or rmsprop (got ${String(c.optimizer)})`);
  if (!(c.seed >= -2147483648 && c.seed <= 4294967295)) throw new Error(`Seed: enter a number from -2147483648 to 4294967295 (got ${got(c.seed)})`);
  if (c.recipe === 'finetune' && !c.from) throw new Error('Fine-tuning continues the model trained (or loaded) in this tab: train one with recipe 1 or 2 first');
}

export interface TabSessionOptions {
  decoder: ImageDecoder;
  cache: PixelCache | null;
  logger: ModelLogger;
  software?: { node: string; platform: string };
}

/** A download of the tab's model in another runtime's format: one zip of the files `exportJob` made. */
export interface TabExport {
  /** `<run>-onnx.zip` or `<run>-tfjs.zip`. */
  name: string;
  bytes: Uint8Array;
  /** The zip's entries (model.onnx, tfjs/model.json, …, README.txt) and their sizes before zipping. */
  files: { path: string; bytes: number }[];
}

/** What each export format's zip is called after (`<run>-onnx.zip`). */
export const EXPORT_ZIP_SUFFIX: Record<ExportFormat, string> = { onnx: 'onnx', tfjs: 'tfjs' };

/** The export's files as one zip: text deflated, weights stored (float32 hardly compresses, and storing is instant). */
export function zipExport(files: ReadonlyMap<string, Uint8Array>): Uint8Array {
  const entries: Zippable = {};
  for (const [path, bytes] of files) entries[path] = [bytes, { level: /\.(json|txt)$/i.test(path) ? 6 : 0 }];
  return zipSync(entries);
}

export class TabSession {
  readonly env: MemoryJobEnv;
  private sink: EventSink = () => {};
  /** The .onnx file in use as the base (`useOnnx`), null until one is picked. */
  onnx: TabOnnxFile | null = null;
  /** .onnx files given to the jobs by the path the runs record: an ONNX export re-emits the base from its file. */
  private readonly onnxFiles = new Map<string, Uint8Array>();

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

  /**
   * Reads a picked .onnx file and checks that this engine can import it (every op supported, a default cut found or
   * a cut to be chosen). Throws a message naming the file and what is wrong (not ONNX, the unsupported nodes and
   * their ops, …); nothing changes in the session.
   */
  static async readOnnxFile(name: string, bytes: Uint8Array): Promise<TabOnnxFile> {
    if (!isOnnxModelRef(name) || name.includes('#')) throw new Error(`${name}: not an .onnx file; ${ONNX_HINT}`);
    let info: OnnxInfo;
    try {
      info = onnxInfo(parseOnnx(bytes, name));
    } catch (err) {
      const m = (err as Error).message;
      throw new Error(`${m.startsWith(name) ? m : `${name}: ${m}`}; ${ONNX_HINT}`);
    }
    if (info.importError !== undefined) throw new Error(`${name}: this engine cannot import the network: ${info.importError}`);
    const image = info.inputs.find((i) => i.shape?.length === 4);
    const [h, w] = [image?.shape?.[2], image?.shape?.[3]];
    const inputSize = typeof h === 'number' && h === w && h >= 32 && h <= 512 ? h : 224;
    return { name, bytes, checksum: await sha256Hex(bytes), info, inputSize };
  }

  /**
   * Builds `file` as a base at `inputSize` with the chosen cut and pooling (then frees it), so a wrong cut or a size
   * the network cannot take shows now, not in the middle of a run. Nothing changes in the session.
   */
  async checkOnnxBase(file: TabOnnxFile, choice: TabOnnxChoice, inputSize: number): Promise<TabOnnxBase> {
    const cut = choice.cut?.trim() || undefined;
    const pool = choice.pool ?? 'avg';
    if (!TAB_POOLINGS.includes(pool)) throw new Error(`Pooling: choose one of ${TAB_POOLINGS.join(', ')} (got ${String(pool)})`);
    if (!file.info.defaultCut && !cut) throw new Error(`${file.name}: no classifier input found to cut at; enter the tensor the base ends at (Cut at tensor)`);
    const ref = formatOnnxRef({ path: file.name, ...(cut ? { cut } : {}), ...(pool !== 'avg' ? { pool } : {}) });
    let loaded: Awaited<ReturnType<typeof loadOnnxBackbone>>;
    try {
      loaded = await loadOnnxBackbone(this.engine, ref, file.bytes, { inputSize, source: file.name });
    } catch (err) {
      const m = (err as Error).message;
      throw new Error(m.includes(file.name) ? m : `${file.name}${cut ? ` cut at '${cut}'` : ''} at ${inputSize}×${inputSize}: ${m}`);
    }
    const bb = loaded.backbone;
    try {
      return { file, ref, cut: cut ?? file.info.defaultCut!.tensor, pool, inputSize: bb.inputSize, featureShape: [...bb.featureShape], parameters: loaded.status.parameters };
    } finally {
      bb.model.dispose();
    }
  }

  /** Makes the checked network the one ONNX base of this session: the recipes train on `base.ref` from now on. */
  useOnnx(base: TabOnnxBase): void {
    this.env.setOnnxModel(base.file.name, base.file.bytes);
    this.onnxFiles.set(base.file.name, base.file.bytes);
    this.onnx = base.file;
  }

  /** A run made on an .onnx base gets the picked file when it is the same network (by SHA-256); else a message why not. */
  private provideOnnxFor(config: RunConfig, source: string): void {
    const ref = config.model as OnnxModelRef;
    const path = parseOnnxRef(ref).path;
    const name = baseName(path);
    const want = config.weights.checksum;
    const file = this.onnx;
    if (!file) {
      throw new OnnxBaseNeededError(
        `${source}: this model was trained on your own network ${name} (SHA-256 ${want.slice(0, 12)}…), which is not picked in this tab; pick that .onnx file in step 1 ("or your own network"), then load the model again`,
        name,
        'missing',
      );
    }
    if (file.checksum !== want) {
      throw new OnnxBaseNeededError(
        `${source}: this model was trained on the network ${name} (SHA-256 ${want.slice(0, 12)}…), but the .onnx file picked in step 1 (${file.name}, SHA-256 ${file.checksum.slice(0, 12)}…) is a different file; pick the one it was trained on, then load the model again`,
        name,
        'differs',
      );
    }
    this.env.setOnnxModel(path, file.bytes);
    this.onnxFiles.set(path, file.bytes);
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
      const common = { epochs: cfg.epochs, batch: cfg.batch, lr: cfg.lr, seed: cfg.seed, ...(cfg.optimizer ? { optimizer: cfg.optimizer } : {}) };
      const images = { steps: cfg.steps ?? null, validationSteps: null, augment: true, onBadImage: 'skip' as const };
      let result: TrainJobResult;
      // An .onnx base has its weights in its file; a built-in one without loaded weights trains on a random base (with a warning).
      const allowRandom = !isOnnxModelRef(cfg.backbone) && !env.hasWeights(cfg.backbone);
      if (cfg.recipe === 'features') {
        const out = `features/${cfg.backbone.replace(/[^A-Za-z0-9._-]+/g, '_')}-${cfg.inputSize}`;
        const ex = await extractJob(env, { model: cfg.backbone, data: DATA_ROOT, out, inputSize: cfg.inputSize, batch: cfg.batch, onBadImage: 'skip', seed: cfg.seed, allowRandom });
        ex.loaded.backbone.model.dispose();
        result = await featureHeadJob(env, { ...common, features: out }, { extract_s: ex.seconds, extract_images: ex.images, features_reused: ex.reused ? 'yes' : 'no' });
      } else if (cfg.recipe === 'augment') {
        result = await imageTrainJob(env, { ...common, ...images, model: cfg.backbone, data: DATA_ROOT, inputSize: cfg.inputSize, allowRandom });
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
   * The run's whole classifier (base + head) as ONNX or as a TF.js layers model, zipped: `exportJob` (what
   * `webgpu-transfer export` writes) on this session's runs. Throws what the export refuses (e.g. TF.js for an
   * imported .onnx base), naming why.
   */
  async exportZip(runRef: string, format: ExportFormat): Promise<TabExport> {
    const { config } = await openRun(this.env, runRef);
    // An imported base is re-emitted from its file: the very file the run was trained on (by SHA-256).
    const readFile = async (path: string): Promise<Uint8Array> => {
      const bytes = this.onnxFiles.get(path);
      if (!bytes) throw new Error(`the .onnx file ${baseName(path)} this model was trained on is not picked in this tab; pick it in step 1`);
      if ((await sha256Hex(bytes)) !== config.weights.checksum) {
        throw new Error(`the .onnx file ${baseName(path)} picked in this tab is not the network this model was trained on (SHA-256 ${config.weights.checksum.slice(0, 12)}…); pick that file in step 1`);
      }
      return bytes;
    };
    let r: Awaited<ReturnType<typeof exportJob>>;
    try {
      r = await exportJob(this.env, { from: runRef, formats: [format], readFile });
    } catch (err) {
      // The export's messages name the CLI's option; here the choice is the other download.
      const e = err as Error;
      e.message = e.message.replace(/\(?--format onnx\)?/g, (m) => (m.startsWith('(') ? '(the ONNX download)' : 'the ONNX download'));
      throw e;
    }
    const files = [...r.files].map(([path, b]) => ({ path, bytes: b.byteLength }));
    return { name: `${r.run.name}-${EXPORT_ZIP_SUFFIX[format]}.zip`, bytes: zipExport(r.files), files };
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

  /**
   * Adds a read model file to the session as a run and builds its classifier (the run is dropped if that fails). A
   * model made on an .onnx base needs that very file picked (`useOnnx`): else OnnxBaseNeededError, saying which.
   */
  async addModel(m: ModelFile): Promise<Classifier> {
    if (isOnnxModelRef(m.config.model)) this.provideOnnxFor(m.config, m.source);
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
