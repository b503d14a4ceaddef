import { DiskPixelCache } from './cache-node.js';
import { SharpImageDecoder } from './decoder-node.js';
import { nodeDataFs } from './fs-node.js';
import { ImageFolder, type ImageFolderOptions } from './image-folder.js';
import type { ImageDecoder, PixelCache } from './types.js';

export interface NodeImageFolderOptions extends Omit<ImageFolderOptions, 'fs' | 'decoder' | 'cache'> {
  /** Pixel cache folder (default `.cache/pixels` under the working directory); null disables the cache. */
  cacheDir?: string | null;
  /** A cache object to share between folders (overrides cacheDir). */
  cache?: PixelCache;
  /** Keep decoded pixels in memory too (default true: 2000 images of 150×150 take 135 MB). */
  keepInMemory?: boolean;
  decoder?: ImageDecoder;
}

/** Opens a flow_from_directory folder on disk with sharp and the on-disk pixel cache. */
export function openImageFolder(root: string, options: NodeImageFolderOptions): Promise<ImageFolder> {
  const cache = options.cache ?? (options.cacheDir === null ? null : new DiskPixelCache({ dir: options.cacheDir, keepInMemory: options.keepInMemory ?? true }));
  return ImageFolder.open(root, { ...options, fs: nodeDataFs, decoder: options.decoder ?? new SharpImageDecoder(), cache });
}
