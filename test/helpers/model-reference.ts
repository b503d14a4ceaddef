/**
 * Float64 forward passes of whole backbones, composed from src/reference/* and written from the architecture
 * descriptions (the Keras VGG16 layer list; the MobileNetV2 file-by-file wiring of the weights README), not from
 * the engine's layer classes, so a wiring or weight-mapping mistake in src/models shows up as a mismatch.
 */
import type { NamedArrays } from '../../src/formats/types.js';
import { refConv2d, refConvGeometry } from '../../src/reference/conv2d.js';
import { depthwiseForward } from '../../src/reference/depthwise.js';
import { refAdd } from '../../src/reference/elementwise.js';
import { refZeroPad } from '../../src/reference/pad.js';
import { refGlobalAvgPool, refMaxPool } from '../../src/reference/pool.js';
import { relu6Ref } from '../../src/reference/relu6.js';

export interface Act {
  x: Float64Array;
  shape: number[];
}

function get(weights: NamedArrays, name: string): Float32Array {
  const t = weights.get(name);
  if (!t) throw new Error(`reference: no tensor '${name}'`);
  return t.data as Float32Array;
}

function shapeOf(weights: NamedArrays, name: string): number[] {
  return weights.get(name)!.shape;
}

/** conv with an HWIO kernel (Keras padding rules). */
export function conv(a: Act, w: ArrayLike<number>, wShape: number[], b: ArrayLike<number> | null, stride: 1 | 2, padding: 'same' | 'valid', relu: boolean): Act {
  const [kh, kw, cin, cout] = wShape as [number, number, number, number];
  const [n, h, wd, c] = a.shape as [number, number, number, number];
  if (c !== cin) throw new Error(`reference conv: ${c} input channels for a kernel of ${cin}`);
  const g = refConvGeometry({ n, h, w: wd, cin, kh, kw, cout, stride, padding });
  return { x: refConv2d(a.x, w, b, g, relu), shape: [n, g.oh, g.ow, cout] };
}

/** OIHW → HWIO, written out here so the test does not rely on the converter it checks. */
export function oihwToHwioRef(src: ArrayLike<number>, shape: number[]): { w: Float64Array; shape: number[] } {
  const [o, i, kh, kw] = shape as [number, number, number, number];
  const w = new Float64Array(src.length);
  for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) w[((y * kw + x) * i + b) * o + a] = src[((a * i + b) * kh + y) * kw + x]!;
  return { w, shape: [kh, kw, i, o] };
}

/** VGG16 (include_top=False) from Keras-named weights on one NHWC image of size s×s. */
export function vgg16Reference(weights: NamedArrays, image: ArrayLike<number>, s: number): Float64Array {
  let a: Act = { x: Float64Array.from(image), shape: [1, s, s, 3] };
  const blocks = [2, 2, 3, 3, 3];
  blocks.forEach((convs, bi) => {
    for (let k = 1; k <= convs; k++) {
      const name = `block${bi + 1}_conv${k}`;
      a = conv(a, get(weights, `${name}/kernel`), shapeOf(weights, `${name}/kernel`), get(weights, `${name}/bias`), 1, 'same', true);
    }
    const p = refMaxPool(a.x, a.shape, { size: 2, stride: 2 });
    a = { x: p.y, shape: p.shape };
  });
  return a.x;
}

/**
 * MobileNetV2 pooled features straight from the ONNX-named files (conv_N_weight OIHW, conv_N_bias), following the
 * README: conv_0 3×3 s2 + ReLU6, conv_2 depthwise + ReLU6, conv_4 1×1 linear, the inverted-residual triples with
 * their strides, conv_95 1×1 + ReLU6, global average pool. Every 3×3 has symmetric padding 1.
 */
export function mobileNetV2Reference(onnx: NamedArrays, images: ArrayLike<number>, n: number, size: number): Float64Array {
  const w = (i: number) => get(onnx, `conv_${i}_weight`);
  const b = (i: number) => get(onnx, `conv_${i}_bias`);
  const pointwise = (a: Act, i: number, act: 'relu6' | 'linear'): Act => {
    const k = oihwToHwioRef(w(i), shapeOf(onnx, `conv_${i}_weight`));
    const out = conv(a, k.w, k.shape, b(i), 1, 'valid', false);
    return act === 'relu6' ? { x: relu6Ref(out.x), shape: out.shape } : out;
  };
  const depthwise = (a: Act, i: number, stride: 1 | 2): Act => {
    const [c] = shapeOf(onnx, `conv_${i}_weight`) as [number];
    const src = w(i);
    const k = new Float64Array(9 * c);
    for (let ch = 0; ch < c; ch++) for (let t = 0; t < 9; t++) k[t * c + ch] = src[ch * 9 + t]!;
    const r = depthwiseForward(a.x, a.shape, k, b(i), { stride, activation: 'relu6' });
    return { x: r.y, shape: r.shape };
  };
  // conv_0: pad 1 on every side, then a 'valid' 3×3 stride-2 convolution.
  const padded = refZeroPad(images, [n, size, size, 3], [1, 1, 1, 1]);
  const k0 = oihwToHwioRef(w(0), shapeOf(onnx, 'conv_0_weight'));
  let a = conv({ x: padded.y, shape: padded.shape }, k0.w, k0.shape, b(0), 2, 'valid', false);
  a = { x: relu6Ref(a.x), shape: a.shape };
  a = depthwise(a, 2, 1);
  a = pointwise(a, 4, 'linear');
  const blocks: [number, number, number, 1 | 2][] = [
    [5, 7, 9, 2], [10, 12, 14, 1],
    [16, 18, 20, 2], [21, 23, 25, 1], [27, 29, 31, 1],
    [33, 35, 37, 2], [38, 40, 42, 1], [44, 46, 48, 1], [50, 52, 54, 1],
    [56, 58, 60, 1], [61, 63, 65, 1], [67, 69, 71, 1],
    [73, 75, 77, 2], [78, 80, 82, 1], [84, 86, 88, 1],
    [90, 92, 94, 1],
  ];
  for (const [e, d, p, s] of blocks) {
    const input = a;
    let h = pointwise(input, e, 'relu6');
    h = depthwise(h, d, s);
    h = pointwise(h, p, 'linear');
    const sameShape = h.shape.every((v, i) => v === input.shape[i]);
    a = s === 1 && sameShape ? { x: refAdd(input.x, h.x), shape: h.shape } : h;
  }
  a = pointwise(a, 95, 'relu6');
  return refGlobalAvgPool(a.x, a.shape);
}
