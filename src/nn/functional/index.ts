export { maxPool2d, globalAvgPool } from './pool.js';
export { relu, sigmoid, add } from './activations.js';
export { concatChannels } from './concat.js';
export { dropout } from './dropout.js';
export { bceWithLogits } from './loss.js';
export { depthwiseConv2d, relu6, type DepthwiseActivation } from './depthwise.js';
