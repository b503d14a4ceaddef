/**
 * Input preprocessing a backbone's weights expect, applied to RGB pixels in [0, 255] (the GPU kernel is
 * kernels/preprocess.ts, its float64 oracle reference/preprocess.ts):
 * - `rescale`: x / 255 (the book's ImageDataGenerator(rescale=1/255));
 * - `imagenet`: (x / 255 − mean) / std per channel, mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225) (torchvision models);
 * - `caffe`: RGB → BGR, minus the ImageNet BGR mean [103.939, 116.779, 123.68], no scaling (Keras VGG16's `preprocess_input`).
 */
export type PreprocessMode = 'rescale' | 'imagenet' | 'caffe';

/** Pixel bytes → [0, 1]: the factor of 'rescale' and 'imagenet'. */
export const RESCALE = 1 / 255;
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;
/** Keras 'caffe' mode subtracts these from B, G, R (in that order, after swapping RGB → BGR). */
export const CAFFE_BGR_MEAN = [103.939, 116.779, 123.68] as const;
