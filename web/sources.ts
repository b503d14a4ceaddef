/**
 * Where the page's images come from: the demo folder the local server lists, or a folder the user picks
 * (read in the tab with the File API; nothing is uploaded). Both give the same shape: sorted class names
 * (class index = position, as flow_from_directory numbers them) and items that load their bytes on demand.
 */

export interface ImageItem {
  /** Shown in errors: the path inside the chosen folder, or split/class/file for the demo data. */
  name: string;
  label: number;
  bytes(): Promise<Uint8Array>;
}

export interface LabeledImages {
  classes: string[];
  train: ImageItem[];
  validation: ImageItem[];
  /** Where the images came from, for the summary line. */
  origin: string;
}

export interface Limits {
  trainPerClass: number;
  valPerClass: number;
}

const IMAGE_NAME = /\.(jpe?g|png|bmp|gif|webp)$/i;

interface DemoListing {
  available: boolean;
  splits: Record<string, Record<string, string[]>>;
}

async function fetchOk(url: string): Promise<Response> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text().catch(() => '')}`.trim());
  return res;
}

export async function fetchDemoListing(): Promise<DemoListing> {
  return (await (await fetchOk('api/data')).json()) as DemoListing;
}

/** The first `limit` images of each class of the demo split (names sort naturally: cat.0, cat.1, …). */
export function demoImages(listing: DemoListing, limits: Limits): LabeledImages {
  if (!listing.available) throw new Error('this server has no demo data (../shared/data/cats_and_dogs_small is missing)');
  const train = listing.splits['train'];
  if (!train) throw new Error('the demo data has no train/ split');
  const classes = Object.keys(train).sort();
  const pick = (split: string, perClass: number): ImageItem[] => {
    const byClass = listing.splits[split] ?? {};
    const out: ImageItem[] = [];
    classes.forEach((cls, label) => {
      for (const file of (byClass[cls] ?? []).slice(0, perClass)) {
        const path = `${split}/${cls}/${file}`;
        const url = `api/data/${[split, cls, file].map(encodeURIComponent).join('/')}`;
        out.push({ name: path, label, bytes: async () => new Uint8Array(await (await fetchOk(url)).arrayBuffer()) });
      }
    });
    return out;
  };
  return { classes, train: pick('train', limits.trainPerClass), validation: pick('validation', limits.valPerClass), origin: 'demo data (cats_and_dogs_small)' };
}

/**
 * Images from a picked folder. Accepted layouts: `<root>/<class>/<image>` (validation = the last images of each
 * class) or `<root>/<split>/<class>/<image>` with a `train` split (and `validation`, if any).
 */
export function folderImages(files: ArrayLike<File>, limits: Limits): LabeledImages {
  const rows: { parts: string[]; file: File }[] = [];
  for (const file of Array.from(files)) {
    const rel = (file as File & { webkitRelativePath?: string }).webkitRelativePath || file.name;
    const parts = rel.split('/').filter(Boolean);
    if (!IMAGE_NAME.test(parts[parts.length - 1] ?? '')) continue;
    if (parts.some((p) => p.startsWith('.'))) continue;
    rows.push({ parts: parts.slice(1), file }); // drop the picked folder's own name
  }
  if (rows.length === 0) throw new Error('the chosen folder holds no images (.jpg, .png, .bmp, .gif, .webp) in class sub-folders');
  const item = (parts: string[], file: File, label: number): ImageItem => ({
    name: parts.join('/'),
    label,
    bytes: async () => new Uint8Array(await file.arrayBuffer()),
  });
  const natural = (a: { parts: string[] }, b: { parts: string[] }) => a.parts.join('/').localeCompare(b.parts.join('/'), 'en', { numeric: true });
  rows.sort(natural);
  const split = rows.filter((r) => r.parts.length === 3);
  if (split.some((r) => r.parts[0] === 'train')) {
    const classes = [...new Set(split.filter((r) => r.parts[0] === 'train').map((r) => r.parts[1]!))].sort();
    const pick = (name: string, perClass: number): ImageItem[] =>
      classes.flatMap((cls, label) =>
        split.filter((r) => r.parts[0] === name && r.parts[1] === cls).slice(0, perClass).map((r) => item(r.parts, r.file, label)),
      );
    const val = split.some((r) => r.parts[0] === 'validation') ? 'validation' : 'val';
    return checkClasses({ classes, train: pick('train', limits.trainPerClass), validation: pick(val, limits.valPerClass), origin: 'your folder' });
  }
  const flat = rows.filter((r) => r.parts.length === 2);
  if (flat.length === 0) throw new Error('put the images in one sub-folder per class (e.g. cats/ and dogs/), or in train/<class>/ and validation/<class>/');
  const classes = [...new Set(flat.map((r) => r.parts[0]!))].sort();
  const train: ImageItem[] = [];
  const validation: ImageItem[] = [];
  classes.forEach((cls, label) => {
    const mine = flat.filter((r) => r.parts[0] === cls);
    // Validation images come from the end, so adding training images never moves an image between the sets.
    const nVal = Math.min(limits.valPerClass, Math.floor(mine.length / 2));
    mine.slice(0, Math.min(limits.trainPerClass, mine.length - nVal)).forEach((r) => train.push(item(r.parts, r.file, label)));
    mine.slice(mine.length - nVal).forEach((r) => validation.push(item(r.parts, r.file, label)));
  });
  return checkClasses({ classes, train, validation, origin: 'your folder' });
}

function checkClasses(set: LabeledImages): LabeledImages {
  if (set.classes.length !== 2) {
    throw new Error(`binary classification needs exactly two class folders; found ${set.classes.length}: ${set.classes.join(', ') || '(none)'}`);
  }
  return set;
}

export function summarize(set: LabeledImages): string {
  const count = (items: ImageItem[], label: number) => items.filter((i) => i.label === label).length;
  const lines = set.classes.map((c, i) => `${i} = ${c}: ${count(set.train, i)} train, ${count(set.validation, i)} validation`);
  return `${set.origin}\n${lines.join('\n')}`;
}
