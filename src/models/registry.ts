/** One entry point for every backbone: `createBackbone('vgg16' | 'squeezenet1_1' | 'mobilenet_v2', engine, opts)`. */
import type { Engine } from '../engine/engine.js';
import { parameterCount } from '../formats/tensor.js';
import type { NamedArrays } from '../formats/types.js';
import type { PreprocessMode } from '../kernels/preprocess.js';
import { buildMobileNetV2, MOBILENET_V2_INPUT, mobileNetV2TopLayers, mobileNetV2WeightsFromOnnx } from './mobilenet_v2.js';
import { buildSqueezeNet11, SQUEEZENET_INPUT, squeezeNetWeightsFromGluon } from './squeezenet1_1.js';
import { isOnnxModelRef, randomWeightsWarning, type Backbone, type BackboneName, type BuiltinBackboneName, type ModelLogger, type WeightsStatus } from './types.js';
import { buildVgg16, VGG16_DEFAULT_INPUT, vgg16ConvNames } from './vgg16.js';
import { loadVgg16Weights, VGG16_WEIGHTS_PATH } from './vgg16-weights.js';

export const BACKBONE_NAMES: readonly BuiltinBackboneName[] = ['vgg16', 'squeezenet1_1', 'mobilenet_v2'];

export interface BackboneOptions {
  /** Square input size; each backbone has its default (VGG16 150, the others 224). */
  inputSize?: number;
  /** Seed of the Glorot initialisation used until weights are loaded. */
  seed?: number;
  /** Receives the warning when a backbone runs without pretrained weights. */
  logger: ModelLogger;
}

export function isBackboneName(name: string): name is BuiltinBackboneName {
  return (BACKBONE_NAMES as readonly string[]).includes(name);
}

/** Default weight locations (relative to the repository root; the npy folders are the shared read-only copies). */
export const DEFAULT_WEIGHTS_PATHS: Record<BuiltinBackboneName, string> = {
  vgg16: VGG16_WEIGHTS_PATH,
  squeezenet1_1: '../shared/weights/squeezenet1_1/weights',
  mobilenet_v2: '../shared/weights/mobilenet_v2/weights',
};

/** What each backbone defaults to, known without building it (the CLI names feature caches after these). */
const DEFAULTS: Record<BuiltinBackboneName, { inputSize: number; preprocess: PreprocessMode }> = {
  vgg16: { inputSize: VGG16_DEFAULT_INPUT, preprocess: 'rescale' },
  squeezenet1_1: { inputSize: SQUEEZENET_INPUT, preprocess: 'imagenet' },
  mobilenet_v2: { inputSize: MOBILENET_V2_INPUT, preprocess: 'imagenet' },
};

export function backboneDefaults(name: BackboneName): { inputSize: number; preprocess: PreprocessMode } {
  // An ONNX base: the ImageNet convention of torchvision and timm exports (its static size, when it has one, wins on load).
  if (isOnnxModelRef(name)) return { inputSize: 224, preprocess: 'imagenet' };
  const d = DEFAULTS[name];
  if (!d) throw new Error(`unknown backbone '${String(name)}'; choose one of ${BACKBONE_NAMES.join(', ')}`);
  return d;
}

function randomStatus(name: string, path: string, seed: number, params: number, logger: ModelLogger): WeightsStatus {
  const warning = randomWeightsWarning(name, path, seed);
  logger.warn(warning);
  return { pretrained: false, source: `glorot-uniform(seed ${seed})`, parameters: params, warning };
}

/** Builds a backbone (Glorot-initialised) ready for `loadWeights`. */
/** A file-name-safe name of a backbone for caches: the name itself, or `onnx-<file>-<hash of the reference>`. */
export function backboneSlug(name: BackboneName): string {
  if (!isOnnxModelRef(name)) return name;
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  const file = name.replace(/#.*$/, '').split(/[\\/]/).pop()!.replace(/\.onnx$/i, '').replace(/[^A-Za-z0-9_.-]/g, '_');
  return `onnx-${file}-${h.toString(16).padStart(8, '0')}`;
}

/** Builds a built-in backbone (an ONNX one is made from its file: src/models/onnx/backbone.ts). */
export function createBackbone(name: BuiltinBackboneName, e: Engine, opts: BackboneOptions): Backbone {
  const seed = opts.seed ?? 0;
  const logger = opts.logger;
  switch (name) {
    case 'vgg16': {
      const inputSize = opts.inputSize ?? DEFAULTS.vgg16.inputSize;
      const model = buildVgg16(e, { inputSize, seed });
      return {
        name,
        model,
        inputSize,
        featureShape: [...model.outputShape!],
        defaultInputSize: DEFAULTS.vgg16.inputSize,
        defaultPreprocess: DEFAULTS.vgg16.preprocess,
        topLayerNames: vgg16ConvNames().filter((n) => n.startsWith('block5_')),
        defaultWeightsPath: DEFAULT_WEIGHTS_PATHS.vgg16,
        loadWeights: (weights, o = {}) => loadVgg16Weights(model, weights, { logger, seed, ...(o.source ? { source: o.source } : {}) }),
      };
    }
    case 'squeezenet1_1': {
      const inputSize = opts.inputSize ?? DEFAULTS.squeezenet1_1.inputSize;
      const model = buildSqueezeNet11(e, { inputSize, seed, includeTop: false });
      return {
        name,
        model,
        inputSize,
        featureShape: [...model.outputShape!],
        defaultInputSize: DEFAULTS.squeezenet1_1.inputSize,
        defaultPreprocess: DEFAULTS.squeezenet1_1.preprocess,
        topLayerNames: ['fire8', 'fire9'],
        defaultWeightsPath: DEFAULT_WEIGHTS_PATHS.squeezenet1_1,
        loadWeights: (weights, o = {}) => load(name, model, weights, (w) => squeezeNetWeightsFromGluon(w), o.source, seed, logger),
      };
    }
    case 'mobilenet_v2': {
      const inputSize = opts.inputSize ?? DEFAULTS.mobilenet_v2.inputSize;
      const model = buildMobileNetV2(e, { inputSize, seed });
      return {
        name,
        model,
        inputSize,
        featureShape: [...model.outputShape!],
        defaultInputSize: DEFAULTS.mobilenet_v2.inputSize,
        defaultPreprocess: DEFAULTS.mobilenet_v2.preprocess,
        topLayerNames: mobileNetV2TopLayers(),
        defaultWeightsPath: DEFAULT_WEIGHTS_PATHS.mobilenet_v2,
        loadWeights: (weights, o = {}) => load(name, model, weights, mobileNetV2WeightsFromOnnx, o.source, seed, logger),
      };
    }
    default:
      throw new Error(`unknown backbone '${String(name)}'; choose one of ${BACKBONE_NAMES.join(', ')}`);
  }
}

function load(
  name: BuiltinBackboneName,
  model: Backbone['model'],
  weights: NamedArrays | null,
  convert: (w: NamedArrays) => NamedArrays,
  source: string | undefined,
  seed: number,
  logger: ModelLogger,
): WeightsStatus {
  if (!weights) return randomStatus(name, source ?? DEFAULT_WEIGHTS_PATHS[name], seed, model.countParams(), logger);
  const converted = convert(weights);
  model.setWeights(converted, source ? { source } : {});
  return { pretrained: true, source: source ?? 'named arrays', parameters: parameterCount(converted) };
}
