// ONNX import passes (pure graph transforms on a parsed model); the parser itself is ../onnx.ts.
export * from './ops.js';
export { importOnnx, parameterInputs, unsupportedNodes, checkOpset, PARAMETER_SLOTS, type ImportOptions } from './import.js';
export { canonicalize, broadcastShapes, type ShapeContext, type Canonical } from './shape.js';
export { makeTensor } from './fold.js';
