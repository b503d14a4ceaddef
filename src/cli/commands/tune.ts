// `webgpu-transfer tune`: time the GEMM kernel variants on this adapter for the shapes of one model's fine-tuning step
// and cache the winners per adapter (`<cache-dir>/tuning/<adapter>.json`), which every training command then loads.
import type { Command } from 'commander';
import { Engine } from '../../engine/index.js';
import { backboneDefaults } from '../../models/registry.js';
import { BACKBONE_NAMES } from '../../models/registry.js';
import { isOnnxModelRef, type BackboneName } from '../../models/types.js';
import { RECIPE_DEFAULTS, recordFinetuneStep, tuneGemms, type TuneRow } from '../../train/index.js';
import { DEFAULT_CACHE_DIR, defaultModel, NodeTuneStore } from '../../train/node.js';
import { intOption, modelOption, positiveFloat } from '../train-common.js';

interface TuneCliOptions {
  model?: BackboneName;
  inputSize?: number;
  batch?: number;
  quick?: boolean;
  budget?: number;
  retune?: boolean;
  json?: boolean;
  cacheDir: string;
}

/** --quick: a small input, a small batch and a one-minute budget (VGG16's shapes in under two minutes on lavapipe). */
export const QUICK = { inputSize: 32, batch: 2, budgetS: 60, maxReps: 3, candidateMs: 1500, prune: { after: 3, ratio: 1.5 } };
const FULL = { budgetS: 600, maxReps: 10, candidateMs: 2000 };

export function registerTune(program: Command): void {
  program
    .command('tune')
    .description("time the GEMM kernel variants for a model's fine-tuning step on this adapter and cache the fastest per shape class (used by every training command)")
    .option('--model <name>', 'backbone whose shapes to tune (default: as the training commands choose)', modelOption)
    .option('--input-size <n>', `square input size (default: the model's; ${QUICK.inputSize} with --quick)`, intOption('--input-size', 32, 1024))
    .option('--batch <n>', `batch size (default: the fine-tuning recipe's ${RECIPE_DEFAULTS.finetune.batch}; ${QUICK.batch} with --quick)`, intOption('--batch', 1, 65536))
    .option('--quick', `small shapes, a ${QUICK.budgetS} s budget, and a candidate dropped once it won no class and was over ${QUICK.prune.ratio}× slower than the winner in ${QUICK.prune.after}`)
    .option(
      '--budget <seconds>',
      `wall-clock budget from the command's start (recording the step, compiling, timing; at least half of it for timing); a class started is finished, the classes left keep the heuristic (default ${FULL.budgetS}; ${QUICK.budgetS} with --quick)`,
      positiveFloat('--budget', 86400),
    )
    .option('--retune', 'time every shape class again, even those already in the cache')
    .option('--cache-dir <dir>', 'cache root; the tuning file is <dir>/tuning/<adapter>.json', DEFAULT_CACHE_DIR)
    .option('--json', 'print one JSON object per shape class only')
    .action(async (opts: TuneCliOptions) => {
      const t0 = performance.now();
      const name = opts.model ?? defaultModel().name;
      if (isOnnxModelRef(name)) throw new Error(`--model ${name}: tune times the built-in backbones' GEMMs (${BACKBONE_NAMES.join(', ')}); an imported ONNX base uses the heuristic or a tuning cache made for them`);
      const quick = Boolean(opts.quick);
      const inputSize = opts.inputSize ?? (quick ? QUICK.inputSize : backboneDefaults(name).inputSize);
      const batch = opts.batch ?? (quick ? QUICK.batch : RECIPE_DEFAULTS.finetune.batch);
      const log = (m: string): void => void process.stderr.write(`${m}\n`);
      const engine = await Engine.create();
      try {
        const store = NodeTuneStore.forAdapter(opts.cacheDir, engine.info);
        log(`adapter: ${engine.info.description || '(no description)'} (${engine.info.vendor || '-'} ${engine.info.architecture || '-'}); cache ${store.location}`);
        log(`recording the GEMMs of one fine-tuning step: ${name} at ${inputSize}×${inputSize}, batch ${batch} (random weights; timings do not depend on them)`);
        const probes = await recordFinetuneStep(engine, name, inputSize, batch);
        const started = performance.now();
        // The budget runs from the command's start, but timing always gets at least half of it (a cold first run
        // compiles every kernel of the step).
        const budgetMs = (opts.budget ?? (quick ? QUICK.budgetS : FULL.budgetS)) * 1000;
        const rows = await tuneGemms(engine, probes, {
          store,
          logger: { warn: log, info: log },
          budgetMs: Math.max(budgetMs / 2, budgetMs - (performance.now() - t0)),
          maxReps: quick ? QUICK.maxReps : FULL.maxReps,
          candidateMs: quick ? QUICK.candidateMs : FULL.candidateMs,
          retune: Boolean(opts.retune),
          ...(quick ? { prune: QUICK.prune } : {}),
          onRow: (r, i, n) => log(`(${i + 1}/${n}) ${r.shapeClass}: ${r.winner}${r.cached ? ' (cached)' : r.skipped ? ` (${r.skipped}; heuristic)` : ''}`),
        });
        const tuned = rows.filter((r) => !r.cached && !r.skipped).length;
        log(`${probes.length} GEMMs in ${rows.length} shape classes: ${tuned} timed, ${rows.filter((r) => r.cached).length} cached in ${((performance.now() - started) / 1000).toFixed(1)} s`);
        if (opts.json) {
          for (const r of rows) {
            process.stdout.write(
              `${JSON.stringify({
                shape_class: r.shapeClass,
                shape: r.shape,
                gemms: r.count,
                variant: r.winner,
                ms: r.ms,
                cached: r.cached,
                candidates: r.candidates,
                ...(r.skipped ? { skipped: r.skipped } : {}),
              })}\n`,
            );
          }
        } else {
          process.stdout.write(`${formatTuneTable(rows)}\n`);
          process.stdout.write(`cache: ${store.location}\n`);
        }
      } finally {
        if (!engine.lost) engine.destroy();
      }
    });
}

const fmtMs = (ms: number | null): string => (ms === null ? 'failed' : ms >= 100 ? `${ms.toFixed(0)} ms` : ms >= 1 ? `${ms.toFixed(2)} ms` : `${(ms * 1000).toFixed(0)} µs`);

/** The table: one row per shape class, a column per candidate (ms per dispatch), the winner. */
export function formatTuneTable(rows: readonly TuneRow[]): string {
  const variants = [...new Set(rows.flatMap((r) => r.candidates.map((c) => c.variant)))];
  const head = ['shape class', 'gemms', ...variants, 'winner'];
  const body = rows.map((r) => [
    r.shapeClass,
    String(r.count),
    ...variants.map((v) => {
      const c = r.candidates.find((x) => x.variant === v);
      return c ? fmtMs(c.ms) : '-';
    }),
    `${r.winner}${r.cached ? ' (cached)' : r.skipped ? ` (${r.skipped}; heuristic)` : ''}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((s, i) => (i === 0 || i === cells.length - 1 ? s.padEnd(widths[i]!) : s.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
