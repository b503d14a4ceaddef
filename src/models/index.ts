export * from './types.js';
export { BACKBONE_NAMES, DEFAULT_WEIGHTS_PATHS, createBackbone, isBackboneName, type BackboneOptions } from './registry.js';
export { SQUEEZENET_FIRES, SQUEEZENET_INPUT, SQUEEZENET_CLASSES, squeezeNetFeatureLayers, buildSqueezeNet11, squeezeNetWeightsFromGluon } from './squeezenet1_1.js';
export {
  MOBILENET_V2_GROUPS,
  MOBILENET_V2_INPUT,
  MOBILENET_V2_FEATURES,
  mobileNetV2BlockNames,
  mobileNetV2Layers,
  mobileNetV2TopLayers,
  buildMobileNetV2,
  mobileNetV2WeightsFromOnnx,
} from './mobilenet_v2.js';
