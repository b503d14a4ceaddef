// The data pipeline's platform-neutral API (Node-only parts: ./node.ts; browser decoder and file list: *-browser.ts).
export type { Interpolation, ImageSize, RawImage, HostBatch, ImageDecoder, DirEntry, DataFs, WritableDataFs, PixelKey, PixelCache, CacheCounters } from './types.js';
export { nearestIndices, resizeNearest, resizeBilinear, resizeRgb } from './resize.js';
export { decodeBmp } from './bmp.js';
export { BaseImageDecoder } from './decode-common.js';
export { BrowserImageDecoder } from './decoder-browser.js';
export { filesDataFs } from './fs-browser.js';
export { BadImageError, BadImagesError, DatasetLayoutError, formatBadImages, type BadImage } from './errors.js';
export { IMAGE_EXTENSIONS, hasImageExtension, sniffImageFormat, precheckImage, describeDecodeFailure, type ImageFormat } from './sniff.js';
export { sha256Hex } from './hash.js';
export { MemoryPixelCache, pixelGroup, pixelBytes } from './cache.js';
export { listImageFolder, foundSummary, classFolderMismatch, type ImageEntry, type ImageFolderListing, type ListOptions } from './directory.js';
export { ImageFolder, type ImageFolderOptions, type FolderImage, type OnBadImage } from './image-folder.js';
export {
  BOOK_AUGMENTATION,
  IDENTITY_AUGMENT,
  sampleAugmentParams,
  sampleAugmentBatch,
  augmentParamsToMatrix,
  zoomInterval,
  type AugmentConfig,
  type AugmentParams,
} from './augment-params.js';
export { KAGGLE_CLASSES, planKaggleSplit, kaggleSplit, type KaggleClass, type KaggleSplitOptions, type SplitPlan, type SplitCopy } from './kaggle-split.js';
