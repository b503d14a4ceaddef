// `webgpu-transfer train --augment`: recipe 2, frozen base + head trained end to end on augmented images.
import type { Command } from 'commander';
import { imageTrainJob, RECIPE_DEFAULTS } from '../../train/index.js';
import { DEFAULT_DATA, defaultModel, fromRoot, nodeJobEnv } from '../../train/node.js';
import { addDataOptions, addModelOptions, addTrainingOptions, checkResumeConflicts, intOption, reportRun, withEngine, type ImageRunCliOptions, type ModelFlags, trainingOverrides, chosenModel } from '../train-common.js';

type TrainCliOptions = ImageRunCliOptions & ModelFlags;

export function registerTrain(program: Command): void {
  const d = RECIPE_DEFAULTS.augment;
  const cmd = program
    .command('train')
    .description('recipe 2: frozen base + Flatten (or global average pooling) + Dense(256, relu) + Dense(1, sigmoid), trained on images augmented on the GPU')
    .option('--augment', "the book's random augmentation of training images (the default)", true)
    .option('--no-augment', 'train on the images as they are')
    .option('--steps <n>', `training batches per epoch (default ${d.steps}; 0: one pass over train/)`, intOption('--steps', 0, 1000000))
    .option('--validation-steps <n>', `validation batches per epoch (default ${d.validationSteps}; 0: one pass over validation/)`, intOption('--validation-steps', 0, 1000000));
  addModelOptions(cmd);
  addDataOptions(cmd);
  addTrainingOptions(cmd, d);
  cmd.action(async (opts: TrainCliOptions, command: Command) => {
    checkResumeConflicts(command, []);
    const model = chosenModel(opts) ?? defaultModel().name;
    await withEngine(opts, async (ctx, io) => {
      const r = await imageTrainJob(nodeJobEnv(ctx), {
        model,
        ...(opts.weights ? { weights: opts.weights } : {}),
        data: opts.data ?? fromRoot(DEFAULT_DATA),
        ...(opts.inputSize ? { inputSize: opts.inputSize } : {}),
        ...(opts.preprocess ? { preprocess: opts.preprocess } : {}),
        ...(opts.steps !== undefined ? { steps: opts.steps || null } : {}),
        ...(opts.validationSteps !== undefined ? { validationSteps: opts.validationSteps || null } : {}),
        augment: opts.augment,
        onBadImage: opts.onBadImage,
        allowRandom: opts.randomWeights ?? false,
        ...trainingOverrides(opts),
      });
      reportRun(io, r.dir, r.metrics);
    });
  });
}
