import { readNpyFolder } from '../formats/npy-folder-node.js';
import { writeSafetensors } from '../formats/safetensors.js';

/** A folder of `<tensor name>.npy` files as one safetensors file (what the browser app loads), in natural name order. */
export async function npyFolderToSafetensors(dir: string, model: string): Promise<Uint8Array> {
  return writeSafetensors(await readNpyFolder(dir), { source: `${model} (NumPy folder, converted by the web server)` });
}
