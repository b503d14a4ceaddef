// `explain` on a real SqueezeNet 1.1 run made by `start`'s recipe (ImageNet weights, tiny subset at 64×64).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNpy } from '../src/formats/npy.js';
import { bundleCli, runCli, type CliRun } from './helpers/cli.js';
import { makeTinyDataset } from './helpers/train-data.js';

let cli = '';
let removeCli: (() => Promise<void>) | undefined;
let dir = '';

const run = (args: string[]): Promise<CliRun> => runCli(cli, args, dir);
const sha = async (file: string): Promise<string> => createHash('sha256').update(await readFile(file)).digest('hex');
const IMAGES = ['data/test/cats/cat.1500.jpg', 'data/test/dogs/dog.1500.jpg', 'data/test/dogs/dog.1501.jpg'];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-explain-'));
  await makeTinyDataset(join(dir, 'data'), { train: 4, validation: 2, test: 2 });
  const bundled = await bundleCli('cli-explain-test');
  cli = bundled.cli;
  removeCli = bundled.remove;
  const r = await run(['start', '--model', 'squeezenet1_1', '--data', 'data', '--input-size', '64', '--epochs', '2', '--batch', '4', '--features', 'feats', '--name', 's', '--cache-dir', 'pixels']);
  if (r.code !== 0) throw new Error(`start failed: ${r.stderr}`);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await removeCli?.();
});

describe('explain (spawned CLI, SqueezeNet 1.1 run at 64×64)', () => {
  it('has --help', async () => {
    const r = await run(['explain', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--layer <name>[\s\S]*--out <dir>[\s\S]*--alpha <a>/);
  });

  it('writes an overlay PNG at each image’s own size and the raw heatmap, prints what predict prints, and leaves the weights bit-identical', async () => {
    const ckpt = join(dir, 'runs', 's', 'checkpoint.safetensors');
    const before = await sha(ckpt);
    const r = await run(['explain', '--from', 's', ...IMAGES, '--out', 'cam']);
    expect(r.code, r.stderr).toBe(0);
    expect(await sha(ckpt)).toBe(before);
    const pr = await run(['predict', '--from', 's', ...IMAGES]);
    expect(pr.code, pr.stderr).toBe(0);
    const rows = r.stdout.trimEnd().split('\n');
    expect(rows).toHaveLength(IMAGES.length + 1);
    expect(rows[IMAGES.length]).toMatch(/^Grad-CAM at layer fire9 \(3×3\); heatmaps in cam$/);
    pr.stdout
      .trimEnd()
      .split('\n')
      .forEach((line, i) => {
        // The same file, class and confidence as predict (the same model and pixels).
        const head = (s: string): string[] => /^(\S+) +(\S+) +(\d+\.\d%)/.exec(s)?.slice(1) ?? [s];
        expect(head(rows[i]!)).toEqual(head(line));
        expect(rows[i]).toMatch(/ +→ cam\/(cat|dog)\.\d+\.gradcam\.png$/);
      });
    expect((await readdir(join(dir, 'cam'))).sort()).toEqual(IMAGES.flatMap((f) => [`${f.split('/').pop()!.replace('.jpg', '')}.gradcam.npy`, `${f.split('/').pop()!.replace('.jpg', '')}.gradcam.png`]).sort());
    for (const f of IMAGES) {
      const stem = f.split('/').pop()!.replace('.jpg', '');
      const original = await sharp(join(dir, f)).metadata();
      const png = await sharp(join(dir, 'cam', `${stem}.gradcam.png`)).raw().toBuffer({ resolveWithObject: true });
      expect([png.info.width, png.info.height, png.info.channels]).toEqual([original.width, original.height, 3]);
      const heat = parseNpy(new Uint8Array(await readFile(join(dir, 'cam', `${stem}.gradcam.npy`))));
      expect(heat.shape).toEqual([3, 3]);
      expect(Array.from(heat.data as Float32Array).every((v) => Number.isFinite(v) && v >= 0)).toBe(true);
      // The overlay differs from the image (the heatmap is there) but keeps its content (alpha 0.4).
      const raw = await sharp(join(dir, f)).removeAlpha().raw().toBuffer();
      let diff = 0;
      for (let i = 0; i < raw.length; i++) diff += Math.abs(raw[i]! - png.data[i]!);
      expect(diff / raw.length).toBeGreaterThan(1);
      expect(diff / raw.length).toBeLessThan(0.4 * 255);
    }
  });

  it('--layer picks another layer of the base, --json prints one line per image, and the default folder is the run’s explain/', async () => {
    const r = await run(['explain', '--from', 's', IMAGES[0]!, '--layer', 'fire5', '--alpha', '0.6', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ type: 'explanation', layer: 'fire5', heatmap_shape: [7, 7] });
    expect(existsSync(join(dir, 'runs', 's', 'explain', 'cat.1500.gradcam.png'))).toBe(true);
    // --class explains a given class (by name) instead of the predicted one; an unknown one lists the classes.
    for (const [cls, index] of [['cats', 0], ['dogs', 1]] as const) {
      const c = await run(['explain', '--from', 's', IMAGES[0]!, '--class', cls, '--out', `class-${cls}`, '--json']);
      expect(c.code, c.stderr).toBe(0);
      expect(JSON.parse(c.stdout.trimEnd())).toMatchObject({ explained: index });
    }
    const unknown = await run(['explain', '--from', 's', IMAGES[0]!, '--class', 'birds', '--out', 'class-bad']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/--class birds: .*cats \(0\), dogs \(1\)/);
    expect(existsSync(join(dir, 'class-bad'))).toBe(false);
  });

  it('a bad image, an unknown layer or a run without a model: non-zero exit, the file or layer named, nothing written', async () => {
    await writeFile(join(dir, 'broken.jpg'), new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]));
    const bad = await run(['explain', '--from', 's', IMAGES[0]!, 'broken.jpg', '--out', 'bad1']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/broken\.jpg/);
    expect(bad.stdout).toBe('');
    const missing = await run(['explain', '--from', 's', 'nope.jpg', '--out', 'bad2']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/nope\.jpg/);
    const layer = await run(['explain', '--from', 's', IMAGES[0]!, '--layer', 'fire99', '--out', 'bad3']);
    expect(layer.code).not.toBe(0);
    expect(layer.stderr).toMatch(/--layer fire99: .*choose one of conv1, pool1, fire2, .*fire9/);
    expect(layer.stdout).toBe('');
    // A run folder whose training never finished an epoch: config.json but no checkpoint.
    await mkdir(join(dir, 'runs', 'empty'), { recursive: true });
    await copyFile(join(dir, 'runs', 's', 'config.json'), join(dir, 'runs', 'empty', 'config.json'));
    const empty = await run(['explain', '--from', 'empty', IMAGES[0]!, '--out', 'bad4']);
    expect(empty.code).not.toBe(0);
    expect(empty.stderr).toMatch(/checkpoint\.safetensors does not exist/);
    const alpha = await run(['explain', '--from', 's', IMAGES[0]!, '--alpha', '2', '--out', 'bad5']);
    expect(alpha.code).not.toBe(0);
    expect(alpha.stderr).toMatch(/--alpha must be a number from 0 to 1/);
    for (const d of ['bad1', 'bad2', 'bad3', 'bad4', 'bad5']) expect(existsSync(join(dir, d)), d).toBe(false);
    expect(existsSync(join(dir, 'runs', 'empty', 'explain'))).toBe(false);
  });
});
