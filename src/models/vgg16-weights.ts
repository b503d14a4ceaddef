/** VGG16 weights: Keras names ('block1_conv1/kernel', HWIO [3, 3, 3, 64]) onto the base, or a loud random fallback. */
import { parameterCount } from '../formats/tensor.js';
import type { NamedArrays } from '../formats/types.js';
import type { Sequential } from '../nn/sequential.js';
import { randomWeightsWarning, type ModelLogger, type WeightsStatus } from './types.js';

/** Where the converted Keras ImageNet weights live (relative to the repository root). */
export const VGG16_WEIGHTS_PATH = 'weights/vgg16_notop.safetensors';
/** The Keras application file they are converted from. */
export const VGG16_KERAS_FILE = 'vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5';
export const VGG16_PARAMETERS = 14_714_688;

/**
 * The Keras 2 name of a stored weight: 'block1_conv1/kernel:0' and 'block1_conv1/block1_conv1/kernel:0' become
 * 'block1_conv1/kernel'; names already in that form are kept.
 */
export function kerasWeightName(name: string): string {
  const parts = name.replace(/:\d+$/, '').split('/');
  if (parts.length === 3 && parts[0] === parts[1]) parts.shift();
  return parts.join('/');
}

/**
 * Writes the weights into the base: every 'blockB_convK/kernel' [3, 3, in, out] and '/bias' [out] must be there with
 * its exact shape (one error names each missing or mismatched tensor with expected and found shapes). With
 * `weights === null` the Glorot initialisation stays and the warning goes to the logger and into the status.
 */
export function loadVgg16Weights(
  model: Sequential,
  weights: NamedArrays | null,
  opts: { logger: ModelLogger; source?: string; seed?: number; expectedPath?: string },
): WeightsStatus {
  if (!weights) {
    const warning = randomWeightsWarning('VGG16', opts.expectedPath ?? VGG16_WEIGHTS_PATH, opts.seed ?? 0);
    opts.logger.warn(warning);
    return { pretrained: false, source: `glorot-uniform(seed ${opts.seed ?? 0})`, parameters: model.countParams(), warning };
  }
  const renamed: NamedArrays = new Map();
  for (const [name, t] of weights) renamed.set(kerasWeightName(name), t);
  model.setWeights(renamed, opts.source ? { source: opts.source } : {});
  return { pretrained: true, source: opts.source ?? 'named arrays', parameters: parameterCount(renamed) };
}
