/** The VGG16 convolutional base exactly as Keras builds it with include_top=False. */
import type { Engine } from '../engine/engine.js';
import { Conv2D } from '../nn/layers/conv2d.js';
import { MaxPool2D } from '../nn/layers/pooling.js';
import type { Layer } from '../nn/layer.js';
import { Sequential } from '../nn/sequential.js';
import { Rng } from '../util/rng.js';

/** Filters of the convolutions of each block; every block ends in a 2×2 max-pool with stride 2. */
export const VGG16_BLOCKS: readonly (readonly number[])[] = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]];

export const VGG16_DEFAULT_INPUT = 150;
/** The smallest input for which every pool still has a 2×2 window (32 → 1×1×512). */
export const VGG16_MIN_INPUT = 32;

/** The layers block1_conv1 … block5_pool (3×3 'same' convolutions with fused ReLU, 2×2 pools), not yet built. */
export function vgg16Layers(): Layer[] {
  const layers: Layer[] = [];
  VGG16_BLOCKS.forEach((filters, b) => {
    filters.forEach((f, i) => layers.push(new Conv2D(`block${b + 1}_conv${i + 1}`, { filters: f, kernelSize: 3, padding: 'same', activation: 'relu' })));
    layers.push(new MaxPool2D(`block${b + 1}_pool`, { poolSize: 2, strides: 2 }));
  });
  return layers;
}

/** The names of the 13 convolutions, in order. */
export function vgg16ConvNames(): string[] {
  return VGG16_BLOCKS.flatMap((filters, b) => filters.map((_, i) => `block${b + 1}_conv${i + 1}`));
}

/** Builds the base for square inputs of `inputSize` (≥ 32) with Glorot-uniform kernels from `seed` and zero biases. */
export function buildVgg16(e: Engine, opts: { inputSize?: number; seed?: number } = {}): Sequential {
  const size = opts.inputSize ?? VGG16_DEFAULT_INPUT;
  if (!Number.isInteger(size) || size < VGG16_MIN_INPUT) throw new Error(`VGG16 needs inputs of at least ${VGG16_MIN_INPUT}×${VGG16_MIN_INPUT}, got ${size}`);
  const model = new Sequential('vgg16', vgg16Layers(), { kind: 'Functional' });
  model.build([size, size, 3], { engine: e, rng: new Rng(opts.seed ?? 0) });
  return model;
}
