// `webgpu-transfer export --from RUN --format onnx|tfjs|all [--out DIR] [--force]`: the run's classifier as ONNX
// (model.onnx) and / or a TF.js layers model (tfjs/), with a README.txt. The files are written into a temporary
// folder beside DIR and renamed into place at the end, so a failure leaves nothing half-written.
import { Option, type Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { EXPORT_FORMATS, exportJob, openRun, type ExportFormat } from '../../train/index.js';
import { nodeJobEnv } from '../../train/node.js';
import { withEngine } from '../train-common.js';

interface ExportCliOptions {
  from: string;
  format: 'onnx' | 'tfjs' | 'all';
  out?: string;
  force?: boolean;
  runsDir: string;
  json?: boolean;
}

/** Why `dir` cannot receive an export (null: it can): a file, or a folder with files unless `force`. */
export async function checkExportDir(dir: string, force: boolean): Promise<string | null> {
  const s = await stat(dir).catch(() => null);
  if (!s) return null;
  if (!s.isDirectory()) return `--out ${dir} is a file, not a folder`;
  if (!force && (await readdir(dir)).length > 0) return `--out ${dir} exists and is not empty (pass --force to replace it)`;
  return null;
}

/**
 * Writes `files` (relative path → bytes) as the folder `dir`: into a temporary sibling first, then renamed into place
 * (an existing `dir` is replaced only once the new one is complete). On failure nothing of the new export remains.
 */
export async function writeExportFolder(dir: string, files: ReadonlyMap<string, Uint8Array>, force: boolean): Promise<void> {
  const why = await checkExportDir(dir, force);
  if (why) throw new Error(why);
  const parent = dirname(dir);
  await mkdir(parent, { recursive: true });
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmp = join(parent, `.${basename(dir)}.tmp-${tag}`);
  const old = join(parent, `.${basename(dir)}.old-${tag}`);
  try {
    for (const [rel, bytes] of files) {
      const path = join(tmp, rel);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, bytes);
    }
    const existing = await stat(dir).catch(() => null);
    if (existing) await rename(dir, old);
    try {
      await rename(tmp, dir);
    } catch (err) {
      if (existing) await rename(old, dir);
      throw err;
    }
    if (existing) await rm(old, { recursive: true, force: true });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description("export a run's classifier (base + head, as trained) to ONNX and/or a TensorFlow.js layers model that take RGB pixels in 0-255 and give probabilities")
    .requiredOption('--from <run>', 'the run to export (a name under --runs-dir, or a path)')
    .addOption(
      new Option('--format <format>', 'onnx: model.onnx; tfjs: tfjs/model.json + shards + metadata.json; all: both (an imported ONNX base exports to onnx only)').choices(['onnx', 'tfjs', 'all']).default('all'),
    )
    .option('--out <dir>', "the folder to write (default: the run's export/ folder)")
    .option('--force', 'replace --out when it exists and is not empty')
    .option('--runs-dir <dir>', 'where run folders are', 'runs')
    .option('--json', 'print one JSON line per file and a final done line')
    .action(async (opts: ExportCliOptions) => {
      await withEngine(opts, async (ctx, io) => {
        const env = nodeJobEnv(ctx);
        const { run } = await openRun(env, opts.from);
        const out = resolve(opts.out ?? join(run.location, 'export'));
        const why = await checkExportDir(out, Boolean(opts.force));
        if (why) throw new Error(why);
        const formats: ExportFormat[] = opts.format === 'all' ? [...EXPORT_FORMATS] : [opts.format];
        const r = await exportJob(env, { from: run.location, formats, readFile: async (p) => new Uint8Array(await readFile(p)) });
        await writeExportFolder(out, r.files, Boolean(opts.force));
        for (const [rel, bytes] of r.files) {
          io.reporter.say(`${join(out, rel)}  ${(bytes.length / 1024).toFixed(1)} KiB`);
          io.reporter.json({ type: 'file', path: join(out, rel), bytes: bytes.length });
        }
        io.reporter.say(`Exported run ${r.run.name} (${r.config.model}, ${r.config.input_size}×${r.config.input_size}, checkpoint epoch ${r.checkpoint.epoch}) to ${out}`);
        io.reporter.json({ type: 'done', out, run: r.run.name, formats, checkpoint: r.checkpoint });
      });
    });
}
