import { readFile } from 'node:fs/promises';
import type { HostTensor } from './types.js';
import { parseNpy, writeNpy } from './npy.js';
import { writeFileAtomic } from './atomic-node.js';

export async function readNpyFile(path: string): Promise<HostTensor> {
  return parseNpy(new Uint8Array(await readFile(path)), path);
}

/** Writes a .npy atomically (e.g. extracted features [N, 4, 4, 512] or labels [N]). */
export async function writeNpyFile(path: string, t: HostTensor): Promise<void> {
  await writeFileAtomic(path, writeNpy(t));
}
