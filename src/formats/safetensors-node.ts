import { readFile } from 'node:fs/promises';
import type { NamedArrays } from './types.js';
import { parseSafetensors, writeSafetensors } from './safetensors.js';
import { writeFileAtomic } from './atomic-node.js';

export async function readSafetensorsFile(path: string): Promise<{ tensors: NamedArrays; metadata: Record<string, string> }> {
  return parseSafetensors(new Uint8Array(await readFile(path)), path);
}

/** Writes a .safetensors atomically. */
export async function writeSafetensorsFile(path: string, tensors: NamedArrays, metadata?: Record<string, string>): Promise<void> {
  await writeFileAtomic(path, writeSafetensors(tensors, metadata));
}
