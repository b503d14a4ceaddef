// The ONNX import from the command line, as a user runs it: `onnx run` against PyTorch's numbers, and an ONNX file
// as the base of every recipe command on a tiny subset (extract → train-head → finetune by counted convolutions →
// predict → explain).
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNpy } from '../src/formats/npy.js';
import { bundleCli, runCli, type CliRun } from './helpers/cli.js';
import { relErr } from './helpers/small-ops.js';
import { makeTinyDataset } from './helpers/train-data.js';

const SQUEEZENET = join(import.meta.dirname, '../../shared/onnx/squeezenet1_1_real');
const MODEL = join(SQUEEZENET, 'model.onnx');
let cli = '';
let removeCli: (() => Promise<void>) | undefined;
let dir = '';
const run = (args: string[]): Promise<CliRun> => runCli(cli, args, dir);
const npy = (path: string) => parseNpy(readFileSync(path), path);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-onnx-'));
  await makeTinyDataset(join(dir, 'data'), { train: 4, validation: 2, test: 2 });
  const bundled = await bundleCli('cli-onnx-test');
  cli = bundled.cli;
  removeCli = bundled.remove;
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await removeCli?.();
});

describe('onnx run', () => {
  it("writes PyTorch's logits and the classifier's input map in ONNX's layout; a bad tensor writes nothing", async () => {
    const r = await run(['onnx', 'run', MODEL, '--input', join(SQUEEZENET, 'input.npy'), '--out', 'logits.npy']);
    expect(r.code, r.stderr).toBe(0);
    const got = npy(join(dir, 'logits.npy'));
    const want = npy(join(SQUEEZENET, 'logits.npy'));
    expect(got.shape).toEqual(want.shape);
    expect(relErr(got.data as Float32Array, want.data as Float32Array)).toBeLessThan(1e-3);

    const at = readFileSync(join(SQUEEZENET, 'features.txt'), 'utf8').trim();
    const f = await run(['onnx', 'run', MODEL, '--input', join(SQUEEZENET, 'input.npy'), '--out', 'map.npy', '--output', at]);
    expect(f.code, f.stderr).toBe(0);
    const map = npy(join(dir, 'map.npy'));
    expect(map.shape).toEqual([4, 512, 13, 13]);
    expect(relErr(map.data as Float32Array, npy(join(SQUEEZENET, 'features.npy')).data as Float32Array)).toBeLessThan(1e-3);

    const bad = await run(['onnx', 'run', MODEL, '--input', join(SQUEEZENET, 'input.npy'), '--out', 'none.npy', '--output', 'no/such/tensor']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("no tensor 'no/such/tensor'");
    expect(existsSync(join(dir, 'none.npy'))).toBe(false);
  });
});

describe('an ONNX file as the base of every recipe command (tiny subset, 64×64)', () => {
  it('extract → train-head → finetune --unfreeze 2 → predict → explain', async () => {
    const ex = await run(['extract', '--model', MODEL, '--data', 'data', '--out', 'feats', '--input-size', '64', '--batch', '4', '--cache-dir', 'pixels']);
    expect(ex.code, ex.stderr).toBe(0);
    const manifest = JSON.parse(await readFile(join(dir, 'feats', 'manifest.json'), 'utf8')) as { model: string; input_size: number };
    expect(manifest.model).toBe(MODEL);
    const head = await run(['train-head', '--features', 'feats', '--epochs', '2', '--batch', '4', '--name', 'head']);
    expect(head.code, head.stderr).toBe(0);
    const ft = await run(['finetune', '--from', 'head', '--unfreeze', '2', '--epochs', '1', '--steps', '1', '--validation-steps', '1', '--batch', '4', '--no-augment', '--name', 'ft', '--cache-dir', 'pixels']);
    expect(ft.code, ft.stderr).toBe(0);
    const config = JSON.parse(await readFile(join(dir, 'runs', 'ft', 'config.json'), 'utf8')) as { model: string; unfreeze: string[] };
    expect(config.model).toBe(MODEL);
    // SqueezeNet's last two convolutions: fire9's expand convs (the 1×1 classifier conv is past the cut).
    expect(config.unfreeze).toHaveLength(2);
    expect(config.unfreeze.every((n) => n.includes('features.12'))).toBe(true);
    const image = join(dir, 'data', 'test', 'cats', (await import('node:fs')).readdirSync(join(dir, 'data', 'test', 'cats'))[0]!);
    const pr = await run(['predict', '--from', 'ft', image, '--json']);
    expect(pr.code, pr.stderr).toBe(0);
    const ex2 = await run(['explain', '--from', 'ft', image, '--out', 'cam']);
    expect(ex2.code, ex2.stderr).toBe(0);
    expect(existsSync(join(dir, 'cam'))).toBe(true);
    const wrong = await run(['finetune', '--from', 'head', '--trainable-from', 'no_such_tensor', '--epochs', '1', '--name', 'ft2', '--cache-dir', 'pixels']);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('--trainable-from no_such_tensor');
  });
});
