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
// ONNX: the reader, the import passes (a static graph of the supported ops) and what `onnx info` reports.
export { parseOnnx, parseOnnxTensor, tensorNumbers, OnnxFormatError, type OnnxModel, type OnnxTensor, type OnnxNode, type OnnxGraph as OnnxFileGraph } from './onnx.js';
export { importOnnx, OnnxImportError, SUPPORTED_OPS, type ImportOptions, type StaticGraph, type StaticNode } from './onnx/index.js';
export { onnxInfo, defaultCut, formatOnnxInfo, type OnnxInfo, type OnnxCut } from './onnx-info.js';
