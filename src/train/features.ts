import type { Engine } from '../engine/index.js';
import { parseNpy, writeNpy } from '../formats/npy.js';
import type { Batch, BatchStream } from './batches.js';
import { epochBatchIndices, ScheduledBatches } from './schedule.js';
import type { RunStore } from './store.js';

/** Extracted features of one split: `features` is count × prod(featureShape), row-major; labels are class indices (0/1 for two classes). */
export interface FeatureSet {
  features: Float32Array;
  labels: Float32Array;
  featureShape: number[];
  count: number;
}

export const SPLITS = ['train', 'validation', 'test'] as const;
export type SplitName = (typeof SPLITS)[number];

export const featureFile = (split: string): string => `${split}_features.npy`;
export const labelFile = (split: string): string => `${split}_labels.npy`;

export function featureBytes(set: FeatureSet): { features: Uint8Array; labels: Uint8Array } {
  return {
    features: writeNpy({ shape: [set.count, ...set.featureShape], data: set.features }),
    labels: writeNpy({ shape: [set.count], data: set.labels }),
  };
}

/** Reads `<split>_features.npy` and `<split>_labels.npy` (class indices below `classes`, default 2); null when either is missing. */
export async function readFeatureSet(store: RunStore, split: string, classes = 2): Promise<FeatureSet | null> {
  const fb = await store.read(featureFile(split));
  const lb = await store.read(labelFile(split));
  if (!fb || !lb) return null;
  const f = parseNpy(fb, store.describe(featureFile(split)));
  const l = parseNpy(lb, store.describe(labelFile(split)));
  if (!(f.data instanceof Float32Array)) throw new Error(`${store.describe(featureFile(split))}: features must be float32`);
  if (f.shape.length < 2) throw new Error(`${store.describe(featureFile(split))}: expected shape [N, ...], got [${f.shape.join(', ')}]`);
  const count = f.shape[0]!;
  const labels = l.data instanceof Float32Array ? l.data : Float32Array.from(l.data as ArrayLike<number>, Number);
  if (l.shape.length !== 1 || l.shape[0] !== count) {
    throw new Error(`${store.describe(labelFile(split))}: expected ${count} labels (shape [${count}]), got [${l.shape.join(', ')}]`);
  }
  for (const v of labels) {
    if (!(Number.isInteger(v) && v >= 0 && v < classes)) {
      throw new Error(`${store.describe(labelFile(split))}: labels must be class indices ${classes === 2 ? '0 or 1' : `0 … ${classes - 1}`}, found ${v}`);
    }
  }
  return { features: f.data, labels, featureShape: f.shape.slice(1), count };
}

/** Batches of a feature set, uploaded per batch (a few hundred KB), reshuffled per epoch when `shuffle`. */
export function featureBatches(
  e: Engine,
  set: FeatureSet,
  o: { batchSize: number; shuffle: boolean; seed: number; epoch?: number; steps?: number },
): BatchStream {
  const per = set.featureShape.reduce((a, d) => a * d, 1);
  const batches = epochBatchIndices({ size: set.count, batchSize: o.batchSize, shuffle: o.shuffle, seed: o.seed, epoch: o.epoch ?? 0, ...(o.steps ? { steps: o.steps } : {}) });
  return new ScheduledBatches(
    batches,
    async (indices) => {
      const x = new Float32Array(indices.length * per);
      const y = new Float32Array(indices.length);
      indices.forEach((idx, k) => {
        x.set(set.features.subarray(idx * per, (idx + 1) * per), k * per);
        y[k] = set.labels[idx]!;
      });
      return { x, y, n: indices.length };
    },
    (h): Batch => {
      const x = e.keep(e.upload(h.x, [h.n, ...set.featureShape]));
      const y = e.keep(e.upload(h.y, [h.n]));
      return {
        x,
        y,
        size: h.n,
        dispose: () => {
          x.dispose();
          y.dispose();
        },
      };
    },
  );
}
