/**
 * The demo sets and picked folders as sources that fill the class cards: their `train/<class>/…` and
 * `validation/<class>/…` images (sources.ts picks them) decoded once at the input size into the board, each keeping
 * its split. Files that cannot be decoded are left out and named.
 */
import type { ImageDecoder } from '../src/data/types.js';
import type { ClassBoard } from './classes.js';
import { TRAIN_DIR, VALIDATION_DIR, type PickedImages } from './sources.js';

export interface FillProgress {
  (done: number, total: number): void;
}

/** Replaces the board's classes with `picked`'s, decoding every image at `size`; returns the files left out. */
export async function fillBoard(board: ClassBoard, picked: PickedImages, size: number, decoder: ImageDecoder, progress: FillProgress, shouldStop: () => boolean = () => false): Promise<string[]> {
  const jobs: { cls: string; split: 'train' | 'validation'; path: string; name: string }[] = [];
  for (const [dir, split] of [[TRAIN_DIR, 'train'], [VALIDATION_DIR, 'validation']] as const) {
    for (const cls of picked.classes) {
      const folder = picked.fs.join(dir, cls);
      const entries = await picked.fs.readDir(folder).catch(() => []);
      for (const e of entries) if (e.kind === 'file') jobs.push({ cls, split, path: picked.fs.join(folder, e.name), name: e.name });
    }
  }
  // Decoded first, so a failure part-way leaves the board as it was.
  const decoded: { cls: string; split: 'train' | 'validation'; name: string; rgb: Uint8Array }[] = [];
  const bad: string[] = [];
  for (const [i, j] of jobs.entries()) {
    if (shouldStop()) throw new Error('stopped by the user; the classes are as they were');
    try {
      decoded.push({ ...j, rgb: await decoder.decode(await picked.fs.readFile(j.path), j.name, [size, size], 'nearest') });
    } catch (e) {
      bad.push(`${j.path}: ${(e as Error).message}`);
    }
    progress(i + 1, jobs.length);
  }
  board.clear();
  const ids = new Map(picked.classes.map((c) => [c, board.addClass(c).id] as const));
  for (const d of decoded) board.addSample(ids.get(d.cls)!, d.rgb, size, d.name, d.split);
  return bad;
}
