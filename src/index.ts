// The library: `import { … } from 'webgpu-transfer'`. Browser-safe: nothing reachable from here imports Node
// modules (node:*, sharp, fs); the Node-only parts are in ./node.ts (`webgpu-transfer/node`).
export * from './util/index.js';
export * from './engine/index.js';
export * from './data/index.js';
export * as formats from './formats/index.js';
export * from './nn/index.js';
export * from './models/index.js';
export * from './train/index.js';
// Per-adapter GEMM tuning: record a step's GEMMs, time the kernel variants, cache the winners (src/kernels/tuner.ts;
// loading, timing and reporting it come with the training API, src/train/tuning.ts).
export { startGemmProbes, stopGemmProbes, chooseGemmVariant, forceGemmVariant, setGemmTuning, gemmTuning, heuristicVariant, shapeClass, GEMM_VARIANTS, type GemmVariant, type GemmShape, type GemmProbe } from './kernels/gemm-variant.js';
export { readTuneCache, adapterKey } from './kernels/tuner.js';
// Winograd on or off for an engine's 3×3 stride-1 convolutions (initially `Engine.create({ winograd })`).
export { setWinograd, winogradEnabled } from './kernels/winograd.js';
