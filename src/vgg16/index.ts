export { VGG16_BLOCKS, VGG16_DEFAULT_INPUT, VGG16_MIN_INPUT, vgg16Layers, vgg16ConvNames, buildVgg16 } from './model.js';
export { VGG16_WEIGHTS_PATH, VGG16_KERAS_FILE, VGG16_PARAMETERS, kerasWeightName, loadVgg16Weights } from './weights.js';
