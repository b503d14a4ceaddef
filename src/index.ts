// The library: `import { … } from 'webgpu-transfer'`.
export * from './engine/index.js';
export * from './data/index.js';
export * as formats from './formats/index.js';
export * from './nn/index.js';
export * from './models/index.js';
export * from './vgg16/index.js';
export * from './train/index.js';
export * from './train/node.js';
