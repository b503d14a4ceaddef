// `webgpu-transfer predict --from RUN IMAGE…`: class and probability for each image.
import type { Command } from 'commander';
import { predictJob } from '../../train/index.js';
import { nodeJobEnv } from '../../train/node.js';
import { intOption, NO_REPLAY_HELP, withEngine } from '../train-common.js';

interface PredictCliOptions {
  from: string;
  batch?: number;
  runsDir: string;
  json?: boolean;
}

export function registerPredict(program: Command): void {
  program
    .command('predict')
    .description("classify images with a run's model: the class and the probability of the second class (e.g. dog); with more than two classes, the top 3 with their probabilities")
    .requiredOption('--from <run>', 'the run whose model to use (a name under --runs-dir, or a path)')
    .argument('<images...>', 'image files')
    .option('--batch <n>', "images per batch (default: the run's)", intOption('--batch', 1, 65536))
    .option('--runs-dir <dir>', 'where run folders are', 'runs')
    .option('--no-replay', NO_REPLAY_HELP)
    .option('--json', 'print one JSON line per image')
    .action(async (images: string[], opts: PredictCliOptions) => {
      await withEngine(opts, async (ctx, io) => {
        const r = await predictJob(nodeJobEnv(ctx), { from: opts.from, images, ...(opts.batch ? { batch: opts.batch } : {}) });
        const [c0, c1] = r.config.classes;
        const width = Math.max(...r.predictions.map((p) => p.file.length));
        if (r.config.classes.length > 2 || r.predictions[0]?.top.length !== 2 || (r.config.class_mode ?? 'binary') === 'categorical') {
          // Any number of classes: the three most probable, with their probabilities.
          const cw = Math.max(...r.config.classes.map((c) => c.length));
          for (const p of r.predictions) {
            io.reporter.say(`${p.file.padEnd(width)}  ${p.top.map((t) => `${t.class.padEnd(cw)} ${(t.probability * 100).toFixed(1).padStart(5)}%`).join('  ')}`);
            io.reporter.json({ type: 'prediction', file: p.file, class: p.class, label: p.label, probability: p.probability, top: p.top });
          }
          return;
        }
        for (const p of r.predictions) {
          const confidence = p.label === 1 ? p.probability : 1 - p.probability;
          io.reporter.say(`${p.file.padEnd(width)}  ${p.class.padEnd(Math.max(c0?.length ?? 0, c1?.length ?? 0))}  ${(confidence * 100).toFixed(1)}%  (p(${c1}) = ${p.probability.toFixed(4)})`);
          io.reporter.json({ type: 'prediction', file: p.file, class: p.class, label: p.label, probability: p.probability });
        }
      });
    });
}
