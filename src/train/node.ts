// The Node-only parts of the training API: run folders on disk, PNG plots, the commands as functions.
export { NodeRunStore } from './run-store-node.js';
export { renderHistoryPng } from './plots-node.js';
export {
  extractJob,
  featureHeadJob,
  imageTrainJob,
  finetuneJob,
  evaluateJob,
  predictJob,
  startJob,
  nodeJobEnv,
  readRunConfig,
  findRun,
  newRunDir,
  DEFAULT_DATA,
  type JobContext,
  type ExtractJobOptions,
  type ExtractJobResult,
  type FeatureHeadJobOptions,
  type ImageTrainJobOptions,
  type FinetuneJobOptions,
  type EvaluateJobOptions,
  type StartJobOptions,
  type TrainJobCommon,
  type TrainJobResult,
  type Prediction,
} from './jobs-node.js';
export { loadBackbone, defaultModel, openSplits, openFolder, pixelCache, packageRoot, fromRoot } from './setup-node.js';
