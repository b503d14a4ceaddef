// The whole-model cases run the library's own models on our side (buildVgg16, the recipe's transfer model) and the
// same network written with TF.js ops on the other (tf.fused.conv2d with bias + ReLU, tf.maxPool — the fastest form
// TF.js offers for a conv layer), both loaded with one set of host weights.
import type * as TF from '@tensorflow/tfjs';
import type { NamedArrays } from '../../src/formats/types.js';
import type { Tf } from '../tfjs-setup.js';
import { type ConvLayer, VGG16_CONVS, weightsOf } from './vgg16-spec.js';

export interface TfConv {
  w: TF.Tensor4D;
  b: TF.Tensor1D;
}

/** The conv weights of `layers` under their Keras names ('block1_conv1/kernel', '…/bias'). */
export function convArrays(layers: ConvLayer[] = VGG16_CONVS): NamedArrays {
  const m: NamedArrays = new Map();
  for (const l of layers) {
    const { w, b } = weightsOf(l.name);
    m.set(`${l.name}/kernel`, { shape: [3, 3, l.cin, l.cout], data: w });
    m.set(`${l.name}/bias`, { shape: [l.cout], data: b });
  }
  return m;
}

export function uploadTfjs(tf: Tf, layers: ConvLayer[], asVariables = false): Map<string, TfConv> {
  return new Map(
    layers.map((l) => {
      const { w, b } = weightsOf(l.name);
      const wt = tf.tensor4d(w, [3, 3, l.cin, l.cout]);
      const bt = tf.tensor1d(b);
      if (!asVariables) return [l.name, { w: wt, b: bt }];
      const p = { w: tf.variable(wt, true, `${l.name}/kernel`), b: tf.variable(bt, true, `${l.name}/bias`) };
      wt.dispose();
      bt.dispose();
      return [l.name, p];
    }),
  );
}

/**
 * Conv + bias + ReLU per layer, 2×2/2 max-pool after each block's last layer. With `freeEarly` (inference) each
 * intermediate is released as soon as the next exists, as our Sequential does.
 */
export function tfjsForward(tf: Tf, x: TF.Tensor4D, layers: ConvLayer[], params: Map<string, TfConv>, freeEarly: boolean): TF.Tensor4D {
  let h = x;
  const step = (next: TF.Tensor4D): void => {
    if (freeEarly && h !== x) h.dispose();
    h = next;
  };
  layers.forEach((l, i) => {
    const p = params.get(l.name)!;
    step(tf.fused.conv2d({ x: h, filter: p.w, strides: 1, pad: 'same', bias: p.b, activation: 'relu' }));
    if (layers[i + 1]?.block !== l.block) step(tf.maxPool(h, 2, 2, 'valid'));
  });
  return h;
}
