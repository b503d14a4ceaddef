import { readFile } from 'node:fs/promises';
import type { NamedArrays } from './types.js';
import { type KerasH5WriteOptions, parseKerasH5, writeKerasH5 } from './keras-h5.js';
import { writeFileAtomic } from './atomic-node.js';

export async function readKerasH5File(path: string): Promise<NamedArrays> {
  return parseKerasH5(new Uint8Array(await readFile(path)), path);
}

/** Writes tensors in the Keras weights layout, atomically. */
export async function writeKerasH5File(path: string, tensors: NamedArrays, layerOrder: string[], opts?: KerasH5WriteOptions): Promise<void> {
  await writeFileAtomic(path, await writeKerasH5(tensors, layerOrder, opts));
}
