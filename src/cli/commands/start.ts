// `webgpu-transfer start` (npm start): feature extraction on the default model and data, then the book's head.
import type { Command } from 'commander';
import type { OnBadImage } from '../../data/image-folder.js';
import { jsonSafe, RECIPE_DEFAULTS } from '../../train/index.js';
import { defaultModel, nodeStartJob } from '../../train/node.js';
import { formatDuration } from '../progress.js';
import { addDataOptions, addModelOptions, addTrainingOptions, chosenModel, pct, reportRun, withEngine, trainingOverrides, type ModelFlags, type TrainingFlags } from '../train-common.js';

interface StartCliOptions extends ModelFlags, Omit<TrainingFlags, 'resume'> {
  data?: string;
  onBadImage: OnBadImage;
  features?: string;
  runsDir: string;
  cacheDir: string;
  json?: boolean;
}

export function registerStart(program: Command): void {
  const cmd = program
    .command('start')
    .description('the main job: extract features with the default model (VGG16 if its weights are in weights/, else SqueezeNet 1.1) and train the book\'s head; prints validation and test accuracy');
  addModelOptions(cmd);
  addDataOptions(cmd);
  cmd.option('--features <dir>', 'feature cache folder (default .cache/features/<model>-<size>-<preprocess>)');
  addTrainingOptions(cmd, RECIPE_DEFAULTS['feature-head'], { resume: false });
  cmd.action(async (opts: StartCliOptions) => {
    const asked = chosenModel(opts);
    const chosen = asked ? { name: asked, reason: 'chosen with --model' } : defaultModel();
    await withEngine(opts, async (ctx, io) => {
      io.reporter.say(`Model: ${chosen.name} (${chosen.reason})`);
      io.reporter.json({ type: 'model', model: chosen.name, reason: chosen.reason });
      const r = await nodeStartJob(ctx, {
        model: chosen.name,
        ...(opts.weights ? { weights: opts.weights } : {}),
        ...(opts.data ? { data: opts.data } : {}),
        ...(opts.inputSize ? { inputSize: opts.inputSize } : {}),
        ...(opts.preprocess ? { preprocess: opts.preprocess } : {}),
        ...(opts.features ? { featuresDir: opts.features } : {}),
        onBadImage: opts.onBadImage,
        allowRandom: opts.randomWeights ?? false,
        ...trainingOverrides(opts),
      });
      const m = r.metrics;
      if (!opts.json) {
        reportRun(io, r.dir, m);
        const total = typeof m.total_wall_s === 'number' ? m.total_wall_s : NaN;
        io.reporter.say(
          `Validation accuracy: ${pct(m.val_acc as number)} - test accuracy: ${pct(m.test_acc as number)} ` +
            `(${chosen.name}, ${r.config.input_size}×${r.config.input_size}, ${r.config.epochs} epochs; ${formatDuration(total)} in all, ` +
            `feature extraction ${r.extract.reused ? 'reused' : formatDuration(r.extract.seconds)})`,
        );
      } else io.reporter.json({ type: 'done', run: r.dir, metrics: jsonSafe(m) });
    });
  });
}
