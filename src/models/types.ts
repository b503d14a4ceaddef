/** Types shared by the backbones (VGG16, SqueezeNet 1.1, MobileNetV2). */
import type { NamedArrays } from '../formats/types.js';
import type { Sequential } from '../nn/sequential.js';
import type { PreprocessMode } from '../util/preprocess.js';

/** Where warnings go (the CLI prints them, the browser shows them); injected so models never print. */
export interface ModelLogger {
  warn(message: string): void;
  info?(message: string): void;
}

/** Input preprocessing a backbone's weights expect ('rescale', 'imagenet' or 'caffe'; see util/preprocess.ts). */
export type Preprocess = PreprocessMode;

/** What `loadWeights` did. `warning` is set (and was sent to the logger) whenever the weights are not pretrained. */
export interface WeightsStatus {
  pretrained: boolean;
  /** Where the weights came from, or 'glorot-uniform(seed N)'. */
  source: string;
  parameters: number;
  warning?: string;
}

export type BuiltinBackboneName = 'vgg16' | 'squeezenet1_1' | 'mobilenet_v2';
/**
 * An ONNX file as the base (any ImageNet CNN; src/models/onnx): its path, with the cut and pooling when they are not
 * the defaults as a fragment (`resnet18.onnx#cut=/layer4/layer4.1/relu_1/Relu&pool=max`), so the one string a run
 * records rebuilds the same base.
 */
export type OnnxModelRef = `${string}.onnx` | `${string}.onnx#${string}`;
export type BackboneName = BuiltinBackboneName | OnnxModelRef;

export function isOnnxModelRef(name: string): name is OnnxModelRef {
  return /\.onnx(#.*)?$/i.test(name);
}

export interface OnnxRefParts {
  path: string;
  cut?: string;
  pool?: string;
}

export function parseOnnxRef(ref: OnnxModelRef): OnnxRefParts {
  const hash = ref.search(/\.onnx#/i);
  if (hash < 0) return { path: ref };
  const path = ref.slice(0, hash + 5);
  const params = new URLSearchParams(ref.slice(hash + 6));
  for (const k of params.keys()) if (k !== 'cut' && k !== 'pool') throw new Error(`model ${ref}: unknown option '${k}' (cut, pool)`);
  return { path, ...(params.has('cut') ? { cut: params.get('cut')! } : {}), ...(params.has('pool') ? { pool: params.get('pool')! } : {}) };
}

export function formatOnnxRef(p: OnnxRefParts): OnnxModelRef {
  const params = new URLSearchParams();
  if (p.cut !== undefined) params.set('cut', p.cut);
  if (p.pool !== undefined) params.set('pool', p.pool);
  const q = params.toString();
  return (q ? `${p.path}#${q}` : p.path) as OnnxModelRef;
}

export interface Backbone {
  name: BackboneName;
  /** The convolutional base, built for `inputSize` (Glorot-initialised until `loadWeights`). */
  model: Sequential;
  inputSize: number;
  /** Output shape without the batch dimension ([4, 4, 512] for VGG16 at 150; [512] / [1280] pooled features). */
  featureShape: number[];
  defaultInputSize: number;
  defaultPreprocess: Preprocess;
  /** The layers a fine-tuning run unfreezes (VGG16: block5_conv1..3). */
  topLayerNames: string[];
  /**
   * The layers to train for `--unfreeze K` (the last K convolutions) or `--trainable-from TENSOR` (every layer from
   * the node that writes it on); bases without a graph (the built-in ones) name their layers instead.
   */
  layersToTrain?(o: { lastConvs?: number; from?: string }): string[];
  /** Where the converted weights are looked for by default, relative to the repository (or served path). */
  defaultWeightsPath: string;
  /**
   * Loads pretrained weights as found in their file (names and layouts of the source; converted here), or keeps the
   * Glorot initialisation when `weights` is null — with a warning through the logger that cannot be missed.
   */
  loadWeights(weights: NamedArrays | null, opts?: { source?: string }): WeightsStatus;
}

/** The banner for a randomly initialised backbone: many lines of capitals, so no log reader can pass over it. */
export function randomWeightsWarning(model: string, expectedPath: string, seed: number): string {
  const bar = '!'.repeat(78);
  return [
    bar,
    `!!! WARNING: NO PRETRAINED WEIGHTS FOR ${model.toUpperCase()} — USING RANDOM (GLOROT-UNIFORM, SEED ${seed}) WEIGHTS.`,
    `!!! Expected the converted ImageNet weights at: ${expectedPath}`,
    '!!! Features from a random base are NOT ImageNet features: accuracies from this run are meaningless',
    '!!! for transfer learning. Use it only for benchmarks and smoke tests.',
    bar,
  ].join('\n');
}
