export * from './types.js';
export { VGG16_BLOCKS, VGG16_DEFAULT_INPUT, VGG16_MIN_INPUT, vgg16Layers, vgg16ConvNames, buildVgg16 } from './vgg16.js';
export { VGG16_WEIGHTS_PATH, VGG16_KERAS_FILE, VGG16_PARAMETERS, kerasWeightName, loadVgg16Weights } from './vgg16-weights.js';
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
// Any ONNX CNN as a base (an OnnxModelRef names it: PATH.onnx[#cut=…&pool=…]), and ONNX graphs run on host arrays.
export { createOnnxBackbone, convLayerNames, layersFrom, FEATURE_POOLINGS, type FeaturePooling, type OnnxBackboneOptions } from './onnx/backbone.js';
export { loadOnnxBackbone, type LoadedOnnxBackbone } from './onnx/load.js';
export { onnxGraph, type OnnxGraph, type OnnxGraphOptions } from './onnx/build.js';
export { runOnnx, type HostTensor as OnnxHostTensor } from './onnx/run.js';
