/**
 * ONNX numbers a tensor's axes NCHW; the engine keeps maps NHWC. The one rule of the import: a tensor of rank 4 is
 * stored with its axes in the order [0, 2, 3, 1] of its ONNX (logical) axes; every other tensor is stored in ONNX's
 * order. Ops convert axes with these helpers; Reshape-like ops go through the logical order.
 */
import type { OnnxTensor } from '../../formats/onnx.js';
import { tensorNumbers } from '../../formats/onnx.js';

/** Physical axis j holds logical axis `storageOrder(rank)[j]`. */
export function storageOrder(rank: number): number[] {
  return rank === 4 ? [0, 2, 3, 1] : Array.from({ length: rank }, (_, i) => i);
}

/** The inverse: logical axis a is physical axis `inverse(p)[a]`. */
export function inverse(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, j) => (inv[p] = j));
  return inv;
}

export function physicalShape(logical: readonly number[]): number[] {
  return storageOrder(logical.length).map((a) => logical[a]!);
}

/** The physical axis of a logical one. */
export function physicalAxis(axis: number, rank: number): number {
  return inverse(storageOrder(rank))[axis]!;
}

/**
 * Whether permuting by `perm` moves no data: the axes of size > 1 keep their relative order (then a reshape suffices).
 */
export function isTrivialPermutation(shape: readonly number[], perm: readonly number[]): boolean {
  const kept = perm.filter((a) => shape[a]! > 1);
  return kept.every((a, i) => i === 0 || kept[i - 1]! < a);
}

/** out[j] = shape[perm[j]]. */
export function permuteShape(shape: readonly number[], perm: readonly number[]): number[] {
  return perm.map((a) => shape[a]!);
}

/** Host permutation of a row-major array: out axes [perm[0], perm[1], …] of `shape`. */
export function permuteHost(data: ArrayLike<number>, shape: readonly number[], perm: readonly number[]): Float32Array {
  const outShape = permuteShape(shape, perm);
  const n = shape.reduce((a, d) => a * d, 1);
  const inStrides = shape.map((_, i) => shape.slice(i + 1).reduce((a, d) => a * d, 1));
  const strides = perm.map((a) => inStrides[a]!);
  const out = new Float32Array(n);
  const pos = new Array<number>(shape.length).fill(0);
  let src = 0;
  for (let i = 0; i < n; i++) {
    out[i] = data[src]!;
    for (let a = outShape.length - 1; a >= 0; a--) {
      pos[a]!++;
      src += strides[a]!;
      if (pos[a]! < outShape[a]!) break;
      src -= strides[a]! * outShape[a]!;
      pos[a] = 0;
    }
  }
  return out;
}

/** A constant's values as float32 in the engine's layout (rank 4 → NHWC), after optionally raising its rank. */
export function constantData(t: OnnxTensor, rank = t.dims.length): { data: Float32Array; shape: number[] } {
  const values = Float32Array.from(tensorNumbers(t));
  const logical = [...new Array<number>(Math.max(0, rank - t.dims.length)).fill(1), ...t.dims];
  if (logical.length !== 4) return { data: values, shape: logical };
  return { data: permuteHost(values, logical, storageOrder(4)), shape: physicalShape(logical) };
}
