import type { CacheCounters, PixelCache, PixelKey } from './types.js';

/** The directory-like name of a key's group: one per (method, size). */
export function pixelGroup(key: PixelKey): string {
  return `${key.method}-${key.height}x${key.width}`;
}

export function pixelBytes(key: PixelKey): number {
  return key.height * key.width * 3;
}

/** Decoded pixels in memory (the browser's cache, and a fast layer for tests). */
export class MemoryPixelCache implements PixelCache {
  private readonly map = new Map<string, Uint8Array>();
  readonly counters: CacheCounters = { hits: 0, misses: 0, writes: 0 };

  private id(key: PixelKey): string {
    return `${pixelGroup(key)}/${key.hash}`;
  }

  async get(key: PixelKey): Promise<Uint8Array | null> {
    const v = this.map.get(this.id(key));
    if (v && v.length === pixelBytes(key)) {
      this.counters.hits++;
      return v;
    }
    this.counters.misses++;
    return null;
  }

  async has(key: PixelKey): Promise<boolean> {
    return (await this.get(key)) !== null;
  }

  async put(key: PixelKey, pixels: Uint8Array): Promise<void> {
    if (pixels.length !== pixelBytes(key)) throw new Error(`pixel cache: ${pixels.length} bytes for ${key.height}×${key.width}×3`);
    this.map.set(this.id(key), pixels);
    this.counters.writes++;
  }

  get entries(): number {
    return this.map.size;
  }

  clear(): void {
    this.map.clear();
  }
}
