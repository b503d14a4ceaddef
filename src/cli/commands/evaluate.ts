// `webgpu-transfer evaluate --from RUN --data DIR`: loss and accuracy of a trained run on a folder of images.
import { Option, type Command } from 'commander';
import type { OnBadImage } from '../../data/image-folder.js';
import { evaluateJob, formatClassReport, reportJson, type SplitName } from '../../train/index.js';
import { nodeJobEnv } from '../../train/node.js';
import { f4, intOption, NO_REPLAY_HELP, withEngine } from '../train-common.js';

interface EvaluateCliOptions {
  from: string;
  data?: string;
  split: SplitName;
  batch?: number;
  onBadImage: OnBadImage;
  runsDir: string;
  cacheDir: string;
  json?: boolean;
}

export function registerEvaluate(program: Command): void {
  program
    .command('evaluate')
    .description("loss, accuracy, per-class precision and recall and the confusion matrix of a run's model on a folder of images (one sub-folder per class)")
    .requiredOption('--from <run>', 'the run to evaluate (a name under --runs-dir, or a path)')
    .option('--data <dir>', "a dataset root (its --split sub-folder is used) or a folder of class sub-folders (default: the run's data)")
    .addOption(new Option('--split <name>', 'which sub-folder of a dataset root').choices(['train', 'validation', 'test']).default('test'))
    .option('--batch <n>', "images per batch (default: the run's)", intOption('--batch', 1, 65536))
    .addOption(new Option('--on-bad-image <mode>', 'a corrupt or unreadable image file: fail or skip').choices(['fail', 'skip']).default('fail'))
    .option('--runs-dir <dir>', 'where run folders are', 'runs')
    .option('--cache-dir <dir>', 'decoded-pixel cache folder', '.cache/pixels')
    .option('--no-replay', NO_REPLAY_HELP)
    .option('--json', 'print machine-readable JSON lines only')
    .action(async (opts: EvaluateCliOptions) => {
      await withEngine(opts, async (ctx, io) => {
        const r = await evaluateJob(nodeJobEnv(ctx), {
          from: opts.from,
          ...(opts.data ? { data: opts.data } : {}),
          split: opts.split,
          ...(opts.batch ? { batch: opts.batch } : {}),
          onBadImage: opts.onBadImage,
        });
        io.reporter.say(`${r.folder}: ${r.count} images - loss: ${f4(r.loss)} - acc: ${f4(r.acc)}${r.top5_acc !== undefined ? ` - top-5 acc: ${f4(r.top5_acc)}` : ''}`);
        for (const line of formatClassReport(r.report)) io.reporter.say(line);
        io.reporter.json({ type: 'done', run: r.run, folder: r.folder, count: r.count, loss: r.loss, acc: r.acc, ...(r.top5_acc !== undefined ? { top5_acc: r.top5_acc } : {}), ...reportJson(r.report) });
      });
    });
}
