// The library: `import { … } from 'webgpu-transfer'`. Browser-safe: nothing reachable from here imports Node
// modules (node:*, sharp, fs); the Node-only parts are in ./node.ts (`webgpu-transfer/node`).
export * from './util/index.js';
export * from './engine/index.js';
export * from './data/index.js';
export * as formats from './formats/index.js';
export * from './nn/index.js';
export * from './models/index.js';
export * from './train/index.js';
