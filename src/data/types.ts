/** Shared data-pipeline types: images, decoders, the small file-system and cache interfaces the pipeline is given. */

/** How a decoded image is resized to the target size (Keras `load_img`: nearest by default, as Pillow does it). */
export type Interpolation = 'nearest' | 'bilinear';

/** Target size as Keras' `target_size`: [height, width]. */
export type ImageSize = readonly [height: number, width: number];

/** A decoded image: `data` is height × width × 3 RGB bytes, row-major. */
export interface RawImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * Turns image file bytes into RGB pixels. One implementation per platform (sharp in Node, createImageBitmap in the
 * browser); both resize with the same Pillow-compatible code, so only the codecs differ.
 */
export interface ImageDecoder {
  /** Names the codec route; part of the pixel-cache key, since two routes may decode a JPEG slightly differently. */
  readonly id: string;
  /** Full-size RGB (EXIF orientation applied; greyscale, alpha, palette and CMYK converted to RGB). */
  decodeRaw(bytes: Uint8Array, name: string): Promise<RawImage>;
  /** RGB resized to `size` ([height, width]); `size` null keeps the image's own size. */
  decode(bytes: Uint8Array, name: string, size: ImageSize | null, interpolation: Interpolation): Promise<Uint8Array>;
}

/** One batch on the host: images N×H×W×3 bytes (RGB), labels as floats (class index: 0/1 for two classes). */
export interface HostBatch {
  images: Uint8Array;
  labels: Float32Array;
  /** Dataset indices of the images, in batch order. */
  indices: Int32Array;
  size: number;
  height: number;
  width: number;
}

export interface DirEntry {
  name: string;
  kind: 'file' | 'dir' | 'other';
}

/** The read-only file access the data pipeline needs; Node and browser each provide one. */
export interface DataFs {
  readDir(path: string): Promise<DirEntry[]>;
  readFile(path: string): Promise<Uint8Array>;
  join(...parts: string[]): string;
}

/** What `data split` additionally needs. */
export interface WritableDataFs extends DataFs {
  exists(path: string): Promise<boolean>;
  mkdir(path: string): Promise<void>;
  copyFile(from: string, to: string): Promise<void>;
}

/** Identifies one decoded-and-resized image: the file's content hash, the target size and how it was produced. */
export interface PixelKey {
  /** Hex SHA-256 of the file's bytes. */
  hash: string;
  height: number;
  width: number;
  /** Decoder id and interpolation, e.g. `sharp-nearest`. */
  method: string;
}

export interface CacheCounters {
  hits: number;
  misses: number;
  writes: number;
}

/** Decoded pixels by content; a second epoch or run finds every image here and decodes nothing. */
export interface PixelCache {
  get(key: PixelKey): Promise<Uint8Array | null>;
  /** Whether `key` is stored (counted as a hit or miss like `get`, without reading the pixels). */
  has(key: PixelKey): Promise<boolean>;
  put(key: PixelKey, pixels: Uint8Array): Promise<void>;
  readonly counters: CacheCounters;
}
