// Node implementations of the data pipeline's interfaces: sharp decoding, the on-disk pixel cache, file access.
export { SharpImageDecoder } from './decoder-node.js';
export { DiskPixelCache, DEFAULT_PIXEL_CACHE_DIR, type DiskPixelCacheOptions } from './cache-node.js';
export { nodeDataFs } from './fs-node.js';
export { openImageFolder, type NodeImageFolderOptions } from './image-folder-node.js';
