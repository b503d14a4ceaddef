// `explain`: Grad-CAM heatmaps of a run's model for image files, platform-neutral like the other jobs (jobs.ts).
// The job computes; the shells (the CLI, the tab) draw the overlays and write or show them.
import { INFERENCE } from '../nn/layer.js';
import type { Engine } from '../engine/index.js';
import { gradCam, gradCamDefaultLayer, gradCamLayers, type GradCamOptions, type GradCamResult } from '../nn/gradcam.js';
import type { Sequential } from '../nn/sequential.js';
import type { PreprocessMode } from '../util/preprocess.js';
import type { RunConfig } from './config.js';
import { classProbabilities } from './fit.js';
import { prepareImages } from './image-input.js';
import type { JobEnv } from './job-env.js';
import { runModelForImages } from './jobs.js';
import { checkBatchFits } from './preflight.js';

export interface ExplainJobOptions {
  from: string;
  images: string[];
  /** A layer of the base with a spatial output (default: its last convolutional block). */
  layer?: string;
  /** The class to explain for every image (default: each image's predicted class). */
  classIndex?: number;
  /** The same by the run's class name (or index as text), checked against the run's classes. */
  className?: string;
  /** Images per Grad-CAM pass (default: the run's batch, at most 8). */
  batch?: number;
}

export interface Explanation {
  file: string;
  /** The predicted class, as `predict` gives it. */
  label: number;
  class: string;
  /** Probability of the predicted class. */
  confidence: number;
  /** Probability of class 1 for a one-logit (sigmoid) model; of the predicted class otherwise. */
  probability: number;
  /** The model's outputs before the sigmoid / softmax. */
  logits: number[];
  /** Probability of every class (two for a one-logit model). */
  probabilities: number[];
  /** The class the heatmap explains (the predicted one unless asked otherwise). */
  explained: number;
  /** Heatmap at the layer's spatial size (height × width), ReLU'd, unnormalised. */
  heatmap: Float32Array;
  height: number;
  width: number;
  /** The heatmap bilinearly resized to the model's input (inputSize × inputSize). */
  upsampled: Float32Array;
}

export interface ExplainJobResult {
  explanations: Explanation[];
  layer: string;
  inputSize: number;
  classes: string[];
  run: string;
  config: RunConfig;
}

/** Layers of a run's model that `explain` accepts, with the default first (builds the model; weights not needed). */
export function explainLayers(model: Parameters<typeof gradCamLayers>[0]): { layers: string[]; defaultLayer: string } {
  return { layers: gradCamLayers(model).map((l) => l.name), defaultLayer: gradCamDefaultLayer(model) };
}

/** Grad-CAM of `count` images given as RGB bytes at `size` × `size`, normalised the way `preprocess` says (no augmentation). */
export async function gradCamOfPixels(e: Engine, model: Sequential, preprocess: PreprocessMode, pixels: Uint8Array, count: number, size: number, o: GradCamOptions = {}): Promise<GradCamResult> {
  const x = e.keep(e.tidy(() => prepareImages(e, e.upload(pixels, [count, size, size, 3], 'u8'), preprocess, { ...INFERENCE, epoch: 0 }, null)));
  try {
    return await gradCam(model, x, o);
  } finally {
    x.dispose();
  }
}

/**
 * Grad-CAM of a run's model on image files. Everything that can fail — reading and decoding every image, the run's
 * model and checkpoint, the layer name — fails before any result exists, so a shell that writes only the results
 * writes nothing on error. The run's files are read, never written.
 */
export async function explainJob(env: JobEnv, o: ExplainJobOptions): Promise<ExplainJobResult> {
  const e = env.engine;
  const { run, config, pixels, model } = await runModelForImages(env, o);
  const size = config.input_size;
  try {
    const classIndex = o.className !== undefined ? resolveClass(o.className, config.classes) : o.classIndex;
    const { layers, defaultLayer } = explainLayers(model);
    const layer = o.layer ?? defaultLayer;
    if (!layers.includes(layer)) throw new Error(`--layer ${layer}: no such layer with a spatial output in the ${config.model} base; choose one of ${layers.join(', ')}`);
    const batch = o.batch ?? Math.min(config.batch, 8);
    checkBatchFits(e, model, [size, size, 3], batch);
    const classes = config.classes.length >= 2 ? [...config.classes] : ['class 0', 'class 1'];
    const explanations: Explanation[] = [];
    const per = size * size * 3;
    for (let s = 0; s < pixels.length; s += batch) {
      const chunk = pixels.slice(s, s + batch);
      const bytes = new Uint8Array(chunk.length * per);
      chunk.forEach((p, k) => bytes.set(p, k * per));
      const r = await gradCamOfPixels(e, model, config.preprocess, bytes, chunk.length, size, { layer, ...(classIndex !== undefined ? { classIndex } : {}) });
      chunk.forEach((_, k) => {
        const row = r.logits.subarray(k * r.outputs, (k + 1) * r.outputs);
        const z = Array.from(row);
        const probs = Array.from(classProbabilities(row, 1).probs);
        const label = probs.reduce((b, v, j) => (v > probs[b]! ? j : b), 0);
        explanations.push({
          file: o.images[s + k]!,
          label,
          class: classes[label] ?? `class ${label}`,
          confidence: probs[label]!,
          probability: z.length === 1 ? probs[1]! : probs[label]!,
          logits: z,
          probabilities: probs,
          explained: r.classIndex[k]!,
          heatmap: r.heatmaps[k]!,
          height: r.height,
          width: r.width,
          upsampled: r.upsampled[k]!,
        });
      });
    }
    return { explanations, layer, inputSize: size, classes, run: run.location, config };
  } finally {
    model.dispose();
  }
}

/** A class of the run by name, or by index given as text; the error lists the run's classes. */
function resolveClass(name: string, classes: readonly string[]): number {
  const byName = classes.indexOf(name);
  if (byName >= 0) return byName;
  const n = Number(name);
  const count = Math.max(classes.length, 2);
  if (name.trim() !== '' && Number.isInteger(n) && n >= 0 && n < count) return n;
  throw new Error(`--class ${name}: not a class of this run; choose one of ${classes.map((c, i) => `${c} (${i})`).join(', ')}`);
}
