import { DatasetLayoutError } from './errors.js';
import { hasImageExtension, IMAGE_EXTENSIONS } from './sniff.js';
import type { DataFs } from './types.js';

/** One image of a class folder. */
export interface ImageEntry {
  /** Path as given to the DataFs (root joined with the relative path). */
  path: string;
  /** Path relative to the dataset root, with '/', e.g. `cats/cat.0.jpg` (Keras' `filenames`). */
  relPath: string;
  /** Class index: position of the class folder in sorted order (cats = 0, dogs = 1). */
  label: number;
}

export interface ImageFolderListing {
  root: string;
  classNames: string[];
  entries: ImageEntry[];
  /** Images per class, in class order. */
  counts: number[];
}

export interface ListOptions {
  /** Class folders to use, in label order (Keras' `classes`); default every sub-folder, sorted by name. */
  classes?: readonly string[];
  /** Fewer class folders than this is an error (default 2: binary classification). */
  minClasses?: number;
}

/** Python's sorted() on str: by code point. */
const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Keras' summary line: `Found 2000 images belonging to 2 classes.` */
export function foundSummary(images: number, classes: number): string {
  return `Found ${images} images belonging to ${classes} classes.`;
}

/**
 * Lists a dataset laid out for Keras' flow_from_directory: one sub-folder per class (sorted by name gives the labels),
 * images found recursively inside each, in Keras' order (folders by path, then file names, both sorted), filtered by
 * extension (case-insensitive). Empty class folders and fewer than `minClasses` classes are errors naming the folder.
 */
export async function listImageFolder(fs: DataFs, root: string, options: ListOptions = {}): Promise<ImageFolderListing> {
  const minClasses = options.minClasses ?? 2;
  let top;
  try {
    top = await fs.readDir(root);
  } catch (e) {
    throw new DatasetLayoutError(`${root}: cannot read the data folder (${e instanceof Error ? e.message : String(e)})`, root);
  }
  let classNames: string[];
  if (options.classes) {
    classNames = [...options.classes];
    const dirs = new Set(top.filter((d) => d.kind === 'dir').map((d) => d.name));
    const missing = classNames.filter((c) => !dirs.has(c));
    if (missing.length) throw new DatasetLayoutError(`${root}: class folder${missing.length > 1 ? 's' : ''} not found: ${missing.map((c) => fs.join(root, c)).join(', ')}`, root);
  } else {
    classNames = top.filter((d) => d.kind === 'dir').map((d) => d.name).sort(byCodePoint);
  }
  if (classNames.length === 0) {
    throw new DatasetLayoutError(`${root}: no class sub-folders (expected one folder of images per class, e.g. ${fs.join(root, 'cats')} and ${fs.join(root, 'dogs')})`, root);
  }
  if (classNames.length < minClasses) {
    throw new DatasetLayoutError(
      `${root}: found ${classNames.length} class folder${classNames.length === 1 ? '' : 's'} (${classNames.join(', ')}); at least ${minClasses} are needed (one sub-folder per class)`,
      root,
    );
  }
  const entries: ImageEntry[] = [];
  const counts: number[] = [];
  for (const [label, cls] of classNames.entries()) {
    const classDir = fs.join(root, cls);
    const groups: { rel: string; files: string[] }[] = [];
    let otherFiles = 0;
    const walk = async (rel: string): Promise<void> => {
      const list = await fs.readDir(rel ? fs.join(classDir, ...rel.split('/')) : classDir);
      const files: string[] = [];
      for (const d of list) {
        if (d.kind === 'dir') await walk(rel ? `${rel}/${d.name}` : d.name);
        else if (d.kind === 'file') {
          if (hasImageExtension(d.name)) files.push(d.name);
          else otherFiles++;
        }
      }
      groups.push({ rel, files: files.sort(byCodePoint) });
    };
    await walk('');
    // os.walk results sorted by their root path, as Keras does.
    groups.sort((a, b) => byCodePoint(a.rel ? `${classDir}/${a.rel}` : classDir, b.rel ? `${classDir}/${b.rel}` : classDir));
    let n = 0;
    for (const g of groups) {
      for (const f of g.files) {
        const relInClass = g.rel ? `${g.rel}/${f}` : f;
        entries.push({ path: fs.join(classDir, ...relInClass.split('/')), relPath: `${cls}/${relInClass}`, label });
        n++;
      }
    }
    if (n === 0) {
      throw new DatasetLayoutError(
        `class folder ${classDir} contains no images (looked for ${IMAGE_EXTENSIONS.join(', ')}${otherFiles ? `; ${otherFiles} other file${otherFiles === 1 ? '' : 's'} ignored` : ''})`,
        classDir,
      );
    }
    counts.push(n);
  }
  return { root, classNames, entries, counts };
}

/**
 * Every split must have train's class folders: the error names the folders missing from `other` and the extra ones
 * it has (null when they match).
 */
export function classFolderMismatch(train: { root: string; classNames: readonly string[] }, other: { root: string; classNames: readonly string[] }, join: (...p: string[]) => string): string | null {
  if (train.classNames.join('\u0000') === other.classNames.join('\u0000')) return null;
  const have = new Set(other.classNames);
  const want = new Set(train.classNames);
  const missing = train.classNames.filter((c) => !have.has(c));
  const extra = other.classNames.filter((c) => !want.has(c));
  const parts: string[] = [];
  if (missing.length) parts.push(`missing class folder${missing.length > 1 ? 's' : ''} ${missing.map((c) => join(other.root, c)).join(', ')}`);
  if (extra.length) parts.push(`extra class folder${extra.length > 1 ? 's' : ''} ${extra.map((c) => join(other.root, c)).join(', ')}`);
  return `${other.root}: ${parts.join('; ')} (every split needs the class folders of ${train.root}: ${train.classNames.join(', ')})`;
}
