// Layout conversions for weights exported from PyTorch/MXNet/ONNX (.npy folders): convolution kernels come as
// OIHW [out, in, kh, kw]; the engine and Keras use HWIO [kh, kw, in, out].
import { type HostTensor, type NamedArrays, WeightFormatError } from './types.js';
import { checkTensor } from './tensor.js';

type Data = HostTensor['data'];

function like(d: Data, n: number): Data {
  return new (d.constructor as new (n: number) => Data)(n);
}

/** [O, I, H, W] → [H, W, I, O]. */
export function oihwToHwio(t: HostTensor): HostTensor {
  if (t.shape.length !== 4) throw new WeightFormatError(`oihwToHwio needs a 4-D kernel, got shape [${t.shape.join(', ')}]`);
  checkTensor('kernel', t);
  const [O, I, H, W] = t.shape as [number, number, number, number];
  const src = t.data;
  const dst = like(src, src.length);
  for (let o = 0; o < O; o++) {
    for (let i = 0; i < I; i++) {
      for (let h = 0; h < H; h++) {
        for (let w = 0; w < W; w++) {
          (dst as Float32Array)[((h * W + w) * I + i) * O + o] = (src as Float32Array)[((o * I + i) * H + h) * W + w]!;
        }
      }
    }
  }
  return { shape: [H, W, I, O], data: dst };
}

/**
 * Depthwise kernel [C·M, 1, H, W] (grouped conv, groups = C, output channel c·M + m) → [H, W, C, M], the
 * TensorFlow depthwise layout. With M = 1: [C, 1, 3, 3] → [3, 3, C, 1].
 */
export function depthwiseOihwToHwcm(t: HostTensor, multiplier = 1): HostTensor {
  if (t.shape.length !== 4 || t.shape[1] !== 1) {
    throw new WeightFormatError(`depthwiseOihwToHwcm needs a [C·M, 1, H, W] kernel, got shape [${t.shape.join(', ')}]`);
  }
  const [CM, , H, W] = t.shape as [number, number, number, number];
  if (!Number.isInteger(multiplier) || multiplier < 1 || CM % multiplier) {
    throw new WeightFormatError(`depth multiplier ${multiplier} does not divide the ${CM} output channels`);
  }
  // HWIO of [C·M, 1, H, W] is [H, W, 1, C·M], whose flat order (c·M + m fastest) already is [H, W, C, M].
  const hwio = oihwToHwio(t);
  return { shape: [H, W, CM / multiplier, multiplier], data: hwio.data };
}

/**
 * Converts every 4-D tensor of a set from OIHW: depthwise ones (as `isDepthwise` says) to [H, W, C, 1], the rest
 * to HWIO; other tensors are kept as they are.
 */
export function convertOihwTensors(tensors: NamedArrays, isDepthwise: (name: string, t: HostTensor) => boolean = () => false): NamedArrays {
  const out: NamedArrays = new Map();
  for (const [name, t] of tensors) {
    if (t.shape.length !== 4) out.set(name, t);
    else out.set(name, isDepthwise(name, t) ? depthwiseOihwToHwcm(t) : oihwToHwio(t));
  }
  return out;
}
