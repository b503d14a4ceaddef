// `webgpu-transfer explain --from RUN IMAGE…`: Grad-CAM heatmaps — where the run's model finds the predicted class.
import { InvalidArgumentError, type Command } from 'commander';
import { mkdir, readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import sharp from 'sharp';
import { SharpImageDecoder } from '../../data/decoder-node.js';
import { writeFileAtomic } from '../../formats/atomic-node.js';
import { writeNpy } from '../../formats/npy.js';
import { explainJob, heatmapOverlay, type Explanation } from '../../train/index.js';
import { nodeJobEnv } from '../../train/node.js';
import { intOption, NO_REPLAY_HELP, withEngine } from '../train-common.js';

interface ExplainCliOptions {
  from: string;
  layer?: string;
  class?: string;
  out?: string;
  alpha: number;
  batch?: number;
  runsDir: string;
  json?: boolean;
  replay?: boolean;
}

function alphaOption(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError(`--alpha must be a number from 0 to 1, got '${v}'`);
  return n;
}

/** `<stem>.gradcam`, with -2, -3… when two images share a file name. */
function outputStems(files: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return files.map((f) => {
    const stem = basename(f, extname(f));
    const k = (seen.get(stem) ?? 0) + 1;
    seen.set(stem, k);
    return `${k === 1 ? stem : `${stem}-${k}`}.gradcam`;
  });
}

/** The overlay PNG (the image at its own size, the heatmap blended over it) and the raw heatmap as .npy bytes. */
async function renderOutputs(x: Explanation, alpha: number): Promise<{ png: Uint8Array; npy: Uint8Array; width: number; height: number }> {
  const image = await new SharpImageDecoder().decodeRaw(new Uint8Array(await readFile(x.file)), x.file);
  const blended = heatmapOverlay(image, x.heatmap, x.height, x.width, { alpha });
  const png = await sharp(Buffer.from(blended.buffer, blended.byteOffset, blended.byteLength), { raw: { width: image.width, height: image.height, channels: 3 } })
    .png()
    .toBuffer();
  return { png, npy: writeNpy({ shape: [x.height, x.width], data: x.heatmap }), width: image.width, height: image.height };
}

export function registerExplain(program: Command): void {
  program
    .command('explain')
    .description("show where a run's model finds the predicted class: Grad-CAM heatmaps over the images (PNG) and as arrays (.npy)")
    .requiredOption('--from <run>', 'the run whose model to use (a name under --runs-dir, or a path)')
    .argument('<images...>', 'image files')
    .option('--layer <name>', 'the layer of the base to explain (default: its last convolutional block, e.g. block5_conv3, fire9)')
    .option('--class <name>', "explain this class for every image: a class name of the run, or its index (default: each image's predicted class)")
    .option('--out <dir>', "where to write <image>.gradcam.png and <image>.gradcam.npy (default: the run's explain/ folder)")
    .option('--alpha <a>', 'opacity of the heatmap over the image, 0 to 1', alphaOption, 0.4)
    .option('--batch <n>', "images per Grad-CAM pass (default: the run's batch, at most 8)", intOption('--batch', 1, 65536))
    .option('--runs-dir <dir>', 'where run folders are', 'runs')
    .option('--no-replay', NO_REPLAY_HELP)
    .option('--json', 'print one JSON line per image')
    .action(async (images: string[], opts: ExplainCliOptions) => {
      await withEngine(opts, async (ctx, io) => {
        const r = await explainJob(nodeJobEnv(ctx), { from: opts.from, images, ...(opts.layer ? { layer: opts.layer } : {}), ...(opts.class !== undefined ? { className: opts.class } : {}), ...(opts.batch ? { batch: opts.batch } : {}) });
        // Everything is rendered in memory first: a failure here also leaves nothing written.
        const rendered = await Promise.all(r.explanations.map((x) => renderOutputs(x, opts.alpha)));
        const out = opts.out ?? join(r.run, 'explain');
        await mkdir(out, { recursive: true });
        const stems = outputStems(r.explanations.map((x) => x.file));
        const width = Math.max(...r.explanations.map((x) => x.file.length));
        const classWidth = Math.max(...r.classes.map((c) => c.length));
        const c1 = r.classes[1];
        for (const [i, x] of r.explanations.entries()) {
          const png = join(out, `${stems[i]}.png`);
          const npy = join(out, `${stems[i]}.npy`);
          await writeFileAtomic(png, rendered[i]!.png);
          await writeFileAtomic(npy, rendered[i]!.npy);
          // As predict prints it: one logit → the class, its probability and p(class 1); more → the top 3.
          const shown =
            x.logits.length === 1
              ? `${x.class.padEnd(classWidth)}  ${(x.confidence * 100).toFixed(1)}%  (p(${c1}) = ${x.probability.toFixed(4)})`
              : x.probabilities
                  .map((p, k) => ({ p, k }))
                  .sort((a, b) => b.p - a.p)
                  .slice(0, 3)
                  .map((t) => `${(r.classes[t.k] ?? `class ${t.k}`).padEnd(classWidth)} ${(t.p * 100).toFixed(1).padStart(5)}%`)
                  .join('  ');
          io.reporter.say(`${x.file.padEnd(width)}  ${shown}  → ${png}`);
          io.reporter.json({ type: 'explanation', file: x.file, class: x.class, label: x.label, probability: x.probability, explained: x.explained, layer: r.layer, png, npy, heatmap_shape: [x.height, x.width] });
        }
        io.reporter.say(`Grad-CAM at layer ${r.layer} (${r.explanations[0]!.height}×${r.explanations[0]!.width}); heatmaps in ${out}`);
      });
    });
}
