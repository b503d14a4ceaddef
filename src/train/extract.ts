import type { ImageFolder } from '../data/image-folder.js';
import type { Engine, Tensor } from '../engine/index.js';
import { sha256Hex } from '../formats/checksum.js';
import { preprocess, type PreprocessMode } from '../kernels/preprocess.js';
import type { Backbone } from '../models/types.js';
import { INFERENCE } from '../nn/layer.js';
import { silentSink, type EventSink } from './events.js';
import { featureBytes, featureFile, labelFile, readFeatureSet, type FeatureSet, type SplitName } from './features.js';
import { uploadImageBatch } from './image-input.js';
import { epochBatchIndices, ScheduledBatches } from './schedule.js';
import { StepRunner } from './step-runner.js';
import { readJson, writeJson, type RunStore } from './store.js';

export const MANIFEST_FILE = 'manifest.json';
const FORMAT = 'webgpu-transfer-features/1';

/** Everything extracted features depend on; equal manifests mean the stored features can be reused. */
export interface FeatureManifest {
  format: string;
  model: string;
  input_size: number;
  preprocess: PreprocessMode;
  /** Decoder and resize method of the images (e.g. `sharp-nearest`). */
  pixels: string;
  weights_checksum: string;
  /** Where the weights were read from (informative; not part of the comparison). */
  weights_path?: string;
  feature_shape: number[];
  splits: Record<string, { root: string; count: number; classes: string[]; files_sha256: string; features_sha256?: string; labels_sha256?: string }>;
}

/** SHA-256 over the split's file list: relative path, label and content hash of every image, in order. */
export async function folderFingerprint(folder: ImageFolder): Promise<string> {
  const text = folder.images.map((im) => `${im.relPath}\t${im.label}\t${im.hash}\n`).join('');
  return sha256Hex(new TextEncoder().encode(`${folder.classNames.join(',')}\n${text}`));
}

/**
 * Runs the frozen base over every image of `folder`, in order, without gradients; one tidy scope per batch. The batch
 * is not checked here: `extractJob` checks it (`checkBatchFits`) before reading any image.
 */
export async function extractFeatures(
  e: Engine,
  backbone: Backbone,
  folder: ImageFolder,
  opts: { preprocess: PreprocessMode; batchSize: number; sink?: EventSink; name?: string; replay?: boolean },
): Promise<FeatureSet> {
  const sink = opts.sink ?? silentSink;
  const [h, w] = folder.targetSize;
  if (h !== backbone.inputSize || w !== backbone.inputSize) throw new Error(`images are ${h}×${w} but the base was built for ${backbone.inputSize}×${backbone.inputSize}`);
  const per = backbone.featureShape.reduce((a, d) => a * d, 1);
  const n = folder.size;
  const features = new Float32Array(n * per);
  const labels = Float32Array.from(folder.labels);
  const batches = epochBatchIndices({ size: n, batchSize: opts.batchSize, shuffle: false, seed: 0 });
  const stream = new ScheduledBatches(batches, (idx) => folder.loadBatch(idx), (host) => uploadImageBatch(e, host));
  const name = opts.name ?? 'extract';
  const t0 = performance.now();
  let done = 0;
  const runner = new StepRunner(e, (x) => e.noGrad(() => backbone.model.forward(preprocess(e, x, opts.preprocess), INFERENCE)), {
    enabled: opts.replay ?? e.replay,
    label: name,
  });
  let pending: { read: Promise<Float32Array>; out: Tensor; offset: number } | null = null;
  const finish = async (p: NonNullable<typeof pending>): Promise<void> => {
    try {
      features.set(await p.read, p.offset);
    } finally {
      runner.release(p.out);
    }
  };
  sink({ type: 'phase', name, total: stream.steps, unit: 'steps' });
  try {
    for (let step = 0; step < stream.steps; step++) {
      const batch = await stream.next();
      let out: Tensor;
      try {
        out = runner.run([batch.x]);
      } finally {
        batch.dispose();
      }
      // Read batch k back while batch k + 1 is decoded and recorded (the read's copy is submitted before the next
      // replay overwrites the step's output).
      const current = { read: out.readF32(), out, offset: batches[step]![0]! * per };
      current.read.catch(() => undefined);
      if (pending) await finish(pending);
      pending = current;
      done += batch.size;
      const el = (performance.now() - t0) / 1000;
      sink({ type: 'progress', name, done: step + 1, total: stream.steps, images: done, elapsed_s: el, images_per_s: done / Math.max(el, 1e-9) });
    }
    if (pending) await finish(pending);
    pending = null;
  } finally {
    stream.close();
    if (pending) runner.release((pending as { out: Tensor }).out);
    runner.dispose();
  }
  return { features, labels, featureShape: [...backbone.featureShape], count: n };
}

export interface ExtractAllOptions {
  backbone: Backbone;
  preprocess: PreprocessMode;
  batchSize: number;
  weightsChecksum: string;
  weightsPath?: string;
  /** Decoder id and interpolation, e.g. `sharp-nearest`. */
  pixels: string;
  /** Where the .npy files and the manifest go. */
  store: RunStore;
  sink?: EventSink;
  /** Extract even when the stored features match. */
  force?: boolean;
}

export interface ExtractAllResult {
  sets: Map<string, FeatureSet>;
  reused: boolean;
  manifest: FeatureManifest;
  /** Images run through the base in this call (0 when reused) and the seconds it took. */
  images: number;
  seconds: number;
}

function sameManifest(a: FeatureManifest, b: FeatureManifest): boolean {
  const strip = (m: FeatureManifest): unknown => ({
    ...m,
    weights_path: undefined,
    splits: Object.fromEntries(Object.entries(m.splits).map(([k, v]) => [k, { count: v.count, classes: v.classes, files_sha256: v.files_sha256 }])),
  });
  return JSON.stringify(strip(a)) === JSON.stringify(strip(b));
}

/**
 * Extracts (or reuses) the features of each split. Reuse needs the stored manifest to match the model, input size,
 * preprocessing, weights checksum and every split's file list and content hashes, and the stored .npy files to hash
 * to what the manifest recorded. The manifest is written last, so an interrupted extraction is never reused.
 */
export async function extractSplits(e: Engine, splits: { name: SplitName; folder: ImageFolder }[], o: ExtractAllOptions): Promise<ExtractAllResult> {
  const sink = o.sink ?? silentSink;
  const manifest: FeatureManifest = {
    format: FORMAT,
    model: o.backbone.name,
    input_size: o.backbone.inputSize,
    preprocess: o.preprocess,
    pixels: o.pixels,
    weights_checksum: o.weightsChecksum,
    ...(o.weightsPath ? { weights_path: o.weightsPath } : {}),
    feature_shape: [...o.backbone.featureShape],
    splits: {},
  };
  for (const s of splits) {
    manifest.splits[s.name] = { root: s.folder.root, count: s.folder.size, classes: [...s.folder.classNames], files_sha256: await folderFingerprint(s.folder) };
  }
  if (!o.force) {
    const stored = await readJson<FeatureManifest>(o.store, MANIFEST_FILE).catch(() => null);
    if (stored && sameManifest(stored, manifest)) {
      const sets = new Map<string, FeatureSet>();
      let intact = true;
      for (const s of splits) {
        const rec = stored.splits[s.name]!;
        const fb = await o.store.read(featureFile(s.name));
        const lb = await o.store.read(labelFile(s.name));
        if (!fb || !lb || (await sha256Hex(fb)) !== rec.features_sha256 || (await sha256Hex(lb)) !== rec.labels_sha256) {
          intact = false;
          break;
        }
        const set = await readFeatureSet(o.store, s.name);
        if (!set) {
          intact = false;
          break;
        }
        sets.set(s.name, set);
      }
      if (intact) {
        sink({ type: 'info', message: `Reusing the features in ${o.store.location} (same images, model, weights and settings)` });
        return { sets, reused: true, manifest: stored, images: 0, seconds: 0 };
      }
    }
  }
  const sets = new Map<string, FeatureSet>();
  const t0 = performance.now();
  let images = 0;
  for (const s of splits) {
    const set = await extractFeatures(e, o.backbone, s.folder, { preprocess: o.preprocess, batchSize: o.batchSize, sink, name: `Extracting ${s.name}` });
    images += set.count;
    const bytes = featureBytes(set);
    await o.store.write(featureFile(s.name), bytes.features);
    await o.store.write(labelFile(s.name), bytes.labels);
    manifest.splits[s.name]!.features_sha256 = await sha256Hex(bytes.features);
    manifest.splits[s.name]!.labels_sha256 = await sha256Hex(bytes.labels);
    sets.set(s.name, set);
    sink({ type: 'info', message: `${s.name}: ${set.count} images → features [${set.count}, ${set.featureShape.join(', ')}]` });
  }
  await writeJson(o.store, MANIFEST_FILE, manifest);
  return { sets, reused: false, manifest, images, seconds: (performance.now() - t0) / 1000 };
}
