/** Reads the converted VGG16 weights from disk (Node); null when the file does not exist. */
import { readFile } from 'node:fs/promises';
import { parseSafetensors } from '../formats/safetensors.js';
import type { NamedArrays } from '../formats/types.js';
import { VGG16_WEIGHTS_PATH } from './vgg16-weights.js';

export async function readVgg16Weights(path: string = VGG16_WEIGHTS_PATH): Promise<NamedArrays | null> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  return parseSafetensors(bytes, path).tensors;
}
