/** GPU buffers reused by size class; GPU memory is not garbage-collected, so every buffer goes back here. */

export interface PoolCounters {
  /** Buffers handed out and not yet released. */
  liveBuffers: number;
  /** Capacity in bytes of the live buffers. */
  liveBytes: number;
  /** Buffers kept free for reuse. */
  freeBuffers: number;
  freeBytes: number;
  /** Buffers ever created by the pool (misses). */
  created: number;
  /** Acquisitions served from the free lists. */
  reused: number;
}

/**
 * GPU bytes held for the engine's data: every live pooled buffer (tensors, and the buffers of captured steps' memory
 * plans, free inside a plan or not) plus the constants captured steps copy from. Counted by buffer capacity (size
 * class), not by tensor length. Not counted: the pool's free lists (see PoolCounters.freeBytes), kernel params and
 * readback staging.
 */
export interface GpuBytes {
  /** Bytes held now. */
  liveBytes: number;
  /** The most held at once since the engine was created or `resetPeak` was last called. */
  peakBytes: number;
  /** Of liveBytes: the bytes captured steps hold (their memory plans and constants). */
  stepBytes: number;
}

export const STORAGE_USAGE = 0x80 /* STORAGE */ | 0x4 /* COPY_SRC */ | 0x8; /* COPY_DST */

/** Rounds a byte count up to its size class: powers of two up to 64 KiB, then quarter steps between powers of two. */
export function sizeClass(bytes: number): number {
  const b = Math.max(16, Math.ceil(bytes / 16) * 16);
  if (b <= 65536) return 2 ** Math.ceil(Math.log2(b));
  const p = 2 ** Math.floor(Math.log2(b));
  const step = p / 4;
  return Math.ceil(b / step) * step;
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  readonly counters: PoolCounters = { liveBuffers: 0, liveBytes: 0, freeBuffers: 0, freeBytes: 0, created: 0, reused: 0 };
  /** Live and peak bytes (GpuBytes); pooled buffers are counted here, other holders call `hold` / `drop`. */
  readonly bytes: GpuBytes = { liveBytes: 0, peakBytes: 0, stepBytes: 0 };
  /** Free bytes above which released buffers are destroyed instead of kept. */
  maxFreeBytes = 512 * 1024 * 1024;
  private retired: GPUBuffer[] = [];

  constructor(
    private readonly device: GPUDevice,
    private readonly maxBufferSize: number,
  ) {}

  acquire(bytes: number, label: string): GPUBuffer {
    const size = sizeClass(bytes);
    if (size > this.maxBufferSize) {
      throw new Error(
        `${label}: needs a buffer of ${bytes} bytes, over this device's limit of ${this.maxBufferSize} bytes; use a smaller batch or input size`,
      );
    }
    const list = this.free.get(size);
    let buffer = list?.pop();
    if (buffer) {
      this.counters.freeBuffers--;
      this.counters.freeBytes -= size;
      this.counters.reused++;
    } else {
      buffer = this.device.createBuffer({ size, usage: STORAGE_USAGE, label });
      this.counters.created++;
    }
    this.counters.liveBuffers++;
    this.counters.liveBytes += size;
    this.hold(size);
    return buffer;
  }

  /** Counts `bytes` more held (`step`: by a captured step); pooled buffers are counted by acquire/release. */
  hold(bytes: number, step = false): void {
    const b = this.bytes;
    b.liveBytes += bytes;
    if (step) b.stepBytes += bytes;
    if (b.liveBytes > b.peakBytes) b.peakBytes = b.liveBytes;
  }

  /** The reverse of `hold`. */
  drop(bytes: number, step = false): void {
    this.bytes.liveBytes -= bytes;
    if (step) this.bytes.stepBytes -= bytes;
  }

  /** `bytes` of live pooled buffers passed to (positive) or from (negative) a captured step. */
  stepShare(bytes: number): void {
    this.bytes.stepBytes += bytes;
  }

  /** Starts a new peak from what is held now. */
  resetPeak(): void {
    this.bytes.peakBytes = this.bytes.liveBytes;
  }

  release(buffer: GPUBuffer): void {
    const size = buffer.size;
    this.counters.liveBuffers--;
    this.counters.liveBytes -= size;
    this.drop(size);
    if (this.counters.freeBytes + size > this.maxFreeBytes) {
      // Commands recorded but not yet submitted may still use it: destroyed after the next submit.
      this.retired.push(buffer);
      return;
    }
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(buffer);
    this.counters.freeBuffers++;
    this.counters.freeBytes += size;
  }

  /** Destroys the buffers released over `maxFreeBytes`; call after submitting the commands that used them. */
  destroyRetired(): void {
    for (const b of this.retired) b.destroy();
    this.retired = [];
  }

  /** Destroys every free buffer (live ones are untouched); only when no unsubmitted command uses them. */
  trim(): void {
    this.destroyRetired();
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.counters.freeBuffers = 0;
    this.counters.freeBytes = 0;
  }
}
