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
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    const size = buffer.size;
    this.counters.liveBuffers--;
    this.counters.liveBytes -= size;
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
