// The nn layer: layers, Sequential, initialisers and the differentiable ops they are made of.
export * as F from './functional/index.js';
export { Layer, INFERENCE, shapeText, type ForwardContext, type BuildContext } from './layer.js';
export * from './layers/index.js';
export { Sequential, type SetWeightsOptions } from './sequential.js';
export { fans, glorotUniform, zeros } from './init.js';
export * from './optim/index.js';
export { BinaryMetrics, CategoricalMetrics, ConfusionMatrix, classificationMetrics, type ClassificationMetrics, type MetricsReading } from './metrics.js';
export { gradCam, gradCamLayers, gradCamDefaultLayer, type GradCamOptions, type GradCamResult } from './gradcam.js';
export { Graph, ParamLayer, type GraphNode, type GraphSpec, type GraphHooks } from './graph.js';
