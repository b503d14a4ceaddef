// Small helpers every layer may use (they import nothing from the project): the seeded generator, preprocessing constants.
export { Rng } from './rng.js';
export { RESCALE, IMAGENET_MEAN, IMAGENET_STD, CAFFE_BGR_MEAN, type PreprocessMode } from './preprocess.js';
