// The Node side of the GEMM tuning cache: one JSON file per adapter, `<cacheDir>/tuning/<adapter slug>.json`.
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { AdapterSummary } from '../engine/device.js';
import { writeFileAtomic } from '../formats/atomic-node.js';
import { adapterSlug, type TuneStore } from './tuner.js';

/** The default cache root of the CLI and the bench (`--cache-dir`). */
export const DEFAULT_CACHE_DIR = '.cache';

/** The tuning file of an adapter under a cache root. */
export function tuneCachePath(cacheDir: string, info: Pick<AdapterSummary, 'vendor' | 'architecture' | 'device' | 'description'>): string {
  return join(cacheDir, 'tuning', `${adapterSlug(info)}.json`);
}

/** A tuning cache file, written atomically (a reader sees the old file or the whole new one). */
export class NodeTuneStore implements TuneStore {
  readonly location: string;

  constructor(path: string) {
    this.location = path;
  }

  /** The store of `info`'s adapter under `cacheDir`. */
  static forAdapter(cacheDir: string, info: Pick<AdapterSummary, 'vendor' | 'architecture' | 'device' | 'description'>): NodeTuneStore {
    return new NodeTuneStore(tuneCachePath(cacheDir, info));
  }

  async load(): Promise<string | null> {
    try {
      return await readFile(this.location, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  async save(text: string): Promise<void> {
    await mkdir(dirname(this.location), { recursive: true });
    await writeFileAtomic(this.location, text);
  }
}
