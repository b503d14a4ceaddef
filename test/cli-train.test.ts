import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleCli, runCli, type CliRun } from './helpers/cli.js';
import { makeTinyDataset } from './helpers/train-data.js';

let cli = '';
let removeCli: (() => Promise<void>) | undefined;
let dir = '';

const run = (args: string[]): Promise<CliRun> => runCli(cli, args, dir);

const json = (stdout: string): { type: string; [k: string]: unknown }[] =>
  stdout
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-train-'));
  await makeTinyDataset(join(dir, 'data'), { train: 4, validation: 2, test: 2 });
  const bundled = await bundleCli('cli-train-test');
  cli = bundled.cli;
  removeCli = bundled.remove;
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await removeCli?.();
});

const COMMON = ['--cache-dir', 'pixels'];

// What later tests build on, made once on first use (by the test that checks it, or by a later one run alone).
let feats: Promise<void> | null = null;
let h3: Promise<CliRun> | null = null;

/** Features of the tiny subset in `feats` (batch 4). */
function theFeats(): Promise<void> {
  return (feats ??= run(['extract', '--model', 'squeezenet1_1', '--data', 'data', '--out', 'feats', '--input-size', '64', '--batch', '4', ...COMMON]).then((r) => {
    if (r.code !== 0) throw new Error(`extract failed: ${r.stderr}`);
  }));
}

/** Run h3: train-head on `feats`, three epochs (its output, as printed). */
function theH3(): Promise<CliRun> {
  return (h3 ??= theFeats().then(() => run(['train-head', '--features', 'feats', '--epochs', '3', '--batch', '4', '--name', 'h3'])));
}

describe('training commands (spawned CLI, tiny subset, SqueezeNet 1.1 at 64×64)', () => {
  it('every command has --help', async () => {
    for (const c of ['start', 'extract', 'train-head', 'train', 'finetune', 'evaluate', 'predict']) {
      const r = await run([c, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: webgpu-transfer ${c}`);
    }
  });

  it('refuses unknown and out-of-range options with a clear error, a non-zero exit and no output', async () => {
    const cases: [string[], RegExp][] = [
      [['train-head', '--features', 'f', '--epochs', '0'], /--epochs must be between 1 and/],
      [['train', '--lr', '-1'], /--lr must be a number in \(0, 10\]/],
      [['train', '--batch', 'abc'], /--batch must be an integer, got 'abc'/],
      [['train', '--bogus'], /unknown option '--bogus'/],
      [['extract', '--model', 'resnet50'], /unknown model 'resnet50'; choose one of vgg16, squeezenet1_1, mobilenet_v2/],
      [['train', '--preprocess', 'zscore'], /argument 'zscore' is invalid/],
      [['train', '--on-bad-image', 'ignore'], /argument 'ignore' is invalid/],
      [['train-head', '--features', 'f', '--input-size', '64'], /unknown option '--input-size'/],
    ];
    for (const [args, message] of cases) {
      const r = await run(args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
    }
    expect(existsSync(join(dir, 'runs'))).toBe(false);
  });

  it('bad data (one class, a corrupt image) fails with the folder or file named and nothing written; skip reports it', async () => {
    await makeTinyDataset(join(dir, 'one-class'), { train: 2, validation: 1, test: 1 });
    await rm(join(dir, 'one-class', 'train', 'dogs'), { recursive: true });
    const single = await run(['extract', '--model', 'squeezenet1_1', '--data', 'one-class', '--out', 'f-one', '--input-size', '64', ...COMMON]);
    expect(single.code).not.toBe(0);
    expect(single.stderr).toMatch(/one-class\/train: found 1 class folder \(cats\); at least 2 are needed/);
    expect(existsSync(join(dir, 'f-one'))).toBe(false);

    await makeTinyDataset(join(dir, 'corrupt'), { train: 2, validation: 1, test: 1 });
    const victim = join(dir, 'corrupt', 'train', 'dogs', 'dog.1.jpg');
    const bytes = await readFile(victim);
    await writeFile(victim, bytes.subarray(0, Math.floor(bytes.length / 3)));
    const bad = await run(['train', '--model', 'squeezenet1_1', '--data', 'corrupt', '--input-size', '64', '--name', 'corrupt-run', ...COMMON]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/dog\.1\.jpg/);
    // The command names its flag, not the library's option.
    expect(bad.stderr).toMatch(/1 bad image file in .*\(fix or remove them, or pass --on-bad-image skip\)/);
    expect(bad.stderr).not.toMatch(/onBadImage/);
    expect(existsSync(join(dir, 'runs', 'corrupt-run'))).toBe(false);
    const skip = await run(['extract', '--model', 'squeezenet1_1', '--data', 'corrupt', '--out', 'f-skip', '--input-size', '64', '--batch', '4', '--on-bad-image', 'skip', ...COMMON]);
    expect(skip.code, skip.stderr).toBe(0);
    expect(skip.stdout).toMatch(/Skipped 1 bad image file/);
    expect(skip.stdout).toMatch(/train \[3, 512\]/);
  });

  it('refuses a batch too large for the device before writing anything, suggesting one that fits', async () => {
    // 64 images (784 MiB for block1_conv1's output), or more where this device binds buffers that large.
    const info = JSON.parse((await run(['info', '--json'])).stdout) as { limits: Record<string, number> };
    const limit = Math.min(info.limits['maxStorageBufferBindingSize']!, info.limits['maxBufferSize']!);
    const perImage = 224 * 224 * 64 * 4;
    const batch = Math.max(64, Math.floor(limit / perImage) + 1);
    const r = await run(['train', '--model', 'vgg16', '--random-weights', '--input-size', '224', '--batch', String(batch), '--data', 'data', '--name', 'big', ...COMMON]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`a batch of ${batch} does not fit this device: the output of layer 'block1_conv1' ([${batch}, 224, 224, 64] f32) needs ${((batch * perImage) / 1048576).toFixed(1)} MiB, over the ${(limit / 1048576).toFixed(1)} MiB limit of one GPU buffer binding; use --batch `);
    expect(r.stderr).toMatch(/use --batch \d+ or less/);
    expect(r.stderr).toMatch(/WARNING: NO PRETRAINED WEIGHTS FOR VGG16/);
    expect(existsSync(join(dir, 'runs', 'big'))).toBe(false);
  });

  it('extract and train-head with --json print JSON lines only; the run folder holds every file', async () => {
    expect(feats, 'feats was extracted before this test').toBeNull();
    const ex = await run(['extract', '--model', 'squeezenet1_1', '--data', 'data', '--out', 'feats', '--input-size', '64', '--batch', '4', '--json', ...COMMON]);
    expect(ex.code, ex.stderr).toBe(0);
    feats = Promise.resolve();
    const exLines = json(ex.stdout);
    expect(exLines.at(-1)).toMatchObject({ type: 'done', reused: false, images: 16 });
    // Batches of 2 (the train split's 4 batches are run eagerly, captured, then replayed twice): eager extraction
    // (--no-replay) writes the very same feature bytes.
    for (const [out, extra] of [['feats-replay', []], ['feats-eager', ['--no-replay']]] as const) {
      const r = await run(['extract', '--model', 'squeezenet1_1', '--data', 'data', '--out', out, '--input-size', '64', '--batch', '2', '--json', ...extra, ...COMMON]);
      expect(r.code, r.stderr).toBe(0);
    }
    const npy = (await readdir(join(dir, 'feats-replay'))).filter((f) => f.endsWith('.npy'));
    expect(npy.length).toBeGreaterThan(0);
    for (const f of npy) expect(Buffer.compare(await readFile(join(dir, 'feats-replay', f)), await readFile(join(dir, 'feats-eager', f))), f).toBe(0);
    const th = await run(['train-head', '--features', 'feats', '--epochs', '2', '--batch', '4', '--name', 'h2', '--json']);
    expect(th.code, th.stderr).toBe(0);
    const lines = json(th.stdout);
    expect(lines.filter((l) => l.type === 'epoch').map((l) => l.epoch)).toEqual([1, 2]);
    const done = lines.at(-1)!;
    expect(done.type).toBe('done');
    for (const k of ['val_acc', 'test_acc', 'val_loss', 'test_loss', 'images_per_s', 'wall_s', 'peak_gpu_bytes', 'model']) expect(done.metrics).toHaveProperty(k);
    expect((done.metrics as Record<string, number>).peak_gpu_bytes).toBeGreaterThan(0);
    for (const f of ['config.json', 'history.json', 'metrics.json', 'accuracy.png', 'loss.png', 'checkpoint.safetensors']) expect(existsSync(join(dir, 'runs', 'h2', f))).toBe(true);
  });

  it('prints Keras-like epoch lines, and --resume continues a run to the history of an uninterrupted one', async () => {
    const full = await theH3();
    expect(full.code, full.stderr).toBe(0);
    expect(full.stdout).toMatch(/^Epoch 1\/3 - \d+\.\ds - loss: \d+\.\d{4} - acc: \d\.\d{4} - val_loss: \d+\.\d{4} - val_acc: \d\.\d{4}$/m);
    expect(full.stdout).toMatch(/^Run folder: .*h3/m);
    // The first part eagerly, the rest replayed: the history still equals the uninterrupted replayed run.
    const part = await run(['train-head', '--features', 'feats', '--epochs', '2', '--batch', '4', '--name', 'r', '--no-replay']);
    expect(part.code, part.stderr).toBe(0);
    const conflict = await run(['train-head', '--resume', 'r', '--lr', '0.1']);
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toMatch(/only --epochs may change \(remove --lr\)/);
    const resumed = await run(['train-head', '--resume', 'r', '--epochs', '3']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('Resuming from');
    expect(resumed.stdout).toMatch(/^Epoch 3\/3 /m);
    expect(resumed.stdout).not.toMatch(/^Epoch 1\/3 /m);
    const h = (name: string): Promise<{ loss: number[]; acc: number[]; val_loss: number[]; val_acc: number[] }> => readFile(join(dir, 'runs', name, 'history.json'), 'utf8').then((s) => JSON.parse(s));
    const [a, b] = [await h('h3'), await h('r')];
    expect(b.loss).toEqual(a.loss);
    expect(b.val_loss).toEqual(a.val_loss);
    expect(b.acc).toEqual(a.acc);
    expect(b.val_acc).toEqual(a.val_acc);
    const again = await run(['train-head', '--features', 'feats', '--name', 'r']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/already exists; choose another --name, or continue it with --resume r/);
  });

  it('evaluate and predict use a run; a corrupt image fails predict before any output', async () => {
    expect((await theH3()).code).toBe(0);
    const ev = await run(['evaluate', '--from', 'h3', '--data', 'data', '--batch', '4', ...COMMON]);
    expect(ev.code, ev.stderr).toBe(0);
    expect(ev.stdout).toMatch(/test: 4 images - loss: \d+\.\d{4} - acc: \d\.\d{4}/);
    const metrics = JSON.parse(await readFile(join(dir, 'runs', 'h3', 'metrics.json'), 'utf8')) as { test_acc: number };
    expect(ev.stdout).toContain(`acc: ${metrics.test_acc.toFixed(4)}`);
    const pr = await run(['predict', '--from', 'h3', 'data/test/cats/cat.1500.jpg', 'data/test/dogs/dog.1500.jpg']);
    expect(pr.code, pr.stderr).toBe(0);
    const rows = pr.stdout.trimEnd().split('\n');
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row).toMatch(/^data\/test\/(cats|dogs)\/\S+\.jpg +(cats|dogs) +\d+\.\d% +\(p\(dogs\) = \d\.\d{4}\)$/);
    await writeFile(join(dir, 'broken.jpg'), new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]));
    const bad = await run(['predict', '--from', 'h3', 'data/test/cats/cat.1500.jpg', 'broken.jpg']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/broken\.jpg/);
    expect(bad.stdout).toBe('');
  });

  it('start: extraction (cached) and the head, then validation and test accuracy; a clear message without data', async () => {
    await theFeats();
    const r = await run(['start', '--model', 'squeezenet1_1', '--data', 'data', '--input-size', '64', '--epochs', '2', '--batch', '4', '--features', 'feats', '--name', 's', ...COMMON]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Model: squeezenet1_1 \(chosen with --model\)/m);
    expect(r.stdout).toContain('Reusing the features');
    expect(r.stdout).toMatch(/^Validation accuracy: \d+\.\d\d% - test accuracy: \d+\.\d\d% /m);
    const m = JSON.parse(await readFile(join(dir, 'runs', 's', 'metrics.json'), 'utf8')) as Record<string, unknown>;
    expect(m.total_wall_s).toBeGreaterThan(0);
    expect(m.features_reused).toBe('yes');
    const missing = await run(['start', '--data', 'nowhere']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/no data: .*nowhere does not exist\. Pass --data DIR/);
  });
});
