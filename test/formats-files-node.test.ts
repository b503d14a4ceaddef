import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../src/formats/atomic-node.js';
import { readKerasH5File, writeKerasH5File } from '../src/formats/keras-h5-node.js';
import { readNpyFile, writeNpyFile } from '../src/formats/npy-node.js';
import { readSafetensorsFile, writeSafetensorsFile } from '../src/formats/safetensors-node.js';
import { type NamedArrays, WeightFormatError } from '../src/formats/types.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'formats-files-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('Node file helpers', () => {
  it('writeFileAtomic replaces a file whole and leaves no temp file', async () => {
    const p = join(dir, 'a.bin');
    await writeFile(p, 'old');
    await writeFileAtomic(p, new Uint8Array([1, 2, 3]));
    expect(new Uint8Array(await readFile(p))).toEqual(new Uint8Array([1, 2, 3]));
    await writeFileAtomic(p, 'text');
    expect(await readFile(p, 'utf8')).toBe('text');
    expect((await readdir(dir)).filter((n) => n.includes('.tmp'))).toEqual([]);
  });

  it('writeFileAtomic on failure removes its temp file and keeps the old target', async () => {
    const target = join(dir, 'is-a-dir');
    await mkdir(join(target, 'child'), { recursive: true });
    await expect(writeFileAtomic(target, new Uint8Array(10))).rejects.toThrow();
    expect((await readdir(dir)).filter((n) => n.includes('.tmp'))).toEqual([]);
    expect(await readdir(target)).toEqual(['child']);
    await expect(writeFileAtomic(join(dir, 'no', 'such', 'folder.bin'), new Uint8Array(1))).rejects.toThrow(/ENOENT/);
  });

  it('npy, safetensors and Keras h5 files round-trip through the file helpers', async () => {
    const features = { shape: [2, 4, 4, 3], data: Float32Array.from({ length: 96 }, (_, i) => i / 3) };
    await writeNpyFile(join(dir, 'f.npy'), features);
    expect(await readNpyFile(join(dir, 'f.npy'))).toEqual(features);
    const t: NamedArrays = new Map([['l/kernel', { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }]]);
    await writeSafetensorsFile(join(dir, 'w.safetensors'), t, { a: 'b' });
    expect(await readSafetensorsFile(join(dir, 'w.safetensors'))).toEqual({ tensors: t, metadata: { a: 'b' } });
    await writeKerasH5File(join(dir, 'w.h5'), t, ['l']);
    expect(await readKerasH5File(join(dir, 'w.h5'))).toEqual(t);
    await writeFile(join(dir, 'bad.npy'), 'nope');
    await expect(readNpyFile(join(dir, 'bad.npy'))).rejects.toBeInstanceOf(WeightFormatError);
    await expect(readNpyFile(join(dir, 'bad.npy'))).rejects.toThrow(/bad\.npy: truncated/);
  });
});
