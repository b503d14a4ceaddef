// The Node-only parts of the training API: run folders on disk, PNG plots, the commands as functions.
export { NodeRunStore } from './run-store-node.js';
export { renderHistoryPng, renderConfusionPng } from './plots-node.js';
// The jobs themselves are platform-neutral (src/train/jobs.ts, exported by the package root): on Node give them
// `nodeJobEnv({ engine, runsDir, … })`, e.g. `featureHeadJob(nodeJobEnv({ engine }), { features, epochs })`.
export { nodeJobEnv, findRun, newRunDir, DEFAULT_DATA, type JobContext } from './jobs-node.js';
// `npm start` on Node: startJob with the default data (../shared's cats and dogs) and feature cache (.cache/features).
export { startJob as nodeStartJob, type StartJobOptions as NodeStartJobOptions } from './jobs-node.js';

export { loadBackbone, defaultModel, openSplits, openFolder, pixelCache, packageRoot, fromRoot } from './setup-node.js';
// The per-adapter GEMM tuning cache on disk (`<cache-dir>/tuning/<adapter>.json`, see ./tuning.ts).
export { NodeTuneStore, tuneCachePath, DEFAULT_CACHE_DIR } from '../kernels/tuner-node.js';
