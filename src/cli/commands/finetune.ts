// `webgpu-transfer finetune --from RUN`: recipe 3, unfreeze the top of the base and train on at a lower rate.
import type { Command } from 'commander';
import { finetuneJob, RECIPE_DEFAULTS } from '../../train/index.js';
import { nodeJobEnv } from '../../train/node.js';
import { addTrainingOptions, checkResumeConflicts, intOption, layerList, reportRun, withEngine, type ImageRunCliOptions, trainingOverrides } from '../train-common.js';
import { Option } from 'commander';

interface FinetuneCliOptions extends ImageRunCliOptions {
  from?: string;
  unfreeze?: string[] | number;
  trainableFrom?: string;
}

/** `--unfreeze block5_conv1,block5_conv2` names layers; `--unfreeze 4` counts an ONNX base's last convolutions. */
function unfreezeOption(v: string): string[] | number {
  return /^\d+$/.test(v.trim()) ? Number(v) : layerList(v);
}

export function registerFinetune(program: Command): void {
  const d = RECIPE_DEFAULTS.finetune;
  const cmd = program
    .command('finetune')
    .description('recipe 3: start from a run, unfreeze the top layers of the base (VGG16: block5_conv1..3) and train on (by default with RMSprop 1e-5)')
    .option('--from <run>', 'the run to start from (a name under --runs-dir, or a path)')
    .option('--unfreeze <layers|K>', "comma-separated layers of the base to train, or K: an ONNX base's last K convolutions (default: the model's top block)", unfreezeOption)
    .option('--trainable-from <tensor>', 'an ONNX base: train every layer from the node that writes this tensor on')
    .option('--data <dir>', "image folder with train/, validation/ (and test/) (default: the run's)")
    .addOption(new Option('--on-bad-image <mode>', 'a corrupt or unreadable image file: fail or skip').choices(['fail', 'skip']).default('fail'))
    .option('--augment', "the book's random augmentation of training images (the default)", true)
    .option('--no-augment', 'train on the images as they are')
    .option('--steps <n>', `training batches per epoch (default ${d.steps}; 0: one pass)`, intOption('--steps', 0, 1000000))
    .option('--validation-steps <n>', `validation batches per epoch (default ${d.validationSteps}; 0: one pass)`, intOption('--validation-steps', 0, 1000000));
  addTrainingOptions(cmd, d, { classMode: false });
  cmd.action(async (opts: FinetuneCliOptions, command: Command) => {
    checkResumeConflicts(command, []);
    await withEngine(opts, async (ctx, io) => {
      const r = await finetuneJob(nodeJobEnv(ctx), {
        ...(opts.from ? { from: opts.from } : {}),
        ...(opts.unfreeze !== undefined ? { unfreeze: opts.unfreeze } : {}),
        ...(opts.trainableFrom !== undefined ? { trainableFrom: opts.trainableFrom } : {}),
        ...(opts.data ? { data: opts.data } : {}),
        onBadImage: opts.onBadImage,
        augment: opts.augment,
        ...(opts.steps !== undefined ? { steps: opts.steps || null } : {}),
        ...(opts.validationSteps !== undefined ? { validationSteps: opts.validationSteps || null } : {}),
        ...trainingOverrides(opts),
      });
      reportRun(io, r.dir, r.metrics);
    });
  });
}
