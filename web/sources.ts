import { filesDataFs } from '../src/data/fs-browser.js';
import type { DataFs } from '../src/data/types.js';

/**
 * Where the page's images come from: the demo folder the local server lists, or a folder the user picks (read in the
 * tab with the File API; nothing is uploaded). Both become the same small read-only file system holding
 * `train/<class>/<image>` and `validation/<class>/<image>`, which the data module opens exactly as it opens a folder
 * on disk in Node (flow_from_directory: class index = position of the sorted class folder).
 */

export interface PickedImages {
  fs: DataFs;
  classes: string[];
  train: number[];
  validation: number[];
  /** Where the images came from, for the summary line. */
  origin: string;
}

export interface Limits {
  trainPerClass: number;
  valPerClass: number;
}

interface FileLike {
  name: string;
  arrayBuffer(): Promise<ArrayBuffer>;
}

interface Chosen {
  /** `train/<class>/<file>` or `validation/<class>/<file>`. */
  path: string;
  file: FileLike;
}

export const TRAIN_DIR = 'train';
export const VALIDATION_DIR = 'validation';

const IMAGE_NAME = /\.(jpe?g|png|bmp|gif|webp|tiff?)$/i;

export interface DemoListing {
  /** The demo set's name on the server (absent from an older server: its default set). */
  set?: string;
  available: boolean;
  splits: Record<string, Record<string, string[]>>;
}

export interface DemoSet {
  name: string;
  available: boolean;
  classes: number;
}

/** The demo set the page starts with. */
export const DEFAULT_DEMO_SET = 'cats_and_dogs_small';

/** Base URL of the server's endpoints: the page's own location in the browser; the server's URL in the Node test. */
let apiBase: string | undefined;
export function setApiBase(base: string): void {
  apiBase = base;
}

async function fetchOk(url: string): Promise<Response> {
  const res = await fetch(apiBase ? new URL(url, apiBase) : url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text().catch(() => '')}`.trim());
  return res;
}

/** The demo sets the server offers (cats_and_dogs_small, flowers12, …). */
export async function fetchDemoSets(): Promise<DemoSet[]> {
  return (await (await fetchOk('api/datasets')).json()) as DemoSet[];
}

/** The images of demo set `set` (default: the server's first) by split and class. */
export async function fetchDemoListing(set?: string): Promise<DemoListing> {
  return (await (await fetchOk(set ? `api/data/${encodeURIComponent(set)}` : 'api/data')).json()) as DemoListing;
}

function build(chosen: Chosen[], origin: string): PickedImages {
  const classes = [...new Set(chosen.filter((c) => c.path.startsWith(`${TRAIN_DIR}/`)).map((c) => c.path.split('/')[1]!))].sort();
  if (classes.length < 2) {
    throw new Error(`classification needs at least two class folders; found ${classes.length}: ${classes.join(', ') || '(none)'}`);
  }
  const count = (split: string) => classes.map((c) => chosen.filter((x) => x.path.startsWith(`${split}/${c}/`)).length);
  const byPath = new Map(chosen.map((c) => [c.file, c.path] as const));
  return {
    fs: filesDataFs(
      chosen.map((c) => c.file),
      (f) => byPath.get(f as FileLike)!,
    ),
    classes,
    train: count(TRAIN_DIR),
    validation: count(VALIDATION_DIR),
    origin,
  };
}

/** The first images of each class of the demo splits (names sort naturally: cat.0, cat.1, …). */
export function demoImages(listing: DemoListing, limits: Limits): PickedImages {
  const name = listing.set ?? DEFAULT_DEMO_SET;
  if (!listing.available) throw new Error(`this server has no demo data ${name} (../shared/data/${name} is missing or holds no class folders)`);
  const prefix = listing.set ? `api/data/${encodeURIComponent(listing.set)}` : 'api/data';
  const chosen: Chosen[] = [];
  for (const [split, perClass] of [[TRAIN_DIR, limits.trainPerClass], [VALIDATION_DIR, limits.valPerClass]] as const) {
    for (const [cls, files] of Object.entries(listing.splits[split] ?? {})) {
      for (const file of files.slice(0, perClass)) {
        const url = `${prefix}/${[split, cls, file].map(encodeURIComponent).join('/')}`;
        chosen.push({ path: `${split}/${cls}/${file}`, file: { name: file, arrayBuffer: async () => (await fetchOk(url)).arrayBuffer() } });
      }
    }
  }
  return build(chosen, `demo data from this machine (${name})`);
}

/**
 * Images from a picked folder. Accepted layouts: `<root>/<class>/<image>` (validation = the last images of each
 * class) or `<root>/<split>/<class>/<image>` with a `train` split (and `validation`, if any).
 */
export function folderImages(files: ArrayLike<File>, limits: Limits): PickedImages {
  const rows: { parts: string[]; file: File }[] = [];
  for (const file of Array.from(files)) {
    const rel = (file as File & { webkitRelativePath?: string }).webkitRelativePath || file.name;
    const parts = rel.split('/').filter(Boolean).slice(1); // drop the picked folder's own name
    if (!IMAGE_NAME.test(parts[parts.length - 1] ?? '') || parts.some((p) => p.startsWith('.'))) continue;
    rows.push({ parts, file });
  }
  if (rows.length === 0) throw new Error('the chosen folder holds no images (.jpg, .png, .bmp, .gif, .webp) in class sub-folders');
  rows.sort((a, b) => a.parts.join('/').localeCompare(b.parts.join('/'), 'en', { numeric: true }));
  const chosen: Chosen[] = [];
  const split = rows.filter((r) => r.parts.length === 3);
  if (split.some((r) => r.parts[0] === TRAIN_DIR)) {
    const valName = split.some((r) => r.parts[0] === VALIDATION_DIR) ? VALIDATION_DIR : 'val';
    for (const [from, to, perClass] of [[TRAIN_DIR, TRAIN_DIR, limits.trainPerClass], [valName, VALIDATION_DIR, limits.valPerClass]] as const) {
      const perCls = new Map<string, number>();
      for (const r of split.filter((r) => r.parts[0] === from)) {
        const n = perCls.get(r.parts[1]!) ?? 0;
        if (n >= perClass) continue;
        perCls.set(r.parts[1]!, n + 1);
        chosen.push({ path: `${to}/${r.parts[1]}/${r.parts[2]}`, file: r.file });
      }
    }
    return build(chosen, 'your folder');
  }
  const flat = rows.filter((r) => r.parts.length === 2);
  if (flat.length === 0) throw new Error('put the images in one sub-folder per class (e.g. cats/ and dogs/), or in train/<class>/ and validation/<class>/');
  for (const cls of [...new Set(flat.map((r) => r.parts[0]!))].sort()) {
    const mine = flat.filter((r) => r.parts[0] === cls);
    // Validation images come from the end, so adding training images never moves an image between the sets.
    const nVal = Math.min(limits.valPerClass, Math.floor(mine.length / 2));
    for (const r of mine.slice(0, Math.min(limits.trainPerClass, mine.length - nVal))) chosen.push({ path: `${TRAIN_DIR}/${cls}/${r.parts[1]}`, file: r.file });
    for (const r of mine.slice(mine.length - nVal)) chosen.push({ path: `${VALIDATION_DIR}/${cls}/${r.parts[1]}`, file: r.file });
  }
  return build(chosen, 'your folder');
}

export function summarize(set: PickedImages): string {
  const lines = set.classes.map((c, i) => `${i} = ${c}: ${set.train[i]} train, ${set.validation[i]} validation`);
  return `${set.origin}\n${lines.join('\n')}`;
}
