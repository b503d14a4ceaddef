export type WeightsFormat = 'safetensors' | 'keras-h5' | 'tfjs-layers' | 'npy' | 'npy-folder';

const startsWith = (b: Uint8Array, sig: number[]): boolean => sig.every((x, i) => b[i] === x);

/** Guesses a weight file's format from its first bytes, then its name; null when neither says. */
export function detectWeightsFormat(name: string, head: Uint8Array): Exclude<WeightsFormat, 'npy-folder'> | null {
  if (startsWith(head, [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a])) return 'keras-h5';
  if (startsWith(head, [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59])) return 'npy';
  const lower = name.toLowerCase();
  if (lower.endsWith('.safetensors')) return 'safetensors';
  if (lower.endsWith('.json')) return 'tfjs-layers';
  if (lower.endsWith('.h5') || lower.endsWith('.hdf5')) return 'keras-h5';
  if (lower.endsWith('.npy')) return 'npy';
  // A safetensors header: small little-endian length, then '{'.
  if (head.length >= 9 && head[8] === 0x7b && head[5] === 0 && head[6] === 0 && head[7] === 0) return 'safetensors';
  return null;
}
