// The library: `import { … } from 'webgpu-transfer'`.
export * from './engine/index.js';
export * from './data/index.js';
export * as formats from './formats/index.js';
