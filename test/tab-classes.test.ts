import { describe, expect, it } from 'vitest';
import { unzipSync, zipSync } from 'fflate';
import { decodeBmp, encodeBmp } from '../src/data/bmp.js';
import { listImageFolder } from '../src/data/directory.js';
import { ClassBoard, HOLD_OUT_EVERY } from '../web/classes.js';
import { readProject, writeProject, type ProjectSettings } from '../web/project.js';

/** The tab's class cards without the DOM (web/classes.ts) and its one-file projects (web/project.ts). */

const rgbOf = (size: number, seed: number): Uint8Array => Uint8Array.from({ length: size * size * 3 }, (_, i) => (i * 31 + seed * 17) % 256);

const SETTINGS: ProjectSettings = { base: 'mobilenet_v2', inputSize: 5, recipe: 'features', optimizer: 'adam', epochs: 50, batch: 16, lr: 1e-3, seed: 1 };

describe('BMP writer', () => {
  it('writes what the reader reads back exactly, rows padded to 4 bytes', () => {
    for (const [w, h] of [[1, 1], [3, 2], [5, 7], [8, 3]] as const) {
      const rgb = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 53 + w) % 256);
      const bmp = encodeBmp(rgb, w, h);
      expect(bmp.length).toBe(54 + Math.ceil((w * 3) / 4) * 4 * h);
      const back = decodeBmp(bmp);
      expect([back.width, back.height]).toEqual([w, h]);
      expect(Buffer.from(back.data).equals(Buffer.from(rgb))).toBe(true);
    }
    expect(() => encodeBmp(new Uint8Array(5), 2, 2)).toThrow(/5 bytes for 2×2/);
  });
});

describe('the class board', () => {
  it('names new classes, refuses clashing or unsafe names, and holds one image in six out for validation', () => {
    const b = new ClassBoard();
    const c1 = b.addClass();
    const c2 = b.addClass();
    expect([c1.name, c2.name]).toEqual(['Class 1', 'Class 2']);
    b.rename(c1.id, '  cat ');
    expect(c1.name).toBe('cat');
    expect(() => b.rename(c2.id, 'cat')).toThrow(/already a class named 'cat'/);
    expect(() => b.rename(c2.id, 'a/b')).toThrow(/cannot contain/);
    expect(() => b.rename(c2.id, '.hidden')).toThrow(/start with a dot/);
    expect(() => b.rename(c2.id, '')).toThrow(/needs a name/);
    expect(c2.name).toBe('Class 2');
    expect(b.trainingProblem()).toMatch(/'cat' has no training images/);
    for (let i = 0; i < 13; i++) b.addSample(c1.id, rgbOf(4, i), 4, `f${i}.jpg`);
    // The 2nd, 8th and 14th... of each class: with 13 images, indices 1 and 7.
    expect(c1.samples.filter((s) => s.split === 'validation').map((s) => s.origin)).toEqual(['f1.jpg', 'f7.jpg']);
    expect(b.counts(c1)).toEqual({ train: 11, validation: 2 });
    expect(HOLD_OUT_EVERY).toBe(6);
    b.addSample(c2.id, rgbOf(4, 99), 4, 'webcam');
    expect(b.trainingProblem()).toMatch(/'Class 2' has no validation image yet/);
    b.addSample(c2.id, rgbOf(4, 98), 4, 'webcam');
    expect(b.trainingProblem()).toBeNull();
    expect(() => b.addSample(c2.id, new Uint8Array(10), 4, 'x.png')).toThrow(/x\.png: 10 bytes is not a 4×4 RGB image/);
    expect(b.bytes).toBe(15 * (54 + 4 * 4 * 3));
    b.removeSample(c1.id, c1.samples[0]!.id);
    expect(b.counts(c1)).toEqual({ train: 10, validation: 2 });
    b.removeClass(c2.id);
    expect(b.classes.map((c) => c.name)).toEqual(['cat']);
    expect(b.trainingProblem()).toMatch(/at least two classes/);
  });

  it('mounts as a flow_from_directory folder: classes sorted by name, images in the order they were added', async () => {
    const b = new ClassBoard();
    const dog = b.addClass('dog');
    const cat = b.addClass('cat');
    // Twelve images in each: ids run past 9, so a plain sort of unpadded names would reorder them.
    for (let i = 0; i < 12; i++) b.addSample(dog.id, rgbOf(3, i), 3, `d${i}`, 'train');
    for (let i = 0; i < 12; i++) b.addSample(cat.id, rgbOf(3, 50 + i), 3, `c${i}`, i < 4 ? 'validation' : 'train');
    const fs = b.dataFs();
    const train = await listImageFolder(fs, 'train', {});
    expect(train.classNames).toEqual(['cat', 'dog']);
    const files = train.entries.map((e) => e.path);
    expect(files.length).toBe(20);
    const dogs = train.entries.filter((e) => e.label === 1);
    for (const [i, e] of dogs.entries()) expect(Buffer.from(decodeBmp(await fs.readFile(e.path)).data).equals(Buffer.from(rgbOf(3, i)))).toBe(true);
    // Validation: the empty 'dog' folder is there too (the data module names it as empty).
    expect((await fs.readDir('validation')).map((e) => e.name).sort()).toEqual(['cat', 'dog']);
    expect((await fs.readDir('validation/cat')).length).toBe(4);
    await expect(fs.readFile('train/cat/nope.bmp')).rejects.toThrow(/no such image/);
  });
});

describe('projects', () => {
  it('round-trip the classes, images, settings, model and .onnx base', () => {
    const b = new ClassBoard();
    const a = b.addClass('a b');
    const c = b.addClass('ç');
    for (let i = 0; i < 7; i++) b.addSample(a.id, rgbOf(5, i), 5, `a${i}.png`);
    b.addSample(c.id, rgbOf(5, 9), 5, 'webcam', 'validation');
    const model = { name: 'run-1.safetensors', bytes: Uint8Array.from([1, 2, 3]) };
    const onnx = { name: 'my net.onnx', bytes: Uint8Array.from([9, 8, 7, 6]) };
    const settings = { ...SETTINGS, base: 'onnx:my net.onnx', onnx: { cut: 'x', pool: 'max' } };
    const p = readProject(writeProject(b, settings, model, onnx), 'p.wtproject.zip');
    expect(p.settings).toEqual(settings);
    expect(p.model).toEqual(model);
    expect(p.onnx).toEqual(onnx);
    expect(p.classes.map((k) => [k.name, k.samples.length])).toEqual([['a b', 7], ['ç', 1]]);
    expect(p.classes[0]!.samples.map((s) => s.split)).toEqual(a.samples.map((s) => s.split));
    expect(p.classes[1]!.samples[0]).toMatchObject({ size: 5, split: 'validation', origin: 'webcam' });
    expect(Buffer.from(p.classes[0]!.samples[3]!.bmp).equals(Buffer.from(a.samples[3]!.bmp))).toBe(true);
    const bare = readProject(writeProject(b, SETTINGS, null, null), 'q.zip');
    expect([bare.model, bare.onnx]).toEqual([null, null]);
  });

  it('refuse what is not a project, naming the file and the reason', () => {
    const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
    const good = JSON.parse(new TextDecoder().decode(readProjectJson(writeProject(new ClassBoard(), SETTINGS, null, null)))) as Record<string, unknown>;
    expect(() => readProject(Uint8Array.from([1, 2, 3]), 'x.zip')).toThrow(/^x\.zip: not a zip file/);
    expect(() => readProject(zipSync({ 'a.txt': enc('hi') }), 'x.zip')).toThrow(/^x\.zip: no project\.json inside/);
    expect(() => readProject(zipSync({ 'project.json': new TextEncoder().encode('{') }), 'x.zip')).toThrow(/project\.json is not valid JSON/);
    expect(() => readProject(zipSync({ 'project.json': enc({ ...good, format: 'other' }) }), 'x.zip')).toThrow(/not a webgpu-transfer project/);
    expect(() => readProject(zipSync({ 'project.json': enc({ ...good, version: 9 }) }), 'x.zip')).toThrow(/project version 9/);
    const withImage = { ...good, classes: [{ name: 'a', samples: [{ file: 'images/0/1.bmp', size: 4, split: 'train', origin: 'a.png' }] }] };
    expect(() => readProject(zipSync({ 'project.json': enc(withImage) }), 'x.zip')).toThrow(/image images\/0\/1\.bmp is missing/);
    expect(() => readProject(zipSync({ 'project.json': enc(withImage), 'images/0/1.bmp': encodeBmp(rgbOf(3, 1), 3, 3) }), 'x.zip')).toThrow(/is 3×3, the project says 4×4/);
    expect(() => readProject(zipSync({ 'project.json': enc({ ...good, model: { file: 'model.safetensors', name: 'm' } }) }), 'x.zip')).toThrow(/the model model\.safetensors is missing/);
  });
});

/** The project.json a fresh board writes, as a template for the broken ones above. */
function readProjectJson(zip: Uint8Array): Uint8Array {
  return unzipSync(zip)['project.json']!;
}
