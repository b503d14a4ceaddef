// The training API, platform-neutral (the Node-only parts are in ./node.ts). It is the one door into src/train for
// the shells: src/cli and web/ import train from here (or ./node.ts), never its modules, nor src/nn or src/kernels
// (test/architecture.test.ts holds them to it).
export { fit, evaluate, predictLogits, predictClassProbabilities, classProbabilities, outputUnits, StepPacer, DivergenceError, type FitOptions } from './fit.js';
export { runTraining, jsonSafe, TrainingStoppedError, CONFIG_FILE, HISTORY_FILE, METRICS_FILE, ACCURACY_PLOT, LOSS_PLOT, type RunIO, type TrainingPlan, type RunHooks, type RunOutcome } from './run.js';
export { featureHeadPlan, imagePlan, imageBatches, imageForward, RECIPE_DEFAULTS, type RecipeName, type FeatureHeadOptions, type ImageRecipeOptions } from './recipes.js';
export { buildFeatureHead, buildTransferModel, headLayers, layerContext, forwardLogits, HEAD_UNITS, HEAD_DROPOUT } from './model.js';
export { extractFeatures, extractSplits, folderFingerprint, MANIFEST_FILE, type FeatureManifest, type ExtractAllOptions, type ExtractAllResult } from './extract.js';
export { featureBatches, readFeatureSet, featureBytes, featureFile, labelFile, SPLITS, type FeatureSet, type SplitName } from './features.js';
export { uploadImageBatch, prepareImages, augmentMatrices, augmentedCopies } from './image-input.js';
export { epochBatchIndices, stepsPerPass, ScheduledBatches, type ScheduleOptions } from './schedule.js';
export { epochOrder, STREAM } from './seeds.js';
export type { Batch, BatchStream, ForwardFn } from './batches.js';
export { CHECKPOINT_FILE, snapshotCheckpoint, parseCheckpoint, restoreCheckpoint, assertResumable, nextEpochRngState, restoreTensors, tensorsByName, type Checkpoint, type CheckpointState } from './checkpoint.js';
export { emptyHistory, appendEpoch, historyLength, parseHistory, smoothCurve, type History, type EpochLogs } from './history.js';
export { historyChartConfig, SMOOTHING_FACTOR, type PlotKind, type PlotRenderer } from './plots.js';
export { MemoryRunStore, readJson, writeJson, type RunStore } from './store.js';
export { silentSink, throttledProgress, type TrainEvent, type EventSink } from './events.js';
export { BatchTooLargeError, checkBatchFits, largestActivation, maxBatchFor, bufferLimit } from './preflight.js';
export { parseRunConfig, resolveClassMode, headOutputs, CLASS_MODES, type RunConfig, type ClassMode } from './config.js';
export { classReport, formatClassReport, reportJson, CONFUSION_PLOT, type ClassReport, type ClassResult, type ConfusionRenderer } from './report.js';
export { newRunConfig, type RecipeSettings } from './config.js';
export { OPTIMIZER_NAMES, type OptimizerName, type OptimizerConfig, type RmspropConfig, type AdamConfig } from './optimizer-config.js';
export {
  extractJob,
  featureHeadJob,
  imageTrainJob,
  finetuneJob,
  evaluateJob,
  predictJob,
  startJob,
  buildRunModel,
  restoreRunWeights,
  readRunConfig,
  openRun,
  loadRunModel,
  type BackboneChoice,
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
} from './jobs.js';
export type { JobEnv, RunHandle, RunRepository, DatasetSource, BackboneSource, BackboneOptions as BackboneLoadOptions, LoadedBackbone, FolderOptions } from './job-env.js';
export { MemoryJobEnv, MemoryRunRepository, type MemoryDataset, type MemoryWeights, type MemoryJobEnvOptions } from './job-env-memory.js';
export { StepRunner } from './step-runner.js';
export { openClassifier, type RunClassifier } from './classifier.js';
export { gemmTuningReport, recordFinetuneStep, loadGemmTuning, tuneGemms, LocalStorageTuneStore, type GemmTuningReport, type TuneStore, type TuneRow, type TuneOptions, type TuneCacheState } from './tuning.js';
export { explainJob, explainLayers, gradCamOfPixels, type ExplainJobOptions, type ExplainJobResult, type Explanation } from './explain-job.js';
export { heatmapOverlay, normaliseHeatmap, resizeMap, viridis, type OverlayImage } from './heatmap.js';
export { exportJob, exportGraphOf, preprocessMap, EXPORT_FORMATS, ONNX_FILE, TFJS_DIR, EXPORT_README, TFJS_TARGET_VERSION, type ExportFormat, type ExportJobOptions, type ExportJobResult, type ExportLineage } from './export.js';
