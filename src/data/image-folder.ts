import { listImageFolder, foundSummary, type ImageEntry, type ListOptions } from './directory.js';
import { BadImageError, BadImagesError, DatasetLayoutError, formatBadImages, type BadImage } from './errors.js';
import { sha256Hex } from './hash.js';
import type { DataFs, HostBatch, ImageDecoder, ImageSize, Interpolation, PixelCache, PixelKey } from './types.js';

export type OnBadImage = 'fail' | 'skip';

export interface ImageFolderOptions extends ListOptions {
  fs: DataFs;
  decoder: ImageDecoder;
  /** Decoded pixels by content; null decodes every time. */
  cache: PixelCache | null;
  /** [height, width], as Keras' target_size. */
  targetSize: ImageSize;
  /** Default 'nearest', as Keras' load_img. */
  interpolation?: Interpolation;
  /** 'fail' (default): the scan throws one error listing every bad file. 'skip': bad files are dropped and reported. */
  onBadImage?: OnBadImage;
  /** Receives the summary line and the skipped-file report (nothing in src/data prints). */
  log?: (line: string) => void;
  /** Files read/decoded at once during the scan (default 8). */
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
}

/** An image of the dataset that decoded: its content hash locates its pixels in the cache. */
export interface FolderImage extends ImageEntry {
  hash: string;
}

/**
 * A directory dataset with flow_from_directory semantics. `open` lists the class folders, then scans every file
 * before training starts: reads it, hashes it and decodes it unless the pixel cache already holds it (so the scan
 * fills the cache and a second run decodes nothing). Bad files (empty, truncated, corrupt, not an image) are
 * collected and either fail the open with one error listing all of them, or are dropped and reported.
 */
export class ImageFolder {
  private constructor(
    readonly root: string,
    readonly classNames: string[],
    readonly images: FolderImage[],
    readonly bad: BadImage[],
    readonly summary: string,
    private readonly opts: Required<Pick<ImageFolderOptions, 'fs' | 'decoder' | 'targetSize' | 'interpolation'>> & { cache: PixelCache | null },
  ) {}

  static async open(root: string, options: ImageFolderOptions): Promise<ImageFolder> {
    const listing = await listImageFolder(options.fs, root, options);
    const interpolation = options.interpolation ?? 'nearest';
    const [h, w] = options.targetSize;
    if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1) throw new Error(`targetSize must be two positive integers, got [${h}, ${w}]`);
    const method = `${options.decoder.id}-${interpolation}`;
    const { fs, decoder, cache } = options;
    const total = listing.entries.length;
    const results: (FolderImage | BadImage)[] = new Array(total);
    let next = 0;
    let done = 0;
    const worker = async (): Promise<void> => {
      while (next < total) {
        const i = next++;
        const entry = listing.entries[i]!;
        results[i] = await scanOne(entry);
        options.onProgress?.(++done, total);
      }
    };
    const scanOne = async (entry: ImageEntry): Promise<FolderImage | BadImage> => {
      let bytes: Uint8Array;
      try {
        bytes = await fs.readFile(entry.path);
      } catch (e) {
        return { path: entry.path, reason: `cannot read file (${e instanceof Error ? e.message : String(e)})` };
      }
      const hash = await sha256Hex(bytes);
      const key: PixelKey = { hash, height: h, width: w, method };
      if (cache && (await cache.has(key))) return { ...entry, hash };
      try {
        const pixels = await decoder.decode(bytes, entry.path, [h, w], interpolation);
        await cache?.put(key, pixels);
      } catch (e) {
        if (e instanceof BadImageError) return { path: e.path, reason: e.reason };
        throw e;
      }
      return { ...entry, hash };
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 8, total)) }, worker));

    const images = results.filter((r): r is FolderImage => 'hash' in r);
    const bad = results.filter((r): r is BadImage => !('hash' in r));
    if (bad.length && (options.onBadImage ?? 'fail') === 'fail') throw new BadImagesError(bad, root);
    const classNames = listing.classNames;
    const empty = classNames.filter((_, c) => !images.some((im) => im.label === c));
    if (empty.length) {
      const folders = empty.map((c) => fs.join(root, c)).join(', ');
      throw new DatasetLayoutError(`no usable image left in class folder${empty.length > 1 ? 's' : ''} ${folders} after skipping bad files:\n${formatBadImages(bad)}`, folders);
    }
    const summary = foundSummary(images.length, classNames.length);
    options.log?.(summary);
    if (bad.length) options.log?.(`Skipped ${bad.length} bad image file${bad.length === 1 ? '' : 's'}:\n${formatBadImages(bad)}`);
    return new ImageFolder(root, classNames, images, bad, summary, { fs, decoder, cache, targetSize: [h, w], interpolation });
  }

  get size(): number {
    return this.images.length;
  }

  get targetSize(): ImageSize {
    return this.opts.targetSize;
  }

  /** Class index of every image, in dataset order. */
  get labels(): Int32Array {
    return Int32Array.from(this.images, (im) => im.label);
  }

  /** Images per class, in class order. */
  get counts(): number[] {
    return this.classNames.map((_, c) => this.images.filter((im) => im.label === c).length);
  }

  /** The key of image `i`'s pixels in the cache. */
  keyOf(i: number): PixelKey {
    const [height, width] = this.opts.targetSize;
    return { hash: this.images[i]!.hash, height, width, method: `${this.opts.decoder.id}-${this.opts.interpolation}` };
  }

  /** H×W×3 RGB of image `i`: from the cache, or decoded (and cached) again if the entry is gone. */
  async load(i: number): Promise<Uint8Array> {
    const im = this.images[i];
    if (!im) throw new RangeError(`image index ${i} out of range (0..${this.images.length - 1})`);
    const key = this.keyOf(i);
    const cached = await this.opts.cache?.get(key);
    if (cached) return cached;
    const bytes = await this.opts.fs.readFile(im.path);
    const hash = await sha256Hex(bytes);
    if (hash !== im.hash) throw new Error(`${im.path} changed since the dataset was opened; open it again`);
    const pixels = await this.opts.decoder.decode(bytes, im.path, this.opts.targetSize, this.opts.interpolation);
    await this.opts.cache?.put(key, pixels);
    return pixels;
  }

  /** Images `indices` packed as N×H×W×3 bytes with their labels as 0/1 floats. */
  async loadBatch(indices: readonly number[]): Promise<HostBatch> {
    const [h, w] = this.opts.targetSize;
    const per = h * w * 3;
    const images = new Uint8Array(indices.length * per);
    const labels = new Float32Array(indices.length);
    await Promise.all(
      indices.map(async (idx, k) => {
        images.set(await this.load(idx), k * per);
        labels[k] = this.images[idx]!.label;
      }),
    );
    return { images, labels, indices: Int32Array.from(indices), size: indices.length, height: h, width: w };
  }
}
