// The library's Node-only parts: `import { … } from 'webgpu-transfer/node'` (the rest: `webgpu-transfer`, ./index.ts).
export * from './data/node.js';
export { readBackboneWeights } from './models/weights-node.js';
export { readVgg16Weights } from './models/vgg16-weights-node.js';
export * from './train/node.js';
