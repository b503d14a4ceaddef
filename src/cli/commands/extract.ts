// `webgpu-transfer extract`: run the frozen base once over train/validation/test and save features + labels as .npy.
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { extractJob } from '../../train/index.js';
import { DEFAULT_DATA, defaultModel, fromRoot, nodeJobEnv } from '../../train/node.js';
import { backboneDefaults, backboneSlug as featureCacheName } from '../../models/registry.js';
import { addDataOptions, addModelOptions, intOption, withEngine, NO_REPLAY_HELP, chosenModel, type ModelFlags } from '../train-common.js';
import type { OnBadImage } from '../../data/image-folder.js';

interface ExtractCliOptions extends ModelFlags {
  data?: string;
  out?: string;
  batch: number;
  onBadImage: OnBadImage;
  force?: boolean;
  seed: number;
  cacheDir: string;
  json?: boolean;
}

export function registerExtract(program: Command): void {
  const cmd = program
    .command('extract')
    .description('run the frozen convolutional base over train/validation/test once and save the features and labels as .npy (reused when images and weights are unchanged)');
  addModelOptions(cmd);
  addDataOptions(cmd);
  cmd
    .option('--out <dir>', 'output folder (default .cache/features/<model>-<size>-<preprocess>)')
    .option('--batch <n>', 'images per forward pass', intOption('--batch', 1, 65536), 20)
    .option('--seed <n>', 'seed of the random base with --random-weights', intOption('--seed', 0, 4294967295), 0)
    .option('--force', 'extract again even when the stored features match')
    .option('--cache-dir <dir>', 'decoded-pixel cache folder', '.cache/pixels')
    .option('--no-replay', NO_REPLAY_HELP)
    .option('--json', 'print machine-readable JSON lines only')
    .action(async (opts: ExtractCliOptions) => {
      const model = chosenModel(opts) ?? defaultModel().name;
      const data = opts.data ?? fromRoot(DEFAULT_DATA);
      await withEngine(opts, async (ctx, io) => {
        const defaults = backboneDefaults(model);
        const size = opts.inputSize ?? defaults.inputSize;
        const preprocess = opts.preprocess ?? defaults.preprocess;
        const out = opts.out ?? resolve('.cache', 'features', `${featureCacheName(model)}-${size}-${preprocess}`);
        const r = await extractJob(nodeJobEnv(ctx), {
          model,
          ...(opts.weights ? { weights: opts.weights } : {}),
          data,
          out,
          inputSize: size,
          preprocess,
          batch: opts.batch,
          onBadImage: opts.onBadImage,
          force: opts.force ?? false,
          seed: opts.seed,
          allowRandom: opts.randomWeights ?? false,
        });
        r.loaded.backbone.model.dispose();
        const shapes = [...r.sets].map(([s, set]) => `${s} [${set.count}, ${set.featureShape.join(', ')}]`).join(', ');
        const how = r.reused ? 'reused (images and weights unchanged)' : `${r.images} images in ${r.seconds.toFixed(1)}s (${(r.images / Math.max(r.seconds, 1e-9)).toFixed(1)} images/s)`;
        io.reporter.say(`Features in ${r.out}: ${shapes}; ${how}`);
        io.reporter.json({
          type: 'done',
          out: r.out,
          model: r.manifest.model,
          reused: r.reused,
          images: r.images,
          seconds: r.seconds,
          splits: Object.fromEntries([...r.sets].map(([s, set]) => [s, { count: set.count, feature_shape: set.featureShape }])),
        });
      });
    });
}
