import { copyFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(__dirname, '..', '..');
export const SHARED_DATA = resolve(repoRoot, '..', 'shared', 'data', 'cats_and_dogs_small');

const FIRST_INDEX = { train: 0, validation: 1000, test: 1500 } as const;

/**
 * Copies a few images per class of the book's split into `dir` (train/, validation/, test/ with cats/ and dogs/):
 * the first `counts[split]` files of each class, by Kaggle index.
 */
export async function makeTinyDataset(dir: string, counts: { train: number; validation: number; test: number }): Promise<string> {
  for (const split of ['train', 'validation', 'test'] as const) {
    for (const cls of ['cats', 'dogs']) {
      const out = join(dir, split, cls);
      await mkdir(out, { recursive: true });
      for (let i = 0; i < counts[split]; i++) {
        const name = `${cls.slice(0, -1)}.${FIRST_INDEX[split] + i}.jpg`;
        await copyFile(join(SHARED_DATA, split, cls, name), join(out, name));
      }
    }
  }
  return dir;
}
