// The recipes of jobs.ts without a disk: runs and feature folders are kept in memory, datasets are whatever file
// systems the caller mounts (the files a person picked in the browser, or any DataFs in a test), backbone weights
// are tensors the caller already holds. Nothing here touches the DOM or Node's APIs, so the browser tab uses it and
// Node tests run the very same code.
import type { BadImage } from '../data/errors.js';
import { ImageFolder } from '../data/image-folder.js';
import type { DataFs, DirEntry, ImageDecoder, PixelCache } from '../data/types.js';
import type { Engine } from '../engine/index.js';
import { tensorsSha256 } from '../formats/checksum.js';
import type { NamedArrays } from '../formats/types.js';
import { createBackbone } from '../models/registry.js';
import { loadOnnxBackbone } from '../models/onnx/load.js';
import { isOnnxModelRef, parseOnnxRef, type BackboneName, type ModelLogger } from '../models/types.js';
import { silentSink, type EventSink } from './events.js';
import type { SplitName } from './features.js';
import type { BackboneOptions, DatasetSource, FolderOptions, JobEnv, LoadedBackbone, RunHandle, RunRepository } from './job-env.js';
import type { PlotRenderer } from './plots.js';
import type { RecipeName } from './recipes.js';
import type { RunHooks } from './run.js';
import { MemoryRunStore } from './store.js';

const RUN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const RUNS = 'runs';

/** `a/./b//c/../d` → `a/b/d` ('/'-separated, no leading slash; `..` above the top is dropped). */
export function normalizeRef(ref: string): string {
  const out: string[] = [];
  for (const p of ref.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') out.pop();
    else out.push(p);
  }
  return out.join('/');
}

/** Runs kept in memory, by name (`runs/<name>` is also accepted). */
export class MemoryRunRepository implements RunRepository {
  private readonly runs = new Map<string, RunHandle>();

  private handle(name: string): RunHandle {
    const location = `${RUNS}/${name}`;
    return { name, location, store: new MemoryRunStore(location) };
  }

  private nameOf(ref: string): string {
    const n = normalizeRef(ref);
    return n.startsWith(`${RUNS}/`) ? n.slice(RUNS.length + 1) : n;
  }

  async create(recipe: RecipeName, name?: string): Promise<RunHandle> {
    if (name !== undefined) {
      if (!RUN_NAME.test(name)) throw new Error(`run name '${name}': use letters, digits, '.', '_' and '-' only`);
      if (this.runs.has(name)) throw new Error(`a run named '${name}' already exists; choose another name`);
    } else {
      let i = 1;
      while (this.runs.has(`${recipe}-${i}`)) i++;
      name = `${recipe}-${i}`;
    }
    const h = this.handle(name);
    this.runs.set(name, h);
    return h;
  }

  async find(run: string): Promise<RunHandle> {
    const h = this.runs.get(this.nameOf(run));
    if (!h) throw new Error(`run '${run}' not found (runs here: ${[...this.runs.keys()].join(', ') || 'none'})`);
    return h;
  }

  /** Adds a run made elsewhere (its files by name), under `name` or, when that is taken, `name-2`, `name-3`, … */
  add(name: string, files: Iterable<[string, Uint8Array]>): RunHandle {
    const base = RUN_NAME.test(name) ? name : 'model';
    let n = base;
    for (let i = 2; this.runs.has(n); i++) n = `${base}-${i}`;
    const h = this.handle(n);
    for (const [file, bytes] of files) (h.store as MemoryRunStore).files.set(file, bytes.slice());
    this.runs.set(n, h);
    return h;
  }

  delete(run: string): void {
    this.runs.delete(this.nameOf(run));
  }

  names(): string[] {
    return [...this.runs.keys()];
  }
}

/** A dataset as the caller holds it: a file system and where each split's class folders are in it. */
export interface MemoryDataset {
  fs: DataFs;
  /** e.g. `{ train: 'train', validation: 'validation' }`; test is optional. */
  splits: Partial<Record<SplitName, string>>;
}

export interface MemoryWeights {
  /** The backbone's pretrained tensors; null: a random base (allowed only where the recipe allows it). */
  tensors: NamedArrays | null;
  /** Where they came from (e.g. `squeezenet1_1.safetensors`), recorded in config.json as the weights path. */
  source: string;
}

export interface MemoryJobEnvOptions {
  engine: Engine;
  decoder: ImageDecoder;
  /** Decoded pixels by content (e.g. MemoryPixelCache); null decodes every time. */
  cache: PixelCache | null;
  sink?: EventSink;
  logger?: ModelLogger;
  plots?: PlotRenderer;
  hooks?: RunHooks;
  software?: { node: string; platform: string };
}

/**
 * A `JobEnv` in memory. Datasets are mounted under a root name (`mount('images', …)`): the jobs see `images/train`,
 * `images/validation` whatever the caller's folders are called. Feature folders are memory stores by name; backbone
 * weights are looked up by model name (`setWeights`), whatever path a run recorded, and checked by checksum.
 */
export class MemoryJobEnv implements JobEnv {
  readonly engine: Engine;
  sink: EventSink;
  logger: ModelLogger;
  plots?: PlotRenderer;
  hooks?: RunHooks;
  readonly software: { node: string; platform: string };
  readonly runs = new MemoryRunRepository();
  readonly data: DatasetSource;
  readonly backbones: { load: (name: BackboneName, o: BackboneOptions) => Promise<LoadedBackbone> };
  /** Images left out as undecodable by the datasets opened so far (`onBadImage: 'skip'`); clear it between runs. */
  skipped: BadImage[] = [];
  /** Loose image files for `decodeImages` (e.g. predictJob's inputs), by name. */
  readonly files = new Map<string, Uint8Array>();

  private readonly datasets = new Map<string, MemoryDataset>();
  private readonly featureStores = new Map<string, RunHandle>();
  private readonly weights = new Map<BackboneName, MemoryWeights & { checksum?: Promise<string> }>();
  private readonly onnxFiles = new Map<string, Uint8Array>();
  private readonly decoder: ImageDecoder;
  private readonly cache: PixelCache | null;

  constructor(o: MemoryJobEnvOptions) {
    this.engine = o.engine;
    this.sink = o.sink ?? silentSink;
    this.logger = o.logger ?? { warn: () => {} };
    if (o.plots) this.plots = o.plots;
    if (o.hooks) this.hooks = o.hooks;
    this.software = o.software ?? { node: 'none', platform: 'memory' };
    this.decoder = o.decoder;
    this.cache = o.cache;
    const fs = this.mountedFs();
    this.data = {
      resolve: normalizeRef,
      pixels: `${this.decoder.id}-nearest`,
      openSplits: async (root, splits, fo) => {
        const { name, ds } = this.dataset(root);
        const out = new Map<SplitName, ImageFolder>();
        for (const s of splits) {
          if (ds.splits[s] === undefined) {
            if (s === 'test') continue;
            throw new Error(`${name}: no ${s} images (the dataset has ${Object.keys(ds.splits).join(', ') || 'no splits'})`);
          }
          out.set(s, await this.openFolder(fs, `${name}/${s}`, fo));
        }
        return out;
      },
      openEvaluation: async (root, split, fo) => {
        const ref = normalizeRef(root);
        if (this.datasets.has(ref)) {
          const { name, ds } = this.dataset(ref);
          if (ds.splits[split] === undefined) throw new Error(`${name}: no ${split} images (the dataset has ${Object.keys(ds.splits).join(', ')})`);
          return this.openFolder(fs, `${name}/${split}`, fo);
        }
        this.dataset(ref.split('/').slice(0, -1).join('/')); // a split folder of a mounted dataset, or an error naming the roots
        return this.openFolder(fs, ref, fo);
      },
      features: (ref) => {
        const location = normalizeRef(ref);
        let h = this.featureStores.get(location);
        if (!h) this.featureStores.set(location, (h = { name: location.split('/').pop() ?? location, location, store: new MemoryRunStore(location) }));
        return h;
      },
      decodeImages: async (files, size) => {
        const out: Uint8Array[] = [];
        for (const file of files) {
          let bytes = this.files.get(file);
          if (!bytes) {
            try {
              bytes = await fs.readFile(normalizeRef(file));
            } catch (err) {
              throw new Error(`${file}: cannot read (${(err as Error).message})`);
            }
          }
          out.push(await this.decoder.decode(bytes, file, [size, size], 'nearest'));
        }
        return out;
      },
    };
    this.backbones = { load: (name, bo) => this.loadBackbone(name, bo) };
  }

  /** Makes `ds` the dataset at `root` (replacing any dataset mounted there). */
  mount(root: string, ds: MemoryDataset): void {
    const r = normalizeRef(root);
    if (!r || r.startsWith(`${RUNS}/`)) throw new Error(`cannot mount a dataset at '${root}'`);
    this.datasets.set(r, ds);
  }

  /** The weights `load(name)` uses from now on (null tensors: only a random base is available). */
  setWeights(name: BackboneName, w: MemoryWeights): void {
    const cur = this.weights.get(name);
    if (cur && cur.tensors === w.tensors && cur.source === w.source) return;
    this.weights.set(name, { ...w });
  }

  /** An ONNX file the tab's user picked: `load(ref)` of a model reference to that path builds its base. */
  setOnnxModel(path: string, bytes: Uint8Array): void {
    this.onnxFiles.set(path, bytes);
  }

  hasWeights(name: BackboneName): boolean {
    return !!this.weights.get(name)?.tensors;
  }

  private dataset(root: string): { name: string; ds: MemoryDataset } {
    const name = normalizeRef(root);
    const ds = this.datasets.get(name);
    if (!ds) throw new Error(`no images at '${root}' (datasets here: ${[...this.datasets.keys()].join(', ') || 'none'})`);
    return { name, ds };
  }

  /** One file system over every mounted dataset: `<root>/<split>/…` reads the dataset's own split folder. */
  private mountedFs(): DataFs {
    const locate = (path: string): { ds: MemoryDataset; split: string | null; rest: string[]; root: string } | null => {
      const parts = normalizeRef(path).split('/').filter(Boolean);
      for (let i = parts.length; i > 0; i--) {
        const root = parts.slice(0, i).join('/');
        const ds = this.datasets.get(root);
        if (ds) return { ds, root, split: parts[i] ?? null, rest: parts.slice(i + 1) };
      }
      return null;
    };
    const inner = (l: NonNullable<ReturnType<typeof locate>>, path: string): string => {
      const dir = l.ds.splits[l.split as SplitName];
      if (dir === undefined) throw new Error(`${path}: no such folder`);
      return l.ds.fs.join(dir, ...l.rest);
    };
    return {
      readDir: async (path: string): Promise<DirEntry[]> => {
        const l = locate(path);
        if (!l) throw new Error(`${path}: no such folder`);
        if (l.split === null) return Object.keys(l.ds.splits).map((name) => ({ name, kind: 'dir' as const }));
        return l.ds.fs.readDir(inner(l, path));
      },
      readFile: async (path: string): Promise<Uint8Array> => {
        const l = locate(path);
        if (!l || l.split === null) throw new Error(`${path}: no such file`);
        return l.ds.fs.readFile(inner(l, path));
      },
      join: (...parts: string[]) => normalizeRef(parts.join('/')),
    };
  }

  /** Opens a class-folder dataset, reporting the scan as a phase ('Reading <root> images') with progress. */
  private async openFolder(fs: DataFs, root: string, o: FolderOptions): Promise<ImageFolder> {
    const name = `Reading ${root} images`;
    const t0 = performance.now();
    let announced = false;
    const folder = await ImageFolder.open(root, {
      fs,
      decoder: this.decoder,
      cache: this.cache,
      targetSize: [o.inputSize, o.inputSize],
      interpolation: 'nearest',
      onBadImage: o.onBadImage,
      log: (line) => this.sink({ type: 'info', message: line }),
      onProgress: (done, total) => {
        if (!announced) this.sink({ type: 'phase', name, total, unit: 'images' });
        announced = true;
        const el = (performance.now() - t0) / 1000;
        this.sink({ type: 'progress', name, done, total, images: done, elapsed_s: el, images_per_s: done / Math.max(el, 1e-9) });
      },
    });
    for (const b of folder.bad) if (!this.skipped.some((s) => s.path === b.path)) this.skipped.push(b);
    return folder;
  }

  private async loadBackbone(name: BackboneName, o: BackboneOptions): Promise<LoadedBackbone> {
    if (isOnnxModelRef(name)) {
      const path = parseOnnxRef(name).path;
      const bytes = this.onnxFiles.get(path);
      if (!bytes) throw new Error(`no ONNX file '${path}' is loaded here; pick the .onnx file first`);
      return loadOnnxBackbone(this.engine, name, bytes, { ...(o.inputSize ? { inputSize: o.inputSize } : {}), ...(o.expectedChecksum ? { expectedChecksum: o.expectedChecksum } : {}) });
    }
    const w = this.weights.get(name);
    const tensors = w?.tensors ?? null;
    const weightsPath = w?.source ?? `(no ${name} weights loaded)`;
    if (!tensors && !o.allowRandom) throw new Error(`no weights for ${name} are loaded here; load ${name}'s weights first`);
    let checksum: string;
    if (tensors) {
      w!.checksum ??= tensorsSha256(tensors);
      checksum = await w!.checksum;
    } else checksum = `random(seed ${o.seed})`;
    if (o.expectedChecksum && checksum !== o.expectedChecksum) {
      throw new Error(`the ${name} weights loaded here (${weightsPath}) have checksum ${checksum.slice(0, 12)}…, but the run was made with other weights (${o.expectedChecksum.slice(0, 12)}…)`);
    }
    const backbone = createBackbone(name, this.engine, { ...(o.inputSize ? { inputSize: o.inputSize } : {}), seed: o.seed, logger: this.logger });
    try {
      const status = backbone.loadWeights(tensors, { source: weightsPath });
      return { backbone, status, weightsPath, checksum };
    } catch (err) {
      backbone.model.dispose();
      throw err;
    }
  }
}
