/** Reads a backbone's weights from disk in its native format (Node); null when they are not there. */
import { access } from 'node:fs/promises';
import { readNpyFolder } from '../formats/npy-folder-node.js';
import type { NamedArrays } from '../formats/types.js';
import { DEFAULT_WEIGHTS_PATHS } from './registry.js';
import type { BuiltinBackboneName } from './types.js';
import { readVgg16Weights } from './vgg16-weights-node.js';

export async function readBackboneWeights(name: BuiltinBackboneName, path: string = DEFAULT_WEIGHTS_PATHS[name]): Promise<NamedArrays | null> {
  if (name === 'vgg16') return readVgg16Weights(path);
  const exists = await access(path).then(
    () => true,
    () => false,
  );
  return exists ? readNpyFolder(path) : null;
}
