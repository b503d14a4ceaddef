// The VGG16 base written twice from the same layer table: with our functional ops and with TF.js ops
// (tf.fused.conv2d with bias + ReLU, tf.maxPool), the fastest form each library offers for a conv layer.
import type * as TF from '@tensorflow/tfjs';
import type { Engine, Tensor } from '../../src/engine/index.js';
import { conv2d, maxPool2d } from '../ops.js';
import type { Tf } from '../tfjs-setup.js';
import { type ConvLayer, weightsOf } from './vgg16-spec.js';

export interface OursConv {
  w: Tensor;
  b: Tensor;
}
export interface TfConv {
  w: TF.Tensor4D;
  b: TF.Tensor1D;
}

export function uploadOurs(e: Engine, layers: ConvLayer[]): Map<string, OursConv> {
  return new Map(
    layers.map((l) => {
      const { w, b } = weightsOf(l.name);
      const p = { w: e.keep(e.upload(w, [3, 3, l.cin, l.cout])), b: e.keep(e.upload(b, [l.cout])) };
      p.w.name = `${l.name}/kernel`;
      p.b.name = `${l.name}/bias`;
      return [l.name, p];
    }),
  );
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
 * intermediate is released as soon as the next exists, so peak memory is two activations, not all of them.
 */
export function oursForward(x: Tensor, layers: ConvLayer[], params: Map<string, OursConv>, freeEarly: boolean): Tensor {
  let h = x;
  const step = (next: Tensor): void => {
    if (freeEarly && h !== x) h.dispose();
    h = next;
  };
  layers.forEach((l, i) => {
    const p = params.get(l.name)!;
    step(conv2d(h, p.w, p.b, { padding: 'same', relu: true }));
    if (layers[i + 1]?.block !== l.block) step(maxPool2d(h, { size: 2, stride: 2 }));
  });
  return h;
}

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
