// A run's trained model as a classifier of raw pixels (RGB bytes at the run's input size): class probabilities and
// Grad-CAM heatmaps. The browser tab's predict panel is built on it; `predictJob` and `explainJob` do the same for
// image files.
import type { GradCamOptions, GradCamResult } from '../nn/gradcam.js';
import type { Sequential } from '../nn/sequential.js';
import type { RunConfig } from './config.js';
import { gradCamOfPixels } from './explain-job.js';
import { predictClassProbabilities } from './fit.js';
import { uploadImageBatch } from './image-input.js';
import type { JobEnv, RunHandle } from './job-env.js';
import { loadRunModel, openRun } from './jobs.js';
import { imageForward } from './recipes.js';
import { ScheduledBatches } from './schedule.js';

export interface RunClassifier {
  run: RunHandle;
  config: RunConfig;
  /** The run's model (base + head) with its trained weights. */
  model: Sequential;
  /** Every class's probability per image, images × `classes` row-major (see `classProbabilities`). */
  classProbabilities(pixels: Uint8Array, count: number): Promise<{ probs: Float64Array; classes: number }>;
  /** Grad-CAM of `count` images (default layer: the base's last convolutional block; class: each one's predicted). */
  gradCam(pixels: Uint8Array, count: number, o?: Pick<GradCamOptions, 'layer' | 'classIndex'>): Promise<GradCamResult>;
  dispose(): void;
}

/** The run's model (the base with the weights it was made with, plus its trained tensors), ready to classify pixels. */
export async function openClassifier(env: JobEnv, runRef: string): Promise<RunClassifier> {
  const e = env.engine;
  const { run, config } = await openRun(env, runRef);
  const { model } = await loadRunModel(env, { run, config });
  const forward = imageForward(e, model, config.preprocess, null);
  const size = config.input_size;
  return {
    run,
    config,
    model,
    classProbabilities: (pixels, count) => {
      const host = { images: pixels, labels: new Float32Array(count), indices: Int32Array.from({ length: count }, (_, i) => i), size: count, height: size, width: size };
      const stream = new ScheduledBatches([[0]], async () => host, (h) => uploadImageBatch(e, h));
      return predictClassProbabilities(e, forward, stream);
    },
    gradCam: (pixels, count, o = {}) => gradCamOfPixels(e, model, config.preprocess, pixels, count, size, o),
    dispose: () => model.dispose(),
  };
}
