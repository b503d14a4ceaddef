/** Per-kernel GPU time from timestamp queries: one compute pass per dispatch while enabled. */
export interface KernelTiming {
  name: string;
  calls: number;
  totalMs: number;
}

const CAPACITY = 2048; // passes per submit; two timestamps each, within the 4096-query limit

export class Profiler {
  private querySet: GPUQuerySet | null = null;
  private names: string[] = [];
  private pending: Promise<void>[] = [];
  private readonly totals = new Map<string, KernelTiming>();
  private active = false;

  constructor(private readonly device: GPUDevice) {}

  get supported(): boolean {
    return this.device.features.has('timestamp-query');
  }
  get enabled(): boolean {
    return this.active;
  }

  start(): void {
    if (!this.supported) throw new Error("profiling needs the adapter feature 'timestamp-query', which this device lacks");
    this.querySet ??= this.device.createQuerySet({ type: 'timestamp', count: CAPACITY * 2 });
    this.totals.clear();
    this.active = true;
  }

  /** Stops recording and returns the kernels, most total time first. */
  async stop(): Promise<KernelTiming[]> {
    this.active = false;
    await Promise.all(this.pending);
    this.pending = [];
    return [...this.totals.values()].sort((a, b) => b.totalMs - a.totalMs);
  }

  /** @internal the timestamp slots for the next pass (null when the batch is full). */
  nextWrites(name: string): GPUComputePassTimestampWrites | undefined {
    if (!this.querySet || this.names.length >= CAPACITY) return undefined;
    const i = this.names.length;
    this.names.push(name);
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  private resolveBuffer: GPUBuffer | null = null;
  private readBuffer: GPUBuffer | null = null;

  /** @internal resolves this batch's timestamps at the end of its encoder. */
  resolve(encoder: GPUCommandEncoder): void {
    if (!this.querySet || this.names.length === 0) return;
    const count = this.names.length * 2;
    const bytes = count * 8;
    const resolveBuffer = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const readBuffer = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    encoder.resolveQuerySet(this.querySet, 0, count, resolveBuffer, 0);
    encoder.copyBufferToBuffer(resolveBuffer, 0, readBuffer, 0, bytes);
    this.resolveBuffer = resolveBuffer;
    this.readBuffer = readBuffer;
  }

  /** @internal after submit: reads the batch's timestamps asynchronously. */
  collect(): void {
    const names = this.names;
    this.names = [];
    const readBuffer = this.readBuffer;
    const resolveBuffer = this.resolveBuffer;
    this.readBuffer = this.resolveBuffer = null;
    if (!readBuffer) return;
    this.pending.push(
      readBuffer.mapAsync(GPUMapMode.READ).then(() => {
        const ts = new BigUint64Array(readBuffer.getMappedRange().slice(0));
        readBuffer.unmap();
        readBuffer.destroy();
        resolveBuffer?.destroy();
        names.forEach((name, i) => {
          const ns = Number(ts[2 * i + 1]! - ts[2 * i]!);
          const entry = this.totals.get(name) ?? { name, calls: 0, totalMs: 0 };
          entry.calls++;
          entry.totalMs += ns > 0 ? ns / 1e6 : 0;
          this.totals.set(name, entry);
        });
      }),
    );
  }
}
