// `webgpu-transfer train-head`: recipe 1, the book's classifier trained on extracted features.
import type { Command } from 'commander';
import { featureHeadJob, RECIPE_DEFAULTS } from '../../train/index.js';
import { nodeJobEnv } from '../../train/node.js';
import { addTrainingOptions, checkResumeConflicts, reportRun, withEngine, trainingOverrides, type TrainingFlags } from '../train-common.js';

interface TrainHeadCliOptions extends TrainingFlags {
  features?: string;
  runsDir: string;
  json?: boolean;
}

export function registerTrainHead(program: Command): void {
  const d = RECIPE_DEFAULTS['feature-head'];
  const cmd = program
    .command('train-head')
    .description('recipe 1: train Dense(256, relu) → Dropout(0.5) → Dense(1, sigmoid) on extracted features (by default RMSprop 2e-5, batch 20, 30 epochs)')
    .option('--features <dir>', 'folder written by `extract` (manifest.json and <split>_features.npy / _labels.npy)');
  addTrainingOptions(cmd, d, { pixels: false });
  cmd.action(async (opts: TrainHeadCliOptions, command: Command) => {
    checkResumeConflicts(command, []);
    await withEngine(opts, async (ctx, io) => {
      const r = await featureHeadJob(nodeJobEnv(ctx), {
        ...(opts.features ? { features: opts.features } : {}),
        ...trainingOverrides(opts),
      });
      reportRun(io, r.dir, r.metrics);
    });
  });
}
