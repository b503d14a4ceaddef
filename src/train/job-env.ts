import type { ImageFolder, OnBadImage } from '../data/image-folder.js';
import type { Engine } from '../engine/index.js';
import type { Backbone, BackboneName, ModelLogger, WeightsStatus } from '../models/types.js';
import type { EventSink } from './events.js';
import type { SplitName } from './features.js';
import type { PlotRenderer } from './plots.js';
import type { RecipeName } from './recipes.js';
import type { ConfusionRenderer } from './report.js';
import type { RunHooks } from './run.js';
import type { RunStore } from './store.js';

/**
 * What the recipes (src/train/jobs.ts) need from the platform they run on. Node implements it with folders on disk
 * (src/train/jobs-node.ts); the browser tab with the files the user picked and runs kept in memory.
 */
export interface JobEnv {
  engine: Engine;
  sink: EventSink;
  /** Warnings from the models (random weights) go here. */
  logger: ModelLogger;
  runs: RunRepository;
  data: DatasetSource;
  backbones: BackboneSource;
  /** Renders accuracy.png / loss.png into run folders; omitted, no plots are written. */
  plots?: PlotRenderer;
  /** Renders confusion.png into run folders; omitted, it is not written. */
  confusionPlot?: ConfusionRenderer;
  hooks?: RunHooks;
  /** Recorded in config.json (e.g. `{ node: 'v20.20.2', platform: 'linux-x64' }`). */
  software: { node: string; platform: string };
}

/** A run: its name, where it lives as users see it (a folder path in Node), and its files. */
export interface RunHandle {
  name: string;
  location: string;
  store: RunStore;
}

export interface RunRepository {
  /** A new, empty run (`name` refused when taken; default: recipe + timestamp). */
  create(recipe: RecipeName, name?: string): Promise<RunHandle>;
  /** An existing run, by name or location; throws naming where it looked. */
  find(run: string): Promise<RunHandle>;
}

export interface FolderOptions {
  inputSize: number;
  onBadImage: OnBadImage;
}

/** Datasets in the flow_from_directory layout, referred to by location strings the platform understands. */
export interface DatasetSource {
  /** The canonical location of a dataset reference (Node: an absolute path), as stored in config.json. */
  resolve(ref: string): string;
  /** Decoder and resize method of the images, recorded in feature manifests (default `sharp-nearest`). */
  pixels?: string;
  /** `root/<split>` for each split (test only when present), every image scanned before anything is trained. */
  openSplits(root: string, splits: readonly SplitName[], o: FolderOptions): Promise<Map<SplitName, ImageFolder>>;
  /** A dataset root's `split` sub-folder, or `root` itself when it is a folder of class sub-folders. */
  openEvaluation(root: string, split: SplitName, o: FolderOptions): Promise<ImageFolder>;
  /** A folder of extracted features (manifest.json + .npy files). */
  features(ref: string): RunHandle;
  /** Decodes image files to RGB bytes at size × size (Keras' nearest resize); a bad file throws naming it. */
  decodeImages(files: readonly string[], size: number): Promise<Uint8Array[]>;
}

export interface LoadedBackbone {
  backbone: Backbone;
  status: WeightsStatus;
  /** Where the weights were read from (or would have been). */
  weightsPath: string;
  /** SHA-256 of the weight tensors as read (format-independent), or `random(seed N)`. */
  checksum: string;
}

export interface BackboneOptions {
  inputSize?: number;
  /** Default: the model's usual place. */
  weights?: string;
  seed: number;
  /** Missing weights give a Glorot-initialised base (loudly warned) instead of an error. */
  allowRandom: boolean;
  /** The run was made with these weights: refuse others. */
  expectedChecksum?: string;
}

export interface BackboneSource {
  load(name: BackboneName, o: BackboneOptions): Promise<LoadedBackbone>;
}
