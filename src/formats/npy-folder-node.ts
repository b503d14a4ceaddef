import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NamedArrays } from './types.js';
import { WeightFormatError } from './types.js';
import { parseNpy } from './npy.js';

/** Natural order: conv2 before conv10. */
export function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** Reads every `*.npy` in a folder (not recursive) into tensors named by the file name without `.npy`, in natural order. */
export async function readNpyFolder(dir: string): Promise<NamedArrays> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.npy')).sort(naturalCompare);
  if (!names.length) throw new WeightFormatError('no .npy files in the folder', dir);
  const out: NamedArrays = new Map();
  for (const n of names) {
    const path = join(dir, n);
    out.set(n.slice(0, -4), parseNpy(new Uint8Array(await readFile(path)), path));
  }
  return out;
}
