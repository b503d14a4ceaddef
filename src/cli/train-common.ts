// Options and plumbing shared by the training commands (extract, train-head, train, finetune, evaluate, predict, start).
import { BadImagesError } from '../data/errors.js';
import type { OnBadImage } from '../data/image-folder.js';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { dirname, join } from 'node:path';
import { Engine } from '../engine/index.js';
import { BACKBONE_NAMES, isBackboneName } from '../models/registry.js';
import { formatOnnxRef, isOnnxModelRef, parseOnnxRef, type BackboneName, type ModelLogger } from '../models/types.js';
import { CLASS_MODES, jsonSafe, loadGemmTuning, OPTIMIZER_NAMES, type ClassMode, type OptimizerName } from '../train/index.js';
import { NodeTuneStore, type JobContext } from '../train/node.js';
import type { PreprocessMode } from '../util/preprocess.js';
import { createReporter, type Reporter } from './progress.js';

export function intOption(flag: string, min: number, max = Number.MAX_SAFE_INTEGER): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!/^\s*-?\d+\s*$/.test(v) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`${flag} must be an integer, got '${v}'`);
    if (n < min || n > max) throw new InvalidArgumentError(`${flag} must be between ${min} and ${max}, got ${n}`);
    return n;
  };
}

export function positiveFloat(flag: string, max = Infinity): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n <= 0 || n > max) throw new InvalidArgumentError(`${flag} must be a number in (0, ${max}], got '${v}'`);
    return n;
  };
}

export function modelOption(v: string): BackboneName {
  if (isOnnxModelRef(v)) return v;
  if (!isBackboneName(v)) throw new InvalidArgumentError(`unknown model '${v}'; choose one of ${BACKBONE_NAMES.join(', ')}, or an ONNX file (PATH.onnx)`);
  return v;
}

/** The model the flags choose: --model, with --cut and --pool folded into an ONNX model's reference. */
export function chosenModel(opts: ModelFlags): BackboneName | undefined {
  if (opts.cut === undefined && opts.pool === undefined) return opts.model;
  if (!opts.model || !isOnnxModelRef(opts.model)) throw new Error('--cut and --pool choose where an ONNX base ends; give --model PATH.onnx');
  const parts = parseOnnxRef(opts.model);
  return formatOnnxRef({ ...parts, ...(opts.cut !== undefined ? { cut: opts.cut } : {}), ...(opts.pool !== undefined ? { pool: opts.pool } : {}) });
}

export function layerList(v: string): string[] {
  const names = v.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new InvalidArgumentError('give at least one layer name, e.g. block5_conv1,block5_conv2,block5_conv3');
  return names;
}

export const PREPROCESS_CHOICES: readonly PreprocessMode[] = ['rescale', 'imagenet', 'caffe'];

/** What addTrainingOptions registers (the recipe's defaults apply where a flag is absent). */
export interface TrainingFlags {
  epochs?: number;
  batch?: number;
  optimizer?: OptimizerName;
  lr?: number;
  seed?: number;
  name?: string;
  resume?: string;
  classMode?: ClassMode;
}

/** What addModelOptions registers. */
export interface ModelFlags {
  model?: BackboneName;
  weights?: string;
  inputSize?: number;
  preprocess?: PreprocessMode;
  randomWeights?: boolean;
  cut?: string;
  pool?: string;
}

/** Options every training command takes (`resume` and the pixel cache where they apply). */
export function addTrainingOptions(cmd: Command, d: { epochs: number; batch: number; lr: number }, o: { resume?: boolean; pixels?: boolean; classMode?: boolean } = {}): Command {
  if (o.classMode ?? true) {
    cmd.addOption(
      new Option('--class-mode <mode>', 'binary: one sigmoid output and binary cross-entropy (2 classes only); categorical: one softmax output per class (default: binary for 2 class folders, categorical above)').choices([
        ...CLASS_MODES,
      ]),
    );
  }
  cmd
    .option('--epochs <n>', `epochs to train (default ${d.epochs})`, intOption('--epochs', 1, 100000))
    .option('--batch <n>', `batch size (default ${d.batch})`, intOption('--batch', 1, 65536))
    .addOption(new Option('--optimizer <name>', "rmsprop (the book's, default) or adam (Keras Adam, β1 0.9, β2 0.999; --lr keeps the recipe's default, Teachable Machine uses 1e-3)").choices([...OPTIMIZER_NAMES]))
    .option('--lr <rate>', `learning rate (default ${d.lr})`, positiveFloat('--lr', 10))
    .option('--seed <n>', 'seed of initialisation, shuffling, dropout and augmentation (default 0)', intOption('--seed', 0, 4294967295))
    .option('--name <name>', 'run folder name under --runs-dir (default: recipe and timestamp)');
  if (o.resume ?? true) cmd.option('--resume <run>', 'continue RUN (a name under --runs-dir, or a path) from its last checkpoint; only --epochs may change');
  cmd.option('--runs-dir <dir>', 'where run folders go', 'runs');
  if (o.pixels ?? true) cmd.option('--cache-dir <dir>', 'decoded-pixel cache folder', '.cache/pixels');
  addReplayOption(cmd);
  return cmd.option('--json', 'print machine-readable JSON lines only');
}

export function addDataOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--on-bad-image <mode>', 'a corrupt or unreadable image file: fail (list them all) or skip (report them)').choices(['fail', 'skip']).default('fail'))
    .option('--data <dir>', 'image folder with train/, validation/ (and test/), one sub-folder per class (default ../shared/data/cats_and_dogs_small)');
}

export function addModelOptions(cmd: Command): Command {
  return cmd
    .option('--model <name>', `backbone: ${BACKBONE_NAMES.join(' | ')} | PATH.onnx (any ImageNet CNN exported to ONNX) (default: vgg16 when weights/vgg16_notop.safetensors exists, else squeezenet1_1)`, modelOption)
    .option('--weights <path>', "the backbone's weights (default: the model's usual place)")
    .option('--input-size <n>', 'square input size (default: the model\'s: VGG16 150, others 224)', intOption('--input-size', 32, 1024))
    .addOption(new Option('--preprocess <mode>', "input normalisation (default: the model's: VGG16 rescale, others imagenet)").choices([...PREPROCESS_CHOICES]))
    .option('--random-weights', 'allow a randomly initialised base when no weights are found (smoke tests only)')
    .option('--cut <tensor>', "ONNX base: the tensor it ends at (default: the classifier's input; see `onnx info`)")
    .addOption(new Option('--pool <mode>', 'ONNX base: how a spatial cut becomes features (default avg, as Keras pooling=)').choices(['avg', 'max', 'none']));
}

/** With --resume the stored settings are used; refuse options that would silently be ignored. */
export function checkResumeConflicts(cmd: Command, allowed: readonly string[]): void {
  const opts = cmd.opts() as Record<string, unknown>;
  if (opts.resume === undefined) return;
  const always = ['resume', 'epochs', 'json', 'runsDir', 'cacheDir', 'onBadImage'];
  const bad = Object.keys(opts).filter((k) => cmd.getOptionValueSource(k) === 'cli' && !always.includes(k) && !allowed.includes(k));
  if (bad.length) {
    const flags = bad.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
    throw new Error(`--resume continues a run with its stored settings; only --epochs may change (remove ${flags.join(', ')})`);
  }
}

export interface CommandIo {
  reporter: Reporter;
  logger: ModelLogger;
}

export const NO_REPLAY_HELP = 'run every step eagerly instead of capturing it once and replaying it (same results, more host time; for comparison)';

/** `--no-replay` (see Engine.capture). */
export function addReplayOption(cmd: Command): Command {
  return cmd.option('--no-replay', NO_REPLAY_HELP);
}

/** The cache root whose tuning/ folder a training command reads: the parent of its pixel cache (`--cache-dir`). */
export function tuningRoot(pixelCacheDir: string | undefined): string {
  return dirname(join(pixelCacheDir ?? '.cache/pixels', '.'));
}

/** Creates the engine (with this adapter's GEMM tuning cache loaded, see `tune`) and reporter, runs `fn`, and releases the device whatever happens. */
export async function withEngine<T>(
  opts: { json?: boolean; runsDir?: string; cacheDir?: string; replay?: boolean },
  fn: (ctx: JobContext, io: CommandIo) => Promise<T>,
): Promise<T> {
  const reporter = createReporter({ json: Boolean(opts.json) });
  const logger: ModelLogger = { warn: (m) => process.stderr.write(m + '\n'), info: (m) => reporter.say(m) };
  const engine = await Engine.create({ replay: opts.replay !== false });
  try {
    // The GEMM tuning cache (`tune`) sits beside the pixel cache: .cache/pixels → .cache/tuning/<adapter>.json.
    await loadGemmTuning(engine, NodeTuneStore.forAdapter(tuningRoot(opts.cacheDir), engine.info), logger);
    return await fn({ engine, sink: reporter.sink, logger, runsDir: opts.runsDir ?? 'runs', pixelCacheDir: opts.cacheDir ?? '.cache/pixels' }, { reporter, logger });
  } catch (err) {
    throw inCliTerms(err);
  } finally {
    reporter.close();
    if (!engine.lost) engine.destroy();
  }
}

/**
 * A library error in the command line's terms: where the library names its option (`onBadImage: 'skip'`), the
 * command names its flag (`--on-bad-image skip` by default; `data scan` says `--skip-bad`).
 */
export function inCliTerms(err: unknown, flags: { onBadImage?: string } = {}): unknown {
  if (err instanceof BadImagesError) err.message = err.message.replace("pass onBadImage: 'skip'", `pass ${flags.onBadImage ?? '--on-bad-image skip'}`);
  return err;
}

export const pct = (x: number): string => (Number.isFinite(x) ? `${(x * 100).toFixed(2)}%` : 'n/a');
export const f4 = (x: number | string | undefined): string => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(4) : 'n/a');

/** The closing lines of a training command. */
export function reportRun(io: CommandIo, dir: string, metrics: Record<string, number | string>): void {
  const m = metrics;
  io.reporter.say(
    `val_loss: ${f4(m.val_loss)} - val_acc: ${f4(m.val_acc)} - test_loss: ${f4(m.test_loss)} - test_acc: ${f4(m.test_acc)} - ` +
      `${typeof m.images_per_s === 'number' ? m.images_per_s.toFixed(1) : 'n/a'} images/s - ${typeof m.wall_s === 'number' ? m.wall_s.toFixed(1) : 'n/a'}s`,
  );
  if (typeof m.test_top5_acc === 'number') io.reporter.say(`test top-5 accuracy: ${f4(m.test_top5_acc)}`);
  if (typeof m.peak_gpu_bytes === 'number') io.reporter.say(`peak GPU memory: ${(m.peak_gpu_bytes / 1e6).toFixed(1)} MB (tensors and captured steps)`);
  io.reporter.say(`Run folder: ${dir} (config.json, history.json, metrics.json, accuracy.png, loss.png, confusion.png, checkpoint.safetensors)`);
  io.reporter.json({ type: 'done', run: dir, metrics: jsonSafe(m) });
}

/** Options shared by the commands that train on images (`train`, `finetune`). */
export interface ImageRunCliOptions extends TrainingFlags {
  data?: string;
  onBadImage: OnBadImage;
  augment: boolean;
  steps?: number;
  validationSteps?: number;
  runsDir: string;
  cacheDir: string;
  json?: boolean;
}

/** The training overrides a user gave (epochs, batch, optimizer, lr, seed, name, resume), leaving the recipe defaults otherwise. */
export function trainingOverrides(o: TrainingFlags): TrainingFlags {
  return {
    ...(o.epochs ? { epochs: o.epochs } : {}),
    ...(o.batch ? { batch: o.batch } : {}),
    ...(o.optimizer ? { optimizer: o.optimizer } : {}),
    ...(o.lr ? { lr: o.lr } : {}),
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
    ...(o.name ? { name: o.name } : {}),
    ...(o.resume ? { resume: o.resume } : {}),
    ...(o.classMode ? { classMode: o.classMode } : {}),
  };
}
