import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pixelBytes, pixelGroup } from './cache.js';
import type { CacheCounters, PixelCache, PixelKey } from './types.js';

export const DEFAULT_PIXEL_CACHE_DIR = '.cache/pixels';

export interface DiskPixelCacheOptions {
  /** Where the files go; default `.cache/pixels` under the working directory. */
  dir?: string;
  /** Also keep every image read or written in memory, so later epochs do not touch the disk (≈67 KB per 150×150 image). */
  keepInMemory?: boolean;
}

/**
 * Decoded, resized RGB pixels on disk, one raw file per image: `<dir>/<method>-<H>x<W>/<hash[0:2]>/<hash>.rgb`,
 * keyed by the SHA-256 of the source file's bytes, so a changed file misses and identical files share an entry.
 * Files are written to a temporary name and renamed, so concurrent runs and interrupted writes never leave a partial
 * entry; a file of the wrong length is treated as a miss and rewritten.
 */
export class DiskPixelCache implements PixelCache {
  readonly dir: string;
  readonly counters: CacheCounters = { hits: 0, misses: 0, writes: 0 };
  private readonly memory: Map<string, Uint8Array> | null;
  private readonly madeDirs = new Set<string>();

  constructor(options: DiskPixelCacheOptions = {}) {
    this.dir = resolve(options.dir ?? DEFAULT_PIXEL_CACHE_DIR);
    this.memory = options.keepInMemory ? new Map() : null;
  }

  private folder(key: PixelKey): string {
    if (!/^[0-9a-f]{16,}$/.test(key.hash)) throw new Error(`pixel cache: invalid content hash "${key.hash}"`);
    if (!/^[A-Za-z0-9_.-]+$/.test(key.method)) throw new Error(`pixel cache: invalid method name "${key.method}"`);
    return join(this.dir, pixelGroup(key), key.hash.slice(0, 2));
  }

  /** The file that holds `key`'s pixels. */
  pathOf(key: PixelKey): string {
    return join(this.folder(key), `${key.hash}.rgb`);
  }

  async get(key: PixelKey): Promise<Uint8Array | null> {
    const file = this.pathOf(key);
    const mem = this.memory?.get(file);
    if (mem) {
      this.counters.hits++;
      return mem;
    }
    try {
      const buf = await readFile(file);
      if (buf.length === pixelBytes(key)) {
        this.counters.hits++;
        const pixels = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
        this.memory?.set(file, pixels);
        return pixels;
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    this.counters.misses++;
    return null;
  }

  async has(key: PixelKey): Promise<boolean> {
    const file = this.pathOf(key);
    let ok = this.memory?.has(file) ?? false;
    if (!ok) ok = await stat(file).then((s) => s.size === pixelBytes(key), () => false);
    if (ok) this.counters.hits++;
    else this.counters.misses++;
    return ok;
  }

  async put(key: PixelKey, pixels: Uint8Array): Promise<void> {
    if (pixels.length !== pixelBytes(key)) throw new Error(`pixel cache: ${pixels.length} bytes for ${key.height}×${key.width}×3`);
    const folder = this.folder(key);
    if (!this.madeDirs.has(folder)) {
      await mkdir(folder, { recursive: true });
      this.madeDirs.add(folder);
    }
    const file = this.pathOf(key);
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      await writeFile(tmp, pixels);
      await rename(tmp, file);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
    this.memory?.set(file, pixels);
    this.counters.writes++;
  }
}
