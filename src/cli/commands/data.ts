// `webgpu-transfer data …`: build the book's small split from Kaggle's train/ folder; scan a dataset folder.
import type { Command } from 'commander';
import { DEFAULT_PIXEL_CACHE_DIR } from '../../data/cache-node.js';
import { nodeDataFs } from '../../data/fs-node.js';
import { openImageFolder } from '../../data/image-folder-node.js';
import { kaggleSplit } from '../../data/kaggle-split.js';
import type { Interpolation } from '../../data/types.js';
import { inCliTerms } from '../train-common.js';

export interface DataIo {
  out(line: string): void;
  err(line: string): void;
}

const consoleIo: DataIo = { out: (s) => console.log(s), err: (s) => console.error(s) };

function count(name: string): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got "${v}"`);
    return n;
  };
}

export interface SplitCliOptions {
  train?: number;
  validation?: number;
  test?: number;
}

/** Copies cat.N.jpg / dog.N.jpg into out/{train,validation,test}/{cats,dogs} (0–999 / 1000–1499 / 1500–1999 by default). */
export async function dataSplit(src: string, out: string, opts: SplitCliOptions = {}, io: DataIo = consoleIo): Promise<void> {
  const lines = await kaggleSplit(nodeDataFs, src, out, opts);
  for (const l of lines) io.out(l);
  io.out(`wrote ${out}`);
}

export interface ScanCliOptions {
  size?: number;
  interpolation?: Interpolation;
  cacheDir?: string;
  cache?: boolean;
  skipBad?: boolean;
}

/** Decodes every image of a flow_from_directory folder (filling the pixel cache) and reports classes and bad files. */
export async function dataScan(dir: string, opts: ScanCliOptions = {}, io: DataIo = consoleIo): Promise<void> {
  const size = opts.size ?? 150;
  let lastTick = 0;
  const folder = await openImageFolder(dir, {
    targetSize: [size, size],
    interpolation: opts.interpolation ?? 'nearest',
    cacheDir: opts.cache === false ? null : (opts.cacheDir ?? DEFAULT_PIXEL_CACHE_DIR),
    keepInMemory: false,
    onBadImage: opts.skipBad ? 'skip' : 'fail',
    log: (l) => io.out(l),
    onProgress: (done, total) => {
      const now = Date.now();
      if (done === total || now - lastTick > 2000) {
        lastTick = now;
        io.err(`  scanned ${done}/${total}`);
      }
    },
  }).catch((err: unknown) => {
    throw inCliTerms(err, { onBadImage: '--skip-bad' });
  });
  folder.classNames.forEach((c, i) => io.out(`  ${i} ${c}: ${folder.counts[i]} images`));
}

export function registerData(program: Command): void {
  const data = program.command('data').description('prepare and check image datasets');
  data
    .command('split')
    .description("build the book's small cats-vs-dogs dataset from Kaggle's Dogs-vs-Cats train/ folder (copies files)")
    .argument('<kaggle-train-dir>', 'folder holding cat.0.jpg … and dog.0.jpg …')
    .argument('<out-dir>', 'new or empty folder for train/, validation/ and test/')
    .option('--train <n>', 'images per class for train/', count('train'), 1000)
    .option('--validation <n>', 'images per class for validation/', count('validation'), 500)
    .option('--test <n>', 'images per class for test/', count('test'), 500)
    .action(async (src: string, out: string, opts: SplitCliOptions) => dataSplit(src, out, opts));
  data
    .command('scan')
    .description('decode every image of a class-per-folder dataset, fill the pixel cache, report bad files')
    .argument('<dir>', 'dataset folder with one sub-folder per class')
    .option('--size <n>', 'target height and width', count('size'), 150)
    .option('--interpolation <mode>', 'nearest (Keras default) or bilinear', 'nearest')
    .option('--cache-dir <dir>', 'pixel cache folder', DEFAULT_PIXEL_CACHE_DIR)
    .option('--no-cache', 'decode without the pixel cache')
    .option('--skip-bad', 'drop bad files (listed) instead of failing')
    .action(async (dir: string, opts: ScanCliOptions) => {
      if (opts.interpolation !== 'nearest' && opts.interpolation !== 'bilinear') throw new Error(`--interpolation must be nearest or bilinear, got "${opts.interpolation}"`);
      await dataScan(dir, opts);
    });
}
