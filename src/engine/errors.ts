/** A GPU-side failure (validation, out of memory, device loss), naming the kernels involved. */
export class GpuError extends Error {
  constructor(
    message: string,
    readonly kind: 'validation' | 'out-of-memory' | 'device-lost' | 'compile',
    readonly kernels: string[] = [],
  ) {
    super(message);
    this.name = 'GpuError';
  }
}
