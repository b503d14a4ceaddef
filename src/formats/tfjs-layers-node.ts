import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { WeightFormatError } from './types.js';
import { type TfjsLoadResult, type TfjsManifest, loadTfjsLayers, parseHashList, parseTfjsModelJson } from './tfjs-layers.js';

export interface ReadTfjsOptions {
  /** A file of `<shard> <git-blob sha1>` lines to verify the shards against. */
  hashesFile?: string;
  allowPartial?: boolean;
  shardSizes?: Map<string, number>;
}

/** Reads model.json and the shards beside it (absent shards are left to loadTfjsLayers to report). */
export async function readTfjsLayers(modelJson: string, opts: ReadTfjsOptions = {}): Promise<TfjsLoadResult & { manifest: TfjsManifest }> {
  const manifest = parseTfjsModelJson(new Uint8Array(await readFile(modelJson)), modelJson);
  const shards = new Map<string, Uint8Array>();
  for (const p of manifest.groups.flatMap((g) => g.paths)) {
    if (isAbsolute(p) || p.split(/[\\/]/).includes('..') || /^[a-z][a-z0-9+.-]*:/i.test(p)) {
      throw new WeightFormatError(`shard path '${p}' is not a plain relative path`, modelJson);
    }
    try {
      shards.set(p, new Uint8Array(await readFile(join(dirname(modelJson), p))));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  const hashes = opts.hashesFile ? parseHashList(await readFile(opts.hashesFile, 'utf8'), opts.hashesFile) : undefined;
  const result = await loadTfjsLayers(manifest, shards, {
    file: modelJson,
    ...(hashes ? { hashes } : {}),
    ...(opts.allowPartial ? { allowPartial: true } : {}),
    ...(opts.shardSizes ? { shardSizes: opts.shardSizes } : {}),
  });
  return { ...result, manifest };
}
