// The recipes of jobs.ts on Node: runs are folders under a runs folder, datasets and feature caches are folders,
// images are decoded with sharp, weights are read from files. The CLI commands are thin wrappers around these.
import { readdir, readFile } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { SharpImageDecoder } from '../data/decoder-node.js';
import type { Engine } from '../engine/index.js';
import type { ModelLogger } from '../models/types.js';
import type { EventSink } from './events.js';
import type { JobEnv, RunHandle } from './job-env.js';
import * as jobs from './jobs.js';
import { explainJob as explainJobOn, type ExplainJobOptions } from './explain-job.js';
import { renderConfusionPng, renderHistoryPng } from './plots-node.js';
import type { RecipeName } from './recipes.js';
import { CONFIG_FILE, type RunHooks } from './run.js';
import { NodeRunStore } from './run-store-node.js';
import { DEFAULT_DATA_DIR, exists, fromRoot, hasSplits, loadBackbone, openFolder, openSplits, pixelCache } from './setup-node.js';

export type { ExtractJobOptions, ExtractJobResult, FeatureHeadJobOptions, ImageTrainJobOptions, FinetuneJobOptions, EvaluateJobOptions, TrainJobCommon, TrainJobResult, Prediction } from './jobs.js';

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

const RUN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function timestamp(d = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

const folderHasFiles = (dir: string): Promise<boolean> => readdir(dir).then((l) => l.length > 0, () => false);

const handle = (dir: string): RunHandle => ({ name: basename(dir), location: dir, store: new NodeRunStore(dir) });

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

/** The platform the jobs run on, from a command's context: folders, sharp, weight files, PNG plots. */
export function nodeJobEnv(ctx: JobContext): JobEnv {
  const e = ctx.engine;
  const sink: EventSink = ctx.sink ?? (() => {});
  const logger: ModelLogger = ctx.logger ?? { warn: () => {} };
  const runsDir = resolve(ctx.runsDir ?? 'runs');
  const folderOptions = (o: { inputSize: number; onBadImage: 'fail' | 'skip' }) => ({
    ...o,
    cache: pixelCache(ctx.pixelCacheDir === undefined ? '.cache/pixels' : ctx.pixelCacheDir),
    log: (line: string) => sink({ type: 'info', message: line }),
  });
  return {
    engine: e,
    sink,
    logger,
    plots: renderHistoryPng,
    confusionPlot: renderConfusionPng,
    ...(ctx.hooks ? { hooks: ctx.hooks } : {}),
    software: { node: process.version, platform: `${process.platform}-${process.arch}` },
    runs: {
      create: async (recipe: RecipeName, name?: string) => handle((await newRunDir(runsDir, recipe, name)).dir),
      find: async (run: string) => handle(await findRun(runsDir, run)),
    },
    data: {
      resolve: (ref) => resolve(ref),
      openSplits: (root, splits, o) => openSplits(root, splits, folderOptions(o)),
      openEvaluation: async (root, split, o) => {
        const dir = (await hasSplits(root)) || (await exists(join(root, split))) ? join(root, split) : root;
        return openFolder(dir, folderOptions(o));
      },
      features: (ref) => handle(resolve(ref)),
      decodeImages: async (files, size) => {
        const decoder = new SharpImageDecoder();
        const out: Uint8Array[] = [];
        for (const file of files) {
          let bytes: Uint8Array;
          try {
            bytes = new Uint8Array(await readFile(file));
          } catch (err) {
            throw new Error(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
          }
          out.push(await decoder.decode(bytes, file, [size, size], 'nearest'));
        }
        return out;
      },
    },
    backbones: {
      load: (name, o) =>
        loadBackbone(e, name, {
          ...(o.inputSize ? { inputSize: o.inputSize } : {}),
          ...(o.weights ? { weightsPath: o.weights } : {}),
          seed: o.seed,
          logger,
          allowRandom: o.allowRandom,
          ...(o.expectedChecksum ? { expectedChecksum: o.expectedChecksum } : {}),
        }),
    },
  };
}

export { DEFAULT_DATA_DIR as DEFAULT_DATA } from './setup-node.js';

export const extractJob = (ctx: JobContext, o: jobs.ExtractJobOptions) => jobs.extractJob(nodeJobEnv(ctx), o);
export const featureHeadJob = (ctx: JobContext, o: jobs.FeatureHeadJobOptions) => jobs.featureHeadJob(nodeJobEnv(ctx), o);
export const imageTrainJob = (ctx: JobContext, o: jobs.ImageTrainJobOptions) => jobs.imageTrainJob(nodeJobEnv(ctx), o);
export const finetuneJob = (ctx: JobContext, o: jobs.FinetuneJobOptions) => jobs.finetuneJob(nodeJobEnv(ctx), o);
export const evaluateJob = (ctx: JobContext, o: jobs.EvaluateJobOptions) => jobs.evaluateJob(nodeJobEnv(ctx), o);
export const predictJob = (ctx: JobContext, o: { from: string; images: string[]; batch?: number }) => jobs.predictJob(nodeJobEnv(ctx), o);
export const explainJob = (ctx: JobContext, o: ExplainJobOptions) => explainJobOn(nodeJobEnv(ctx), o);

export type StartJobOptions = Omit<jobs.StartJobOptions, 'data' | 'featuresRoot'> & { data?: string; featuresRoot?: string };

/** `npm start`: the default data (../shared's cats and dogs) and feature cache (.cache/features) unless given. */
export async function startJob(ctx: JobContext, o: StartJobOptions): ReturnType<typeof jobs.startJob> {
  const data = o.data ?? fromRoot(DEFAULT_DATA_DIR);
  if (!(await exists(data))) {
    throw new Error(
      `no data: ${data} does not exist. Pass --data DIR, a folder with train/, validation/ and test/ sub-folders, each holding one sub-folder of images per class (e.g. cats/ and dogs/)`,
    );
  }
  return jobs.startJob(nodeJobEnv(ctx), { ...o, data, featuresRoot: o.featuresRoot ?? resolve('.cache', 'features') });
}
