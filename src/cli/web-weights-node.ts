import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseNpy } from '../formats/npy.js';
import { writeSafetensors } from '../formats/safetensors.js';
import type { NamedArrays } from '../formats/types.js';

/** A folder of `<tensor name>.npy` files as one safetensors file (what the browser app loads), names sorted naturally. */
export async function npyFolderToSafetensors(dir: string, model: string): Promise<Uint8Array> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.npy')).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  if (files.length === 0) throw new Error(`${dir}: no .npy files`);
  const tensors: NamedArrays = new Map();
  for (const f of files) tensors.set(f.slice(0, -4), parseNpy(await readFile(join(dir, f)), join(dir, f)));
  return writeSafetensors(tensors, { source: `${model} (NumPy folder, converted by the web server)` });
}
