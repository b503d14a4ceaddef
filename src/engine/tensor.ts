import type { Engine } from './engine.js';

export type DType = 'f32' | 'u32' | 'u8';
export type HostArray = Float32Array | Uint32Array | Uint8Array;

export const BYTES_PER_ELEMENT: Record<DType, number> = { f32: 4, u32: 4, u8: 1 };

/** The dtype of host data: u32 and u8 arrays keep theirs, everything else (Float32Array, number[]) is f32. */
export function dtypeOf(data: HostArray | number[]): DType {
  return data instanceof Uint32Array ? 'u32' : data instanceof Uint8Array ? 'u8' : 'f32';
}

/** A host array of `dtype`: `n` zeros, a copy of `values`, or a view of `length` elements of `buffer`. */
export function hostArray(dtype: DType, source: number | ArrayLike<number>): HostArray;
export function hostArray(dtype: DType, source: ArrayBuffer, length: number): HostArray;
export function hostArray(dtype: DType, source: number | ArrayLike<number> | ArrayBuffer, length?: number): HostArray {
  const Ctor = dtype === 'u32' ? Uint32Array : dtype === 'u8' ? Uint8Array : Float32Array;
  if (source instanceof ArrayBuffer) return new Ctor(source, 0, length);
  return typeof source === 'number' ? new Ctor(source) : new Ctor(source);
}

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`invalid shape [${shape.join(', ')}]`);
    n *= d;
  }
  return n;
}

/** Bytes a tensor's buffer needs: u8 data is packed four to a u32 word, so sizes round up to 4. */
export function byteLength(dtype: DType, size: number): number {
  return Math.max(4, Math.ceil((size * BYTES_PER_ELEMENT[dtype]) / 4) * 4);
}

/** A GPU buffer shared by a tensor and its views; returned to the pool when the last one is disposed. */
export class Storage {
  refs = 1;
  /** Bumped by every write into the buffer (a kernel binding it read_write, `write`, `copy`): lets derived data be cached. */
  version = 0;
  /** Run once when the last tensor on this buffer is disposed (frees what was derived from it). */
  readonly onRelease: (() => void)[] = [];
  constructor(
    readonly buffer: GPUBuffer,
    readonly bytes: number,
  ) {}
}

let nextId = 1;

export class Tensor {
  readonly id = nextId++;
  /** Set by autograd: whether gradients flow to or through this tensor. */
  requiresGrad = false;
  /** For parameters: whether an optimizer may change it and backward must compute its gradient. */
  trainable = false;
  /** Accumulated gradient (parameters only). */
  grad: Tensor | null = null;
  name?: string;
  private disposedFlag = false;

  constructor(
    readonly engine: Engine,
    readonly shape: readonly number[],
    readonly dtype: DType,
    readonly storage: Storage,
  ) {}

  get size(): number {
    return shapeSize(this.shape);
  }
  get rank(): number {
    return this.shape.length;
  }
  get buffer(): GPUBuffer {
    this.assertAlive();
    return this.storage.buffer;
  }
  get disposed(): boolean {
    return this.disposedFlag;
  }

  assertAlive(): void {
    if (this.disposedFlag) throw new Error(`tensor #${this.id}${this.name ? ` (${this.name})` : ''} [${this.shape.join(', ')}] was used after dispose`);
  }

  /** A view with another shape over the same buffer (no copy). One dimension may be -1. */
  reshape(shape: readonly number[]): Tensor {
    this.assertAlive();
    const resolved = [...shape];
    const unknown = resolved.indexOf(-1);
    if (unknown >= 0) {
      const known = resolved.reduce((a, d, i) => (i === unknown ? a : a * d), 1);
      resolved[unknown] = known === 0 ? 0 : this.size / known;
    }
    if (shapeSize(resolved) !== this.size) {
      throw new Error(`cannot reshape [${this.shape.join(', ')}] (${this.size} elements) to [${shape.join(', ')}]`);
    }
    return this.engine.view(this, resolved);
  }

  /** Flattens all but the first dimension: [N, ...] → [N, prod(...)]. */
  flatten(): Tensor {
    return this.reshape([this.shape[0] ?? 1, -1]);
  }

  read(): Promise<HostArray> {
    return this.engine.read(this);
  }

  readF32(): Promise<Float32Array> {
    if (this.dtype !== 'f32') throw new Error(`readF32 on a ${this.dtype} tensor`);
    return this.engine.read(this) as Promise<Float32Array>;
  }

  dispose(): void {
    if (this.disposedFlag) return;
    this.disposedFlag = true;
    this.engine.releaseTensor(this);
  }
}
