/** A tensor on the host: what weight files hold, independent of the GPU. Shapes are row-major. */
export type HostDType = 'f32' | 'f16' | 'f64' | 'i32' | 'i64' | 'u8' | 'u32';

export interface HostTensor {
  shape: number[];
  /** Always float32 after loading for float kinds (f16/f64 are converted); integer kinds keep their own type. */
  data: Float32Array | Int32Array | Uint32Array | Uint8Array | BigInt64Array;
}

/** Named tensors in file order. */
export type NamedArrays = Map<string, HostTensor>;

/** Raised for a wrong, truncated or mismatched weight file; names the file and, where known, the tensor. */
export class WeightFormatError extends Error {
  constructor(
    message: string,
    readonly file?: string,
    readonly tensor?: string,
  ) {
    super(file ? `${file}: ${message}` : message);
    this.name = 'WeightFormatError';
  }
}
