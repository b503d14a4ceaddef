import { GpuError } from './errors.js';
import type { BufferPool } from './pool.js';
import { Profiler } from './profiler.js';
import type { CaptureRecorder, RecordedCommand } from './recorder.js';
import { gentleAwait } from './wait.js';

/**
 * Submission: the command encoder and its compute pass, when to submit (before a host write into a buffer that
 * recorded work uses, before a readback, every MAX_DISPATCHES_PER_SUBMIT dispatches), the error scopes around each
 * submit, uncaptured errors, and device loss. While a step is being captured, every command encoded here is also
 * recorded (`recorder`).
 */

/** Flush the command encoder after this many dispatches even without a readback (bounds one submit's work). */
export const MAX_DISPATCHES_PER_SUBMIT = 512;

export interface EngineStats {
  /** Dispatches per kernel name since creation (or the last `resetStats`). */
  dispatches: Map<string, number>;
  submits: number;
}

export class Submission {
  readonly stats: EngineStats = { dispatches: new Map(), submits: 0 };
  readonly profiler: Profiler;
  /** Set while a step is being captured (capture.ts): the commands encoded are recorded into it. */
  recorder: CaptureRecorder | null = null;
  /** Set while tracing (Engine.startTrace): every command encoded, eager or replayed, is appended. */
  trace: RecordedCommand[] | null = null;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  /** Buffers that commands still waiting in the encoder use. */
  private readonly touched = new Set<GPUBuffer>();
  private pendingKernels: string[] = [];
  private errorChecks: Promise<GpuError | null>[] = [];
  private lostError: GpuError | null = null;
  /** Destroyed after the next submit (unsubmitted commands may still use them). */
  private retired: GPUBuffer[] = [];

  constructor(
    private readonly device: GPUDevice,
    private readonly pool: BufferPool,
  ) {
    this.profiler = new Profiler(device);
    device.addEventListener('uncapturederror', (ev) => {
      const message = (ev as GPUUncapturedErrorEvent).error.message;
      this.report(Promise.resolve(new GpuError(`GPU error: ${message}`, 'validation')));
    });
    void device.lost.then((info) => {
      this.lostError ??= new GpuError(`GPU device lost (${info.reason}): ${info.message || 'no details'}`, 'device-lost');
    });
  }

  get lost(): boolean {
    return this.lostError !== null;
  }

  assertUsable(): void {
    if (this.lostError) throw this.lostError;
  }

  /** A pending check for a GPU error (a kernel's compilation); `sync` and `read` throw the first one found. */
  report(check: Promise<GpuError | null>): void {
    this.errorChecks.push(check);
  }

  /** Notes that recorded work uses `buffer` (a host write into it must flush first). */
  touch(buffer: GPUBuffer): void {
    this.touched.add(buffer);
  }

  ensureEncoder(): GPUCommandEncoder {
    if (!this.encoder) this.encoder = this.device.createCommandEncoder({ label: 'batch' });
    return this.encoder;
  }

  private beginPass(name: string): GPUComputePassEncoder {
    if (this.pass) return this.pass;
    const encoder = this.ensureEncoder();
    const timestampWrites = this.profiler.enabled ? this.profiler.nextWrites(name) : undefined;
    this.pass = encoder.beginComputePass(timestampWrites ? { timestampWrites, label: name } : { label: name });
    return this.pass;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  dispatch(name: string, pipeline: GPUComputePipeline, bindGroup: GPUBindGroup, x: number, y: number, z: number): void {
    const pass = this.beginPass(name);
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    if (this.profiler.enabled) this.endPass();
    const c: RecordedCommand = { kind: 'dispatch', name, pipeline, bindGroup, x, y, z };
    this.recorder?.commands.push(c);
    this.trace?.push(c);
    this.notePending(name);
    this.stats.dispatches.set(name, (this.stats.dispatches.get(name) ?? 0) + 1);
  }

  /** Copies `bytes` bytes from `src` to `dst` on the GPU (recorded while capturing). */
  copy(src: GPUBuffer, dst: GPUBuffer, bytes: number): void {
    this.endPass();
    this.ensureEncoder().copyBufferToBuffer(src, 0, dst, 0, bytes);
    this.touched.add(src);
    this.touched.add(dst);
    const c: RecordedCommand = { kind: 'copy', src, dst, bytes };
    this.recorder?.commands.push(c);
    this.trace?.push(c);
  }

  /** Host data into `buffer`; queue.writeBuffer runs before commands still in the encoder, so those go first if they use it. */
  writeBuffer(buffer: GPUBuffer, data: ArrayBufferView): void {
    if (this.touched.has(buffer)) this.flush();
    this.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Names work encoded outside `dispatch` (a replayed step) for the next submit's error messages. */
  notePending(name: string): void {
    this.pendingKernels.push(name);
  }

  /** Submits once MAX_DISPATCHES_PER_SUBMIT dispatches are waiting. */
  flushIfFull(): void {
    if (this.pendingKernels.length >= MAX_DISPATCHES_PER_SUBMIT) this.flush();
  }

  /** Destroyed after the next submit (unsubmitted commands may still use it). */
  deferDestroy(buffer: GPUBuffer): void {
    this.retired.push(buffer);
  }

  /** Submits everything recorded so far. */
  flush(): void {
    this.endPass();
    if (!this.encoder) return;
    const encoder = this.encoder;
    this.encoder = null;
    if (this.profiler.enabled) this.profiler.resolve(encoder);
    const kernels = this.pendingKernels;
    this.pendingKernels = [];
    this.stats.submits++;
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    this.device.queue.submit([encoder.finish()]);
    const validation = this.device.popErrorScope();
    const oom = this.device.popErrorScope();
    this.report(
      Promise.all([validation, oom]).then(([v, o]) => {
        if (!v && !o) return null;
        const summary = kernels.length > 8 ? `${kernels.slice(0, 8).join(', ')} … (${kernels.length} dispatches)` : kernels.join(', ');
        if (v) return new GpuError(`GPU validation error in a batch of [${summary}]: ${v.message}`, 'validation', kernels);
        return new GpuError(`GPU out of memory in a batch of [${summary}]: ${o!.message}; use a smaller batch`, 'out-of-memory', kernels);
      }),
    );
    if (this.profiler.enabled) this.profiler.collect();
    this.touched.clear();
    this.pool.destroyRetired();
    for (const b of this.retired) b.destroy();
    this.retired = [];
  }

  /** Waits for all submitted work and throws the first GPU error it raised. */
  async sync(): Promise<void> {
    this.assertUsable();
    if (this.recorder) throw new Error(`captured step '${this.recorder.label}': cannot wait for the GPU while capturing`);
    this.flush();
    await this.raceLost(this.device.queue.onSubmittedWorkDone());
    await this.checkErrors();
  }

  /** Throws the first GPU error reported so far, or the device loss. */
  async checkErrors(): Promise<void> {
    const checks = this.errorChecks;
    this.errorChecks = [];
    const results = await Promise.all(checks);
    const first = results.find((e) => e);
    if (first) throw first;
    if (this.lostError) throw this.lostError;
  }

  /** Waits for `p`, or throws the device-lost error if the device is lost first (never hangs on a lost device). */
  raceLost<T>(p: Promise<T>): Promise<T> {
    const lost = this.device.lost.then(() => {
      throw this.lostError ?? new GpuError('GPU device lost', 'device-lost');
    });
    // gentleAwait: in Node a plain await of a GPU promise spins a core that a software adapter needs.
    return gentleAwait(Promise.race([p, lost]));
  }

  /** Submits what is pending (unless the device is lost already); every later use throws. */
  close(): void {
    if (!this.lostError) this.flush();
    this.lostError ??= new GpuError('GPU device lost (destroyed): the engine was destroyed', 'device-lost');
  }
}
