// Node glue for the training commands: where files are, backbones with their weights, dataset folders, run folders.
import { existsSync, readFileSync } from 'node:fs';
import { access, readdir, readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DiskPixelCache } from '../data/cache-node.js';
import { classFolderMismatch } from '../data/directory.js';
import type { ImageFolder, OnBadImage } from '../data/image-folder.js';
import { openImageFolder } from '../data/image-folder-node.js';
import type { PixelCache } from '../data/types.js';
import type { Engine } from '../engine/index.js';
import { tensorsSha256 } from '../formats/checksum.js';
import { createBackbone, DEFAULT_WEIGHTS_PATHS } from '../models/registry.js';
import { readBackboneWeights } from '../models/weights-node.js';
import { loadOnnxBackbone } from '../models/onnx/load.js';
import { isOnnxModelRef, parseOnnxRef, type Backbone, type BackboneName, type ModelLogger, type WeightsStatus } from '../models/types.js';
import type { SplitName } from './features.js';
import type { LoadedBackbone } from './job-env.js';

/** The repository / package root (the folder holding this package's package.json). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'webgpu-transfer') return dir;
      } catch {
        // not ours; keep looking
      }
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return process.cwd();
}

/** A path from the design's defaults (relative to the repository root) made absolute. */
export function fromRoot(p: string): string {
  return isAbsolute(p) ? p : resolve(packageRoot(), p);
}

export const DEFAULT_DATA_DIR = '../shared/data/cats_and_dogs_small';

export async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

/** The default backbone: VGG16 when its converted weights are present, else SqueezeNet 1.1. */
export function defaultModel(): { name: BackboneName; reason: string } {
  const vgg = fromRoot(DEFAULT_WEIGHTS_PATHS.vgg16);
  if (existsSync(vgg)) return { name: 'vgg16', reason: `VGG16 weights found at ${vgg}` };
  return { name: 'squeezenet1_1', reason: `no VGG16 weights at ${vgg}; using SqueezeNet 1.1 with the ImageNet weights in ${fromRoot(DEFAULT_WEIGHTS_PATHS.squeezenet1_1)}` };
}

/**
 * Builds a backbone and loads its weights from `weightsPath` (default: the model's usual place). With `allowRandom`,
 * missing weights give a Glorot-initialised base (with the loud warning); otherwise missing weights are an error.
 */
export async function loadBackbone(
  e: Engine,
  name: BackboneName,
  o: { inputSize?: number; weightsPath?: string; seed?: number; logger: ModelLogger; allowRandom?: boolean; expectedChecksum?: string },
): Promise<LoadedBackbone> {
  if (isOnnxModelRef(name)) {
    const path = resolve(parseOnnxRef(name).path);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(path));
    } catch (err) {
      throw new Error(`--model ${name}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    return loadOnnxBackbone(e, name, bytes, { ...(o.inputSize ? { inputSize: o.inputSize } : {}), ...(o.expectedChecksum ? { expectedChecksum: o.expectedChecksum } : {}), source: path });
  }
  const weightsPath = fromRoot(o.weightsPath ?? DEFAULT_WEIGHTS_PATHS[name]);
  const weights = await readBackboneWeights(name, weightsPath);
  if (!weights && !o.allowRandom) {
    throw new Error(`no weights for ${name} at ${weightsPath}; pass --weights PATH${name === 'vgg16' ? ' (convert them with `webgpu-transfer weights convert`)' : ''}, or --random-weights for a smoke test`);
  }
  const checksum = weights ? await tensorsSha256(weights) : `random(seed ${o.seed ?? 0})`;
  if (o.expectedChecksum && checksum !== o.expectedChecksum) {
    throw new Error(`the weights at ${weightsPath} have checksum ${checksum}, but the run was made with ${o.expectedChecksum}`);
  }
  const backbone = createBackbone(name, e, { ...(o.inputSize ? { inputSize: o.inputSize } : {}), seed: o.seed ?? 0, logger: o.logger });
  try {
    const status = backbone.loadWeights(weights, { source: weightsPath });
    return { backbone, status, weightsPath, checksum };
  } catch (err) {
    backbone.model.dispose();
    throw err;
  }
}

export interface FolderOptions {
  inputSize: number;
  onBadImage: OnBadImage;
  cache: PixelCache | null;
  log?: (line: string) => void;
  onProgress?: (split: string, done: number, total: number) => void;
}

export function pixelCache(dir: string | null): PixelCache | null {
  return dir === null ? null : new DiskPixelCache({ dir: resolve(dir), keepInMemory: true });
}

/** Whether `dir` has the book's layout (train/ and validation/ sub-folders). */
export async function hasSplits(dir: string): Promise<boolean> {
  return (await isDir(join(dir, 'train'))) && (await isDir(join(dir, 'validation')));
}

async function isDir(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/** Opens `data/<split>` for each split (test only when present), scanning every image before anything is trained. */
export async function openSplits(data: string, splits: readonly SplitName[], o: FolderOptions): Promise<Map<SplitName, ImageFolder>> {
  if (!(await isDir(data))) throw new Error(`--data ${data}: no such folder`);
  const entries = new Set((await readdir(data)).filter(Boolean));
  const out = new Map<SplitName, ImageFolder>();
  const present: SplitName[] = [];
  for (const s of splits) {
    const dir = join(data, s);
    if (!entries.has(s) || !(await isDir(dir))) {
      if (s === 'test') continue;
      throw new Error(`--data ${data}: missing the ${s}/ folder (expected ${['train', 'validation', 'test'].map((x) => `${x}/`).join(', ')} each with one sub-folder per class)`);
    }
    present.push(s);
  }
  // Class folders first (cheap): every split must have train's, checked before any image is read.
  const classFolders = async (dir: string) => ({ root: dir, classNames: (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)) });
  const train = present[0] === 'train' ? await classFolders(join(data, 'train')) : null;
  // (Fewer than two in train: opening it says so.)
  if (train && train.classNames.length >= 2) {
    for (const s of present.slice(1)) {
      const problem = classFolderMismatch(train, await classFolders(join(data, s)), join);
      if (problem) throw new Error(problem);
    }
  }
  for (const s of present) out.set(s, await openFolder(join(data, s), o, s));
  return out;
}

export function openFolder(dir: string, o: FolderOptions, label = dir): Promise<ImageFolder> {
  return openImageFolder(dir, {
    targetSize: [o.inputSize, o.inputSize],
    interpolation: 'nearest',
    cache: o.cache ?? undefined,
    cacheDir: o.cache ? undefined : null,
    onBadImage: o.onBadImage,
    ...(o.log ? { log: o.log } : {}),
    ...(o.onProgress ? { onProgress: (d: number, t: number) => o.onProgress!(label, d, t) } : {}),
  });
}
