import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleCli, runCli, type CliRun } from './helpers/cli.js';
import { fetchVerifyConvert, weightsConvert, weightsInfo } from '../src/cli/commands/weights.js';
import { writeKerasH5 } from '../src/formats/keras-h5.js';
import { writeNpy } from '../src/formats/npy.js';
import { parseSafetensors } from '../src/formats/safetensors.js';
import { type HostTensor, type NamedArrays, WeightFormatError } from '../src/formats/types.js';

const root = resolve(__dirname, '..');
const fragment = resolve(root, '..', 'shared', 'weights', 'vgg16-fragment');
let cli = '';
let dir = '';
let removeCli: (() => Promise<void>) | undefined;

const tensor = (shape: number[], seed: number): HostTensor => ({
  shape,
  data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.cos(seed * 31 + i) * 0.05),
});
const tiny: NamedArrays = new Map([
  ['block1_conv1/kernel', tensor([3, 3, 3, 2], 1)],
  ['block1_conv1/bias', tensor([2], 2)],
  ['block2_conv1/kernel', tensor([3, 3, 2, 4], 3)],
  ['block2_conv1/bias', tensor([4], 4)],
]);
const layers = ['input_1', 'block1_conv1', 'block1_pool', 'block2_conv1', 'block2_pool'];

const run = (args: string[]): Promise<CliRun> => runCli(cli, args, dir);

const silent = { out: () => undefined, err: () => undefined };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-weights-'));
  const bundled = await bundleCli('cli-weights-test');
  cli = bundled.cli;
  removeCli = bundled.remove;
  await writeFile(join(dir, 'tiny.h5'), await writeKerasH5(tiny, layers, { style: 'keras1' }));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await removeCli?.();
});

describe('webgpu-transfer weights (spawned CLI)', () => {
  it('info lists tensors, shapes, the parameter count and the file sha256', async () => {
    const r = await run(['weights', 'info', 'tiny.h5']);
    expect(r.code).toBe(0);
    const sha = createHash('sha256').update(await readFile(join(dir, 'tiny.h5'))).digest('hex');
    expect(r.stdout).toContain(`file sha256:    ${sha}`);
    expect(r.stdout).toMatch(/format:\s+keras-h5/);
    expect(r.stdout).toMatch(/tensors:\s+4\n/);
    expect(r.stdout).toMatch(/parameters:\s+132\n/); // 54 + 2 + 72 + 4
    expect(r.stdout).toMatch(/block2_conv1\/kernel\s+\[3, 3, 2, 4\]\s+f32\s+72/);
    const j = await run(['weights', 'info', 'tiny.h5', '--json']);
    const info = JSON.parse(j.stdout) as { tensorCount: number; parameters: number; fileSha256: string; tensors: { name: string; shape: number[] }[] };
    expect(info.tensorCount).toBe(4);
    expect(info.parameters).toBe(132);
    expect(info.fileSha256).toBe(sha);
    expect(info.tensors.map((t) => t.name)).toEqual([...tiny.keys()]);
  });

  it('convert writes a safetensors file with Keras names, exact values and provenance metadata', async () => {
    const r = await run(['weights', 'convert', 'tiny.h5', '-o', 'tiny.safetensors']);
    expect(r.code, r.stderr).toBe(0);
    const { tensors, metadata } = parseSafetensors(new Uint8Array(await readFile(join(dir, 'tiny.safetensors'))));
    expect([...tensors.keys()]).toEqual([...tiny.keys()]);
    for (const [name, t] of tiny) expect(tensors.get(name)).toEqual(t);
    expect(metadata).toMatchObject({ source: 'tiny.h5', source_format: 'keras-h5', converter: 'webgpu-transfer weights convert', layout: 'HWIO' });
    expect(metadata.source_sha256).toBe(createHash('sha256').update(await readFile(join(dir, 'tiny.h5'))).digest('hex'));
    // And the converted file is itself readable by info.
    const again = await run(['weights', 'info', 'tiny.safetensors']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/format:\s+safetensors/);
  });

  it('a bad file: non-zero exit, the message names the file, no output (or temp file) left behind', async () => {
    const good = await readFile(join(dir, 'tiny.h5'));
    await writeFile(join(dir, 'broken.h5'), good.subarray(0, Math.floor(good.length * 0.6)));
    const before = await readdir(dir);
    const r = await run(['weights', 'convert', 'broken.h5', '-o', 'broken.safetensors']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/error: broken\.h5: .*truncated/i);
    expect(await readdir(dir)).toEqual(before);
    const i = await run(['weights', 'info', 'broken.h5']);
    expect(i.code).not.toBe(0);
    expect(i.stderr).toContain('broken.h5');
    const missing = await run(['weights', 'info', 'nope.safetensors']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/nope\.safetensors: no such file/);
  });
});

describe('weights commands called directly', () => {
  it('convert of a .npy folder with --hwio transposes conv kernels (depthwise by name)', async () => {
    const npyDir = join(dir, 'npy');
    await mkdir(npyDir);
    const w = { shape: [2, 3, 1, 2], data: Float32Array.from({ length: 12 }, (_, i) => i) };
    const dw = { shape: [3, 1, 2, 2], data: Float32Array.from({ length: 12 }, (_, i) => 100 + i) };
    await writeFile(join(npyDir, 'conv_0_weight.npy'), writeNpy(w));
    await writeFile(join(npyDir, 'conv_0_bias.npy'), writeNpy({ shape: [2], data: new Float32Array([1, 2]) }));
    await writeFile(join(npyDir, 'conv_2_weight.npy'), writeNpy(dw));
    const out = join(dir, 'npy.safetensors');
    const res = await weightsConvert(npyDir, { output: out, hwio: true, depthwise: '^conv_2_' }, silent);
    expect(res.tensors).toBe(3);
    const { tensors, metadata } = parseSafetensors(new Uint8Array(await readFile(out)));
    expect(metadata.layout).toBe('HWIO (converted from OIHW)');
    expect(tensors.get('conv_0_weight')!.shape).toEqual([1, 2, 3, 2]);
    // [o, i, h, w] = [1, 2, 0, 1] → flat OIHW 1·6 + 2·2 + 0 + 1 = 11; HWIO index ((0·2 + 1)·3 + 2)·2 + 1 = 11.
    expect(tensors.get('conv_0_weight')!.data[((0 * 2 + 1) * 3 + 2) * 2 + 1]).toBe(11);
    expect(tensors.get('conv_0_weight')!.data[((0 * 2 + 1) * 3 + 0) * 2 + 1]).toBe(1 * 6 + 0 * 2 + 0 + 1);
    expect(tensors.get('conv_2_weight')!.shape).toEqual([2, 2, 3, 1]);
    expect(tensors.get('conv_2_weight')!.data[(1 * 2 + 0) * 3 + 2]).toBe(100 + 2 * 4 + 1 * 2 + 0);
  });

  it.skipIf(!existsSync(fragment))('convert refuses the partial VGG16 fragment, naming the missing shards; info --allow-partial shows it', async () => {
    const out = join(dir, 'frag.safetensors');
    const err = await weightsConvert(join(fragment, 'model.json'), { output: out }, silent).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WeightFormatError);
    expect((err as Error).message).toMatch(/missing 14 of 15 shards: group1-shard1of15\.bin/);
    expect(existsSync(out)).toBe(false);
    const lines: string[] = [];
    const w = await weightsInfo(
      join(fragment, 'model.json'),
      { allowPartial: true, hashes: join(fragment, 'EXPECTED_GIT_BLOB_SHA1.txt') },
      { out: (s) => lines.push(s), err: () => undefined },
    );
    expect(w.verified).toEqual(['group1-shard15of15.bin']);
    expect(lines.join('\n')).toMatch(/PARTIAL: 138,496 of 58,858,752 bytes present/);
    expect(lines.join('\n')).toMatch(/block5_conv3\/kernel \[3, 3, 512, 512\]: 9,300,736 of 9,437,184 bytes, present elements 2325184\.\.2359295/);
  });

  it('fetch: download over HTTP, md5 check, stored original, converted and shape-checked safetensors', async () => {
    const h5 = await writeKerasH5(tiny, layers, { style: 'keras1' });
    const md5 = createHash('md5').update(h5).digest('hex');
    const server = createServer((req, res) => {
      if (req.url === '/w.h5') {
        res.writeHead(200, { 'content-length': String(h5.length) });
        res.end(Buffer.from(h5));
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const expected = new Map([...tiny].map(([n, t]) => [n, t.shape]));
    const spec = { url: `http://127.0.0.1:${port}/w.h5`, md5, fileName: 'w.h5', outName: 'w.safetensors', expected };
    try {
      const wdir = join(dir, 'fetched');
      const res = await fetchVerifyConvert(spec, { dir: wdir }, silent);
      expect(res.tensors).toBe(4);
      expect(new Uint8Array(await readFile(join(wdir, 'w.h5')))).toEqual(h5);
      const { tensors, metadata } = parseSafetensors(new Uint8Array(await readFile(join(wdir, 'w.safetensors'))));
      for (const [name, t] of tiny) expect(tensors.get(name)).toEqual(t);
      expect(metadata).toMatchObject({ source: 'w.h5', source_md5: md5, source_format: 'keras-h5' });

      // A wrong md5 saves nothing.
      const bad = join(dir, 'badmd5');
      await expect(fetchVerifyConvert({ ...spec, md5: '0'.repeat(32) }, { dir: bad }, silent)).rejects.toThrow(/has md5 [0-9a-f]{32}, expected 0{32}; nothing was saved/);
      expect(await readdir(bad)).toEqual([]);
      // HTTP errors are reported with the address and the way out.
      await expect(fetchVerifyConvert({ ...spec, url: `http://127.0.0.1:${port}/missing.h5` }, { dir: bad }, silent)).rejects.toThrow(/HTTP 404.*--file PATH/);
      // Shapes are checked against what the model expects.
      const wrong = new Map(expected);
      wrong.set('block1_conv1/kernel', [3, 3, 3, 64]);
      await expect(fetchVerifyConvert({ ...spec, expected: wrong }, { dir: join(dir, 'wrongshape') }, silent)).rejects.toThrow(
        /tensor 'block1_conv1\/kernel': expected shape \[3, 3, 3, 64\], found \[3, 3, 3, 2\]/,
      );
      expect(existsSync(join(dir, 'wrongshape', 'w.safetensors'))).toBe(false);
    } finally {
      server.close();
    }
  });

  it('fetch offline fails fast and says where a manual download goes; --file converts a local copy after the md5 check', async () => {
    const h5 = await writeKerasH5(tiny, layers);
    const md5 = createHash('md5').update(h5).digest('hex');
    const expected = new Map([...tiny].map(([n, t]) => [n, t.shape]));
    // A port nothing listens on: refused at once.
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const spec = { url: `http://127.0.0.1:${port}/w.h5`, md5, fileName: 'w.h5', outName: 'w.safetensors', expected };
    const wdir = join(dir, 'offline');
    const t0 = Date.now();
    const err = (await fetchVerifyConvert(spec, { dir: wdir, connectTimeout: 2 }, silent).catch((e: unknown) => e)) as Error;
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(err.message).toMatch(/could not download http:\/\/127\.0\.0\.1:\d+\/w\.h5/);
    expect(err.message).toContain(`place it at ${join(wdir, 'w.h5')}`);
    expect(err.message).toContain('--file PATH');
    expect(await readdir(wdir)).toEqual([]);

    const local = join(dir, 'manual.h5');
    await writeFile(local, h5);
    const res = await fetchVerifyConvert(spec, { dir: wdir, file: local }, silent);
    expect(res.parameters).toBe(132);
    expect(new Uint8Array(await readFile(join(wdir, 'w.h5')))).toEqual(h5);
    await writeFile(local, h5.subarray(0, 100));
    await expect(fetchVerifyConvert(spec, { dir: wdir, file: local }, silent)).rejects.toThrow(/manual\.h5: md5 [0-9a-f]{32} does not match the published/);
  });

  it('fetch vgg16 on this machine ends within seconds (downloaded, or a clear offline message)', async () => {
    const r = await run(['weights', 'fetch', 'vgg16', '--dir', 'vgg', '--connect-timeout', '3']);
    expect(r.ms).toBeLessThan(20_000);
    if (r.code !== 0) {
      expect(r.stderr).toMatch(/could not download https:\/\/\S+vgg16_weights_tf_dim_ordering_tf_kernels_notop\.h5/);
      expect(r.stderr).toContain('--file PATH');
      expect(await readdir(join(dir, 'vgg'))).toEqual([]);
    }
  }, 30_000);
});
