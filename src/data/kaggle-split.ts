import type { WritableDataFs } from './types.js';

/** One class of the Kaggle Dogs-vs-Cats train/ folder: files `<prefix>.<index>.jpg` go to `<folder>/`. */
export interface KaggleClass {
  prefix: string;
  folder: string;
}

export interface KaggleSplitOptions {
  /** Images per class in each split, taken in index order: train 0–999, validation 1000–1499, test 1500–1999. */
  train?: number;
  validation?: number;
  test?: number;
  classes?: readonly KaggleClass[];
  /** Files copied at once (default 16). */
  concurrency?: number;
}

export const KAGGLE_CLASSES: readonly KaggleClass[] = [
  { prefix: 'cat', folder: 'cats' },
  { prefix: 'dog', folder: 'dogs' },
];

export interface SplitCopy {
  from: string;
  to: string;
}

export interface SplitPlan {
  /** Folders to create, parents first. */
  folders: string[];
  copies: SplitCopy[];
  /** Per split and class: `train/cats: 1000 (cat.0.jpg … cat.999.jpg)`. */
  lines: string[];
  /** Source file names the plan needs. */
  needed: string[];
}

/** Which file goes where for the book's small split (pure; no file access). */
export function planKaggleSplit(srcDir: string, outDir: string, join: (...p: string[]) => string, options: KaggleSplitOptions = {}): SplitPlan {
  const sizes: [string, number][] = [
    ['train', options.train ?? 1000],
    ['validation', options.validation ?? 500],
    ['test', options.test ?? 500],
  ];
  for (const [name, n] of sizes) if (!Number.isInteger(n) || n < 0) throw new Error(`${name} count must be a non-negative integer, got ${n}`);
  const classes = options.classes ?? KAGGLE_CLASSES;
  const folders = [outDir];
  const copies: SplitCopy[] = [];
  const lines: string[] = [];
  const needed: string[] = [];
  let start = 0;
  for (const [split, n] of sizes) {
    if (n === 0) continue;
    folders.push(join(outDir, split));
    for (const cls of classes) {
      const dir = join(outDir, split, cls.folder);
      folders.push(dir);
      for (let i = start; i < start + n; i++) {
        const name = `${cls.prefix}.${i}.jpg`;
        needed.push(name);
        copies.push({ from: join(srcDir, name), to: join(dir, name) });
      }
      lines.push(`${split}/${cls.folder}: ${n} (${cls.prefix}.${start}.jpg … ${cls.prefix}.${start + n - 1}.jpg)`);
    }
    start += n;
  }
  return { folders, copies, lines, needed };
}

/**
 * Builds the small cats-and-dogs dataset from Kaggle's train/ folder: copies the planned files into
 * out/{train,validation,test}/{cats,dogs}. Checks everything first: refuses a non-empty output folder and lists every
 * missing source file by name; copies nothing in either case. Returns the per-folder summary lines.
 */
export async function kaggleSplit(fs: WritableDataFs, srcDir: string, outDir: string, options: KaggleSplitOptions = {}): Promise<string[]> {
  const plan = planKaggleSplit(srcDir, outDir, fs.join, options);
  let present: Set<string>;
  try {
    present = new Set((await fs.readDir(srcDir)).filter((d) => d.kind === 'file').map((d) => d.name));
  } catch (e) {
    throw new Error(`${srcDir}: cannot read the Kaggle train folder (${e instanceof Error ? e.message : String(e)})`);
  }
  const missing = plan.needed.filter((n) => !present.has(n));
  if (missing.length) {
    const shown = missing.slice(0, 50).join(', ');
    throw new Error(`${srcDir}: ${missing.length} source file${missing.length === 1 ? '' : 's'} missing: ${shown}${missing.length > 50 ? `, … (${missing.length - 50} more)` : ''}`);
  }
  if (await fs.exists(outDir)) {
    const inside = await fs.readDir(outDir);
    if (inside.length) throw new Error(`${outDir} is not empty (${inside.length} entr${inside.length === 1 ? 'y' : 'ies'}); refusing to overwrite it: choose a new or empty folder`);
  }
  for (const f of plan.folders) await fs.mkdir(f);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < plan.copies.length) {
      const c = plan.copies[next++]!;
      await fs.copyFile(c.from, c.to);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 16) }, worker));
  return plan.lines;
}
