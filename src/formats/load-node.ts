// One entry point for the CLI: any supported weight file or folder → named tensors.
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { NamedArrays } from './types.js';
import { WeightFormatError } from './types.js';
import { type WeightsFormat, detectWeightsFormat } from './detect.js';
import { parseSafetensors } from './safetensors.js';
import { parseNpy } from './npy.js';
import { parseKerasH5 } from './keras-h5.js';
import { readNpyFolder } from './npy-folder-node.js';
import { readTfjsLayers } from './tfjs-layers-node.js';
import type { TfjsCoverage } from './tfjs-layers.js';
import { sha256Hex } from './checksum.js';

export interface LoadedWeights {
  format: WeightsFormat;
  tensors: NamedArrays;
  metadata: Record<string, string>;
  /** SHA-256 of the file itself (single-file formats). */
  fileSha256?: string;
  /** For TF.js models: what the shards cover (always complete unless allowPartial). */
  coverage?: TfjsCoverage;
  /** For TF.js models with a hash list: the shards that verified. */
  verified?: string[];
}

export interface LoadWeightsOptions {
  /** TF.js only: `<shard> <git-blob sha1>` list to verify against. */
  hashesFile?: string;
  /** TF.js only: accept missing shards and return what is covered. */
  allowPartial?: boolean;
}

/** Loads a .safetensors, Keras .h5, TF.js model.json, single .npy or folder of .npy files. */
export async function loadWeights(path: string, opts: LoadWeightsOptions = {}): Promise<LoadedWeights> {
  const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
    throw new WeightFormatError(e.code === 'ENOENT' ? 'no such file or folder' : e.message, path);
  });
  if (st.isDirectory()) return { format: 'npy-folder', tensors: await readNpyFolder(path), metadata: {} };
  const bytes = new Uint8Array(await readFile(path));
  const format = detectWeightsFormat(basename(path), bytes.subarray(0, 16));
  if (!format) throw new WeightFormatError('unrecognised weight file (expected .safetensors, .h5, model.json, .npy or a folder of .npy)', path);
  if (format !== 'tfjs-layers' && (opts.hashesFile || opts.allowPartial)) {
    throw new WeightFormatError('--hashes and --allow-partial apply to TF.js model.json only', path);
  }
  const fileSha256 = await sha256Hex(bytes);
  switch (format) {
    case 'safetensors': {
      const { tensors, metadata } = parseSafetensors(bytes, path);
      return { format, tensors, metadata, fileSha256 };
    }
    case 'npy':
      return { format, tensors: new Map([[basename(path).replace(/\.npy$/i, ''), parseNpy(bytes, path)]]), metadata: {}, fileSha256 };
    case 'keras-h5':
      return { format, tensors: await parseKerasH5(bytes, path), metadata: {}, fileSha256 };
    case 'tfjs-layers': {
      const r = await readTfjsLayers(path, {
        ...(opts.hashesFile ? { hashesFile: opts.hashesFile } : {}),
        ...(opts.allowPartial ? { allowPartial: true } : {}),
      });
      const metadata: Record<string, string> = {};
      if (r.manifest.format) metadata.format = r.manifest.format;
      if (r.manifest.generatedBy) metadata.generatedBy = r.manifest.generatedBy;
      if (r.manifest.convertedBy) metadata.convertedBy = r.manifest.convertedBy;
      return { format, tensors: r.tensors, metadata, fileSha256, coverage: r.coverage, verified: r.verified };
    }
  }
}
