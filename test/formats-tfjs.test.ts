import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gitBlobSha1, sha256Hex } from '../src/formats/checksum.js';
import { loadTfjsLayers, parseHashList, parseTfjsModelJson } from '../src/formats/tfjs-layers.js';
import { readTfjsLayers } from '../src/formats/tfjs-layers-node.js';
import { WeightFormatError } from '../src/formats/types.js';

const fragment = resolve(__dirname, '..', '..', 'shared', 'weights', 'vgg16-fragment');
const modelJson = join(fragment, 'model.json');
const shardName = 'group1-shard15of15.bin';
const hashesFile = join(fragment, 'EXPECTED_GIT_BLOB_SHA1.txt');

/** Git's blob id computed with node:crypto, independently of the module under test. */
const gitBlob = (b: Uint8Array): string => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');

const temps: string[] = [];
afterAll(async () => {
  for (const d of temps) await rm(d, { recursive: true, force: true });
});

describe.skipIf(!existsSync(modelJson))('TF.js layers model: the real VGG16 fragment', () => {
  it('manifest totals: 26 tensors, 14,714,688 values, 58,858,752 bytes, Keras names in order', async () => {
    const m = parseTfjsModelJson(new Uint8Array(await readFile(modelJson)), modelJson);
    expect(m.groups.length).toBe(1);
    const g = m.groups[0]!;
    expect(g.paths.length).toBe(15);
    expect(g.weights.length).toBe(26);
    expect(m.totalValues).toBe(14_714_688);
    expect(m.totalBytes).toBe(58_858_752);
    expect(g.weights[0]).toMatchObject({ name: 'block1_conv1/kernel', shape: [3, 3, 3, 64], dtype: 'float32', byteOffset: 0 });
    expect(g.weights[25]).toMatchObject({ name: 'block5_conv3/bias', shape: [512], byteOffset: 58_858_752 - 2048, byteLength: 2048 });
    expect(m.convertedBy).toBe('TensorFlow.js Converter v1.1.2');
  });

  it('places the one real shard at the end: block5_conv3 bias and kernel tail at the right offsets, hash verified', async () => {
    const shard = new Uint8Array(await readFile(join(fragment, shardName)));
    expect(shard.length).toBe(138_496);
    const r = await readTfjsLayers(modelJson, { hashesFile, allowPartial: true });
    expect(r.verified).toEqual([shardName]);

    // Only the bias is fully covered; it equals the shard's last 2048 bytes.
    expect([...r.tensors.keys()]).toEqual(['block5_conv3/bias']);
    const bias = r.tensors.get('block5_conv3/bias')!;
    expect(bias.shape).toEqual([512]);
    expect(new Uint8Array(bias.data.buffer, bias.data.byteOffset, bias.data.byteLength)).toEqual(shard.subarray(shard.length - 2048));

    // The kernel's last 34,112 values (flat HWIO 2,325,184 … 2,359,295) are the shard's first 136,448 bytes.
    const k = r.coverage.partialTensors.get('block5_conv3/kernel')!;
    expect(k.covered).toEqual([[2_325_184, 2_359_296]]);
    expect(k.tensor.shape).toEqual([3, 3, 512, 512]);
    const head = new DataView(shard.buffer, shard.byteOffset);
    for (const j of [0, 1, 777, 34_111]) expect(k.tensor.data[2_325_184 + j]).toBe(head.getFloat32(4 * j, true));
    expect(k.tensor.data[2_325_183]).toBeNaN();
    expect(k.tensor.data[0]).toBeNaN();

    // The 14 other shards are reported by name; every other tensor is missing, the kernel partly.
    expect(r.coverage.missingShards).toEqual(Array.from({ length: 14 }, (_, i) => `group1-shard${i + 1}of15.bin`));
    expect(r.coverage.unplacedShards).toEqual([]);
    expect(r.coverage.missingTensors.length).toBe(25);
    expect(r.coverage.missingTensors.find((t) => t.name === 'block5_conv3/kernel')).toEqual({
      name: 'block5_conv3/kernel',
      shape: [3, 3, 512, 512],
      missingBytes: 2_325_184 * 4,
      totalBytes: 2_359_296 * 4,
    });
    expect(r.coverage.coveredBytes).toBe(138_496);
    expect(r.coverage.totalBytes).toBe(58_858_752);
  });

  it('the expected hash list matches git-blob SHA-1 computed independently', async () => {
    const shard = new Uint8Array(await readFile(join(fragment, shardName)));
    const hashes = parseHashList(await readFile(hashesFile, 'utf8'), hashesFile);
    expect(hashes.size).toBe(15);
    expect(await gitBlobSha1(shard)).toBe(gitBlob(shard));
    expect(hashes.get(shardName)).toBe(gitBlob(shard));
    expect(await sha256Hex(shard)).toBe(createHash('sha256').update(shard).digest('hex'));
  });

  it('without allowPartial the 14 missing shards are an error naming them', async () => {
    const err = await readTfjsLayers(modelJson, { hashesFile }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WeightFormatError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/model\.json: missing 14 of 15 shards/);
    for (let i = 1; i <= 14; i++) expect(msg).toContain(`group1-shard${i}of15.bin`);
  });

  it('a corrupted copy of the shard fails verification, naming the shard', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tfjs-corrupt-'));
    temps.push(dir);
    await copyFile(modelJson, join(dir, 'model.json'));
    const shard = new Uint8Array(await readFile(join(fragment, shardName)));
    shard[70_000] ^= 0x01;
    await writeFile(join(dir, shardName), shard);
    const err = await readTfjsLayers(join(dir, 'model.json'), { hashesFile, allowPartial: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WeightFormatError);
    expect((err as Error).message).toMatch(new RegExp(`shard '${shardName}' fails verification: git-blob SHA-1 ${gitBlob(shard)}, expected 4439573b`));
    // Without a hash list the same bytes load: the hash is what catches the corruption.
    const unchecked = await readTfjsLayers(join(dir, 'model.json'), { allowPartial: true });
    expect(unchecked.verified).toEqual([]);
  });
});

describe('TF.js layers model: synthetic manifests', () => {
  // Three weights over three 10-byte shards plus a 2-byte one; weights straddle shard boundaries.
  const values = Float32Array.from({ length: 8 }, (_, i) => i * 1.5 - 2);
  const all = new Uint8Array(values.buffer);
  const json = JSON.stringify({
    format: 'layers-model',
    weightsManifest: [
      {
        paths: ['s1.bin', 's2.bin', 's3.bin', 's4.bin'],
        weights: [
          { name: 'a/kernel', shape: [1, 3], dtype: 'float32' },
          { name: 'a/bias', shape: [2], dtype: 'float32' },
          { name: 'b/kernel', shape: [3, 1], dtype: 'float32' },
        ],
      },
      { paths: ['q.bin'], weights: [{ name: 'c/q', shape: [4], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } }] },
    ],
  });
  const shards = new Map<string, Uint8Array>([
    ['s1.bin', all.slice(0, 10)],
    ['s2.bin', all.slice(10, 20)],
    ['s3.bin', all.slice(20, 30)],
    ['s4.bin', all.slice(30, 32)],
    ['q.bin', new Uint8Array([0, 1, 2, 255])],
  ]);

  it('assembles weights spanning shards and dequantizes uint8', async () => {
    const m = parseTfjsModelJson(json, 'm.json');
    expect(m.totalBytes).toBe(36);
    expect(m.totalValues).toBe(12);
    const r = await loadTfjsLayers(m, shards);
    expect(Array.from(r.tensors.get('a/kernel')!.data as Float32Array)).toEqual(Array.from(values.subarray(0, 3)));
    expect(Array.from(r.tensors.get('a/bias')!.data as Float32Array)).toEqual(Array.from(values.subarray(3, 5)));
    expect(Array.from(r.tensors.get('b/kernel')!.data as Float32Array)).toEqual(Array.from(values.subarray(5, 8)));
    expect(r.tensors.get('b/kernel')!.shape).toEqual([3, 1]);
    expect(Array.from(r.tensors.get('c/q')!.data as Float32Array)).toEqual([-1, -0.5, 0, 126.5]);
    expect(r.coverage.missingShards).toEqual([]);
    expect(r.coverage.missingTensors).toEqual([]);
  });

  it('verifies hashes and names the mismatching shard; requires an entry for each present shard', async () => {
    const m = parseTfjsModelJson(json);
    const hashes = new Map([...shards].map(([n, b]) => [n, gitBlob(b)]));
    expect((await loadTfjsLayers(m, shards, { hashes })).verified).toEqual(['s1.bin', 's2.bin', 's3.bin', 's4.bin', 'q.bin']);
    const bad = new Map(shards);
    bad.set('s3.bin', Uint8Array.from(shards.get('s3.bin')!, (x, i) => (i === 4 ? x ^ 0x80 : x)));
    await expect(loadTfjsLayers(m, bad, { hashes, file: 'm.json' })).rejects.toThrow(/m\.json: shard 's3\.bin' fails verification/);
    const partial = new Map(hashes);
    partial.delete('q.bin');
    await expect(loadTfjsLayers(m, shards, { hashes: partial })).rejects.toThrow(/no expected hash for shard 'q\.bin'/);
  });

  it('a missing middle shard: covered tensors load, the straddling ones are reported with element ranges', async () => {
    const m = parseTfjsModelJson(json);
    const some = new Map(shards);
    some.delete('s2.bin');
    // s2's size is inferable (the only unknown in its group): s3 and s4 are placed from the group's total.
    const r = await loadTfjsLayers(m, some, { allowPartial: true });
    expect(r.coverage.missingShards).toEqual(['s2.bin']);
    expect([...r.tensors.keys()]).toEqual(['b/kernel', 'c/q']);
    // a/kernel = bytes 0..12: s1 covers 0..10 → elements [0, 2); a/bias = bytes 12..20: nothing.
    expect(r.coverage.partialTensors.get('a/kernel')!.covered).toEqual([[0, 2]]);
    expect(Array.from(r.coverage.partialTensors.get('a/kernel')!.tensor.data as Float32Array).slice(0, 2)).toEqual(Array.from(values.subarray(0, 2)));
    expect(r.coverage.partialTensors.get('a/kernel')!.tensor.data[2]).toBeNaN();
    expect(r.coverage.partialTensors.has('a/bias')).toBe(false);
    expect(r.coverage.missingTensors.map((t) => [t.name, t.missingBytes])).toEqual([
      ['a/kernel', 2],
      ['a/bias', 8],
    ]);
    // Two unknown sizes in a row: s3 cannot be placed without its neighbours' sizes, unless they are given.
    some.delete('s1.bin');
    const r2 = await loadTfjsLayers(m, some, { allowPartial: true });
    expect(r2.coverage.unplacedShards).toEqual([]);
    some.delete('s4.bin');
    const r3 = await loadTfjsLayers(m, some, { allowPartial: true });
    expect(r3.coverage.unplacedShards).toEqual(['s3.bin']);
    const r4 = await loadTfjsLayers(m, some, { allowPartial: true, shardSizes: new Map([['s1.bin', 10], ['s2.bin', 10]]) });
    expect(r4.coverage.unplacedShards).toEqual([]);
    expect(r4.coverage.partialTensors.get('b/kernel')!.covered).toEqual([[0, 2]]);
  });

  it('rejects inconsistent manifests and shard sizes', async () => {
    const m = parseTfjsModelJson(json);
    const short = new Map(shards);
    short.set('s4.bin', new Uint8Array(1));
    await expect(loadTfjsLayers(m, short, { file: 'm.json' })).rejects.toThrow(/hold 31 bytes, the manifest's weights need 32/);
    expect(() => parseTfjsModelJson('{"weightsManifest": 3}', 'x.json')).toThrow(/x\.json: model\.json has no weightsManifest array/);
    expect(() => parseTfjsModelJson('{"weightsManifest": [{"paths": ["a"], "weights": [{"name": "w", "shape": [2], "dtype": "string"}]}]}')).toThrow(
      /unsupported dtype 'string'/,
    );
    expect(() => parseTfjsModelJson('{"weightsManifest": [{"paths": ["a"], "weights": [{"name": "w", "shape": [2.5], "dtype": "float32"}]}]}')).toThrow(
      /invalid dimension 2.5/,
    );
    expect(() =>
      parseTfjsModelJson('{"weightsManifest": [{"paths": ["a"], "weights": [{"name": "w", "shape": [1], "dtype": "float32"}, {"name": "w", "shape": [1], "dtype": "float32"}]}]}'),
    ).toThrow(/'w' is listed twice/);
    expect(() => parseTfjsModelJson('not json', 'x.json')).toThrow(WeightFormatError);
    expect(() => parseHashList('a.bin 123\n', 'h.txt')).toThrow(/h\.txt: line 1/);
  });

  it('refuses shard paths that leave the model folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tfjs-path-'));
    temps.push(dir);
    await writeFile(join(dir, 'model.json'), JSON.stringify({ weightsManifest: [{ paths: ['../x.bin'], weights: [] }] }));
    await expect(readTfjsLayers(join(dir, 'model.json'))).rejects.toThrow(/shard path '\.\.\/x\.bin' is not a plain relative path/);
  });
});
