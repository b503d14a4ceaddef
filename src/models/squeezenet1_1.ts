/**
 * SqueezeNet 1.1 (torchvision / Gluon definition) with Caffe-style layer names, and the mapping from the Gluon
 * weight files `squeezenet0_convN_{weight,bias}` (OIHW) onto it.
 *
 * Pooling rounds up (ceil_mode, as in Gluon and torchvision). At 224×224 floor and ceil give the same sizes
 * (111 → 55 → 27 → 13, every window fits exactly), which is why the 224×224 reference pairs cannot tell them apart;
 * at other sizes (150: 74 → 37 vs 36) only ceil reproduces the original framework.
 */
import type { Engine } from '../engine/engine.js';
import { oihwToHwio } from '../formats/npy-folder.js';
import type { NamedArrays } from '../formats/types.js';
import { Conv2D } from '../nn/layers/conv2d.js';
import { Dropout } from '../nn/layers/dropout.js';
import { Fire } from '../nn/layers/fire.js';
import { GlobalAveragePooling2D, MaxPool2D } from '../nn/layers/pooling.js';
import type { Layer } from '../nn/layer.js';
import { Sequential } from '../nn/sequential.js';
import { Rng } from '../util/rng.js';

/** [squeeze, expand1x1, expand3x3] channels of fire2 … fire9. */
export const SQUEEZENET_FIRES: readonly (readonly [number, number, number])[] = [
  [16, 64, 64],
  [16, 64, 64],
  [32, 128, 128],
  [32, 128, 128],
  [48, 192, 192],
  [48, 192, 192],
  [64, 256, 256],
  [64, 256, 256],
];

export const SQUEEZENET_INPUT = 224;
export const SQUEEZENET_CLASSES = 1000;

function pool(name: string): MaxPool2D {
  return new MaxPool2D(name, { poolSize: 3, strides: 2, ceilMode: true });
}

/** conv1 … fire9: the 512-channel feature map (13×13 at 224). */
export function squeezeNetFeatureLayers(): Layer[] {
  const fires = SQUEEZENET_FIRES.map(([s, e1, e3], i) => new Fire(`fire${i + 2}`, { squeeze: s, expand1x1: e1, expand3x3: e3 }));
  return [
    new Conv2D('conv1', { filters: 64, kernelSize: 3, strides: 2, padding: 'valid', activation: 'relu' }),
    pool('pool1'),
    fires[0]!,
    fires[1]!,
    pool('pool3'),
    fires[2]!,
    fires[3]!,
    pool('pool5'),
    ...fires.slice(4),
  ];
}

/**
 * The network for inputs of `inputSize`. `includeTop`: dropout, conv10 (1×1 to 1000 classes, ReLU) and global average
 * pooling → class scores; otherwise global average pooling of the fire9 output → 512-d features.
 */
export function buildSqueezeNet11(e: Engine, opts: { includeTop?: boolean; inputSize?: number; seed?: number } = {}): Sequential {
  const size = opts.inputSize ?? SQUEEZENET_INPUT;
  const top: Layer[] = opts.includeTop
    ? [new Dropout('drop9', 0.5), new Conv2D('conv10', { filters: SQUEEZENET_CLASSES, kernelSize: 1, activation: 'relu' }), new GlobalAveragePooling2D('pool10')]
    : [new GlobalAveragePooling2D('features_pool')];
  const model = new Sequential('squeezenet1_1', [...squeezeNetFeatureLayers(), ...top], { kind: 'Functional' });
  model.build([size, size, 3], { engine: e, rng: new Rng(opts.seed ?? 0) });
  return model;
}

/** The layer name each Gluon convolution index belongs to. */
function gluonConvTarget(index: number): string {
  if (index === 0) return 'conv1';
  if (index === 25) return 'conv10';
  const fire = Math.floor((index - 1) / 3);
  const part = ['squeeze1x1', 'expand1x1', 'expand3x3'][(index - 1) % 3]!;
  return `fire${fire + 2}/${part}`;
}

/**
 * Gluon names → this model's names, kernels OIHW → HWIO: 'squeezenet0_conv3_weight' [64, 16, 3, 3] becomes
 * 'fire2/expand3x3/kernel' [3, 3, 16, 64]. Names that are not SqueezeNet convolutions are refused.
 */
export function squeezeNetWeightsFromGluon(weights: NamedArrays, opts: { includeTop?: boolean } = {}): NamedArrays {
  const out: NamedArrays = new Map();
  for (const [name, t] of weights) {
    const m = /^squeezenet0_conv(\d+)_(weight|bias)$/.exec(name);
    if (!m) throw new Error(`SqueezeNet weights: unexpected tensor '${name}' (expected squeezenet0_convN_weight / _bias)`);
    const index = Number(m[1]);
    if (index > 25) throw new Error(`SqueezeNet weights: unexpected tensor '${name}' (convolutions are numbered 0–25)`);
    if (index === 25 && !opts.includeTop) continue;
    const target = gluonConvTarget(index);
    if (m[2] === 'bias') out.set(`${target}/bias`, t);
    else out.set(`${target}/kernel`, t.shape.length === 4 ? oihwToHwio(t) : t);
  }
  return out;
}
