/**
 * MobileNetV2 1.0 with Keras layer names (Conv1, expanded_conv, block_1 … block_16, Conv_1) and the mapping from
 * the ONNX-zoo weight files `conv_N_{weight,bias}` (batch norm folded in, OIHW) onto it. Every 3×3 convolution has
 * symmetric padding 1, as in the ONNX graph (Keras' own MobileNetV2 pads stride-2 layers asymmetrically).
 */
import type { Engine } from '../engine/engine.js';
import { depthwiseOihwToHwcm, oihwToHwio } from '../formats/npy-folder.js';
import type { NamedArrays } from '../formats/types.js';
import { Conv2D } from '../nn/layers/conv2d.js';
import { InvertedResidual } from '../nn/layers/inverted-residual.js';
import { GlobalAveragePooling2D } from '../nn/layers/pooling.js';
import { ZeroPadding2D } from '../nn/layers/zero-padding.js';
import type { Layer } from '../nn/layer.js';
import { Sequential } from '../nn/sequential.js';
import { Rng } from '../util/rng.js';

/** (expansion t, output channels c, repeats n, first stride s) of each group of inverted-residual blocks. */
export const MOBILENET_V2_GROUPS: readonly (readonly [number, number, number, 1 | 2])[] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

export const MOBILENET_V2_INPUT = 224;
export const MOBILENET_V2_FEATURES = 1280;

/** The block names in order: 'expanded_conv', then 'block_1' … 'block_16'. */
export function mobileNetV2BlockNames(): string[] {
  const count = MOBILENET_V2_GROUPS.reduce((a, g) => a + g[2], 0);
  return Array.from({ length: count }, (_, i) => (i === 0 ? 'expanded_conv' : `block_${i}`));
}

/** Conv1 … Conv_1 and the global average pool: [N, 224, 224, 3] → [N, 1280]. */
export function mobileNetV2Layers(): Layer[] {
  const names = mobileNetV2BlockNames();
  // Symmetric padding 1 then a 'valid' convolution: Keras 'same' would pad only the bottom/right of even sizes.
  const layers: Layer[] = [
    new ZeroPadding2D('Conv1_pad', 1),
    new Conv2D('Conv1', { filters: 32, kernelSize: 3, strides: 2, padding: 'valid', activation: 'relu6' }),
  ];
  let channels = 32;
  let k = 0;
  for (const [t, c, n, s] of MOBILENET_V2_GROUPS) {
    for (let i = 0; i < n; i++) {
      layers.push(new InvertedResidual(names[k++]!, { expandChannels: t === 1 ? null : channels * t, outChannels: c, strides: i === 0 ? s : 1 }));
      channels = c;
    }
  }
  layers.push(new Conv2D('Conv_1', { filters: MOBILENET_V2_FEATURES, kernelSize: 1, activation: 'relu6' }));
  layers.push(new GlobalAveragePooling2D('global_average_pooling2d'));
  return layers;
}

export function buildMobileNetV2(e: Engine, opts: { inputSize?: number; seed?: number } = {}): Sequential {
  const size = opts.inputSize ?? MOBILENET_V2_INPUT;
  const model = new Sequential('mobilenetv2_1.00', mobileNetV2Layers(), { kind: 'Functional' });
  model.build([size, size, 3], { engine: e, rng: new Rng(opts.seed ?? 0) });
  return model;
}

/** The last two inverted-residual blocks and the final 1×1 convolution: what fine-tuning unfreezes. */
export function mobileNetV2TopLayers(): string[] {
  const names = mobileNetV2BlockNames();
  return [...names.slice(-2), 'Conv_1'];
}

/** ONNX file index → this model's layer, in the file order the README gives. */
function onnxConvTargets(): Map<number, { layer: string; depthwise: boolean }> {
  const m = new Map<number, { layer: string; depthwise: boolean }>();
  m.set(0, { layer: 'Conv1', depthwise: false });
  m.set(2, { layer: 'expanded_conv_depthwise', depthwise: true });
  m.set(4, { layer: 'expanded_conv_project', depthwise: false });
  const triples = [
    [5, 7, 9], [10, 12, 14], [16, 18, 20], [21, 23, 25], [27, 29, 31], [33, 35, 37], [38, 40, 42], [44, 46, 48],
    [50, 52, 54], [56, 58, 60], [61, 63, 65], [67, 69, 71], [73, 75, 77], [78, 80, 82], [84, 86, 88], [90, 92, 94],
  ];
  triples.forEach(([expand, dw, project], i) => {
    m.set(expand!, { layer: `block_${i + 1}_expand`, depthwise: false });
    m.set(dw!, { layer: `block_${i + 1}_depthwise`, depthwise: true });
    m.set(project!, { layer: `block_${i + 1}_project`, depthwise: false });
  });
  m.set(95, { layer: 'Conv_1', depthwise: false });
  return m;
}

/**
 * ONNX names → this model's names: 'conv_7_weight' [96, 1, 3, 3] becomes 'block_1_depthwise/depthwise_kernel'
 * [3, 3, 96, 1]; 'conv_5_weight' [96, 16, 1, 1] becomes 'block_1_expand/kernel' [1, 1, 16, 96]. The classifier
 * (gemm_*) is skipped: the backbone ends at the pooled 1280-d features.
 */
export function mobileNetV2WeightsFromOnnx(weights: NamedArrays): NamedArrays {
  const targets = onnxConvTargets();
  const out: NamedArrays = new Map();
  for (const [name, t] of weights) {
    if (/^gemm_\d+_(weight|bias)$/.test(name)) continue;
    const m = /^conv_(\d+)_(weight|bias)$/.exec(name);
    const target = m ? targets.get(Number(m[1])) : undefined;
    if (!m || !target) throw new Error(`MobileNetV2 weights: unexpected tensor '${name}'`);
    if (m[2] === 'bias') out.set(`${target.layer}/bias`, t);
    else if (t.shape.length !== 4) out.set(`${target.layer}/${target.depthwise ? 'depthwise_kernel' : 'kernel'}`, t);
    else if (target.depthwise) out.set(`${target.layer}/depthwise_kernel`, depthwiseOihwToHwcm(t));
    else out.set(`${target.layer}/kernel`, oihwToHwio(t));
  }
  return out;
}
