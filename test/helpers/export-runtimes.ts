// The tab's exported models run by their own runtimes (onnxruntime-node, tf.loadLayersModel) on the pixels the tab
// decoded, to compare with the tab's probabilities.
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { expect } from 'vitest';

/** The pixels the tab decoded for a probe image and its model's probabilities of them (`window.__probe`). */
export type Probe = { pixels: number[]; probs: number[]; classes: number; inputSize: number };

export async function onnxProbs(bytes: Uint8Array, p: Probe): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ image: new ort.Tensor('float32', Float32Array.from(p.pixels), [1, p.inputSize, p.inputSize, 3]) });
  await session.release();
  return out['probabilities']!.data as Float32Array;
}

export async function tfjsProbs(files: Record<string, Uint8Array>, p: Probe): Promise<Float32Array> {
  const json = JSON.parse(new TextDecoder().decode(files['tfjs/model.json']!)) as { modelTopology: object; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[]; format: string };
  const group = json.weightsManifest[0]!;
  const parts = group.paths.map((path) => files[`tfjs/${path}`]!);
  const all = new Uint8Array(parts.reduce((a, b) => a + b.length, 0));
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  const model = await tf.loadLayersModel({ load: async () => ({ modelTopology: json.modelTopology, weightSpecs: group.weights, weightData: all.buffer, format: json.format }) });
  const x = tf.tensor4d(Float32Array.from(p.pixels), [1, p.inputSize, p.inputSize, 3]);
  const y = model.predict(x) as tf.Tensor;
  const out = (await y.data()) as Float32Array;
  tf.dispose([x, y]);
  model.dispose();
  return out;
}

/**
 * The sigmoid head's p(class 1), as the exports give it ([N, 1]), against the tab's [1 − p, p]: the absolute
 * difference (also checked relative to the smaller of p and 1 − p, so that a saturated probability hides nothing
 * beyond float32's resolution).
 */
export function binaryDiff(tab: Probe, theirs: Float32Array): number {
  expect(tab.classes).toBe(2);
  expect(theirs.length).toBe(1);
  const p = tab.probs[1]!;
  const d = Math.abs(theirs[0]! - p);
  // float32 holds a probability near 1 only to 2^-24 (and the exports compute in float32): that much is allowed on top.
  expect(d, `relative: ${theirs[0]} vs the tab's ${p}`).toBeLessThan(1e-3 * Math.min(p, 1 - p) + 2 ** -23);
  return d;
}
