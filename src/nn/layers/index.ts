export { Conv2D, type Conv2DOptions, type ConvActivation } from './conv2d.js';
export { DepthwiseConv2D, type DepthwiseConv2DOptions } from './depthwise-conv2d.js';
export { Dense, type DenseActivation } from './dense.js';
export { MaxPool2D, GlobalAveragePooling2D } from './pooling.js';
export { Flatten, Dropout, ZeroPadding2D } from './reshape.js';
export { Concatenate } from './concatenate.js';
export { Fire, type FireOptions } from './fire.js';
export { InvertedResidual, type InvertedResidualOptions } from './inverted-residual.js';
