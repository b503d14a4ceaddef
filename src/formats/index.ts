// Weight formats as pure parsers/writers (bytes ↔ named host arrays). Node file helpers live in *-node.ts.
export * from './types.js';
export * from './tensor.js';
export * from './checksum.js';
export * from './detect.js';
export * from './safetensors.js';
export * from './npy.js';
export * from './npy-folder.js';
export * from './keras-h5.js';
export * from './tfjs-layers.js';
