import { acquireDevice, type AdapterSummary } from './device.js';
import { GpuError } from './errors.js';
import { PipelineCache } from './pipelines.js';
import { BufferPool } from './pool.js';
import { Profiler } from './profiler.js';
import { ScopeStack } from './scope.js';
import { gentleAwait } from './wait.js';
import { Tape } from './autograd.js';
import { byteLength, shapeSize, Storage, Tensor, type DType, type HostArray } from './tensor.js';

/** One dispatch of a generated kernel. The WGSL entry point is `main`; bindings are numbered in array order. */
export interface KernelCall {
  /** Family and variant, e.g. `conv2d_fwd`; shown in errors and in the profiler. */
  name: string;
  code: string;
  /** Bound at @binding(0..n-1) of @group(0), in order. Every binding must be used by the shader. */
  bindings: Tensor[];
  /** Small runtime values (step counters, learning rates), bound after `bindings` as `var<storage, read> array<u32>`. */
  params?: Uint32Array;
  workgroups: readonly [number, number?, number?];
}

export interface EngineStats {
  /** Dispatches per kernel name since creation (or the last `resetStats`). */
  dispatches: Map<string, number>;
  submits: number;
}

export interface EngineOptions {
  powerPreference?: GPUPowerPreference;
  /** Flush the command encoder after this many dispatches even without a readback. */
  maxDispatchesPerSubmit?: number;
  /** Let 3×3 stride-1 convolutions use Winograd (src/kernels/winograd.ts; default true); false forces the direct kernel. */
  winograd?: boolean;
}

export class Engine {
  /** See EngineOptions.winograd; may be changed at any time (benchmarks compare both). */
  winograd: boolean;
  readonly pool: BufferPool;
  /** Small buffers for kernel params; kept apart so tensor counters only count tensors. */
  private readonly paramsPool: BufferPool;
  readonly pipelines: PipelineCache;
  readonly scopes = new ScopeStack();
  readonly tape: Tape;
  readonly profiler: Profiler;
  readonly stats: EngineStats = { dispatches: new Map(), submits: 0 };
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private readonly touched = new Set<GPUBuffer>();
  private pendingKernels: string[] = [];
  private deferredRelease: GPUBuffer[] = [];
  private errorChecks: Promise<GpuError | null>[] = [];
  private lostError: GpuError | null = null;
  private readonly maxDispatchesPerSubmit: number;

  private constructor(
    readonly device: GPUDevice,
    readonly adapter: GPUAdapter,
    readonly info: AdapterSummary,
    options: EngineOptions,
  ) {
    this.maxDispatchesPerSubmit = options.maxDispatchesPerSubmit ?? 512;
    this.winograd = options.winograd ?? true;
    this.pool = new BufferPool(device, Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize));
    this.paramsPool = new BufferPool(device, 65536);
    this.pipelines = new PipelineCache(device, (kernel, result) => {
      this.errorChecks.push(result.then((msg) => (msg ? new GpuError(`kernel ${kernel} failed to compile: ${msg}`, 'compile', [kernel]) : null)));
    });
    this.tape = new Tape(this);
    this.profiler = new Profiler(device);
    device.addEventListener('uncapturederror', (ev) => {
      const message = (ev as GPUUncapturedErrorEvent).error.message;
      this.errorChecks.push(Promise.resolve(new GpuError(`GPU error: ${message}`, 'validation')));
    });
    void device.lost.then((info) => {
      this.lostError ??= new GpuError(`GPU device lost (${info.reason}): ${info.message || 'no details'}`, 'device-lost');
    });
  }

  static async create(options: EngineOptions = {}): Promise<Engine> {
    const { adapter, device, summary } = await acquireDevice(options);
    return new Engine(device, adapter, summary, options);
  }

  /** Wraps an existing device (e.g. one shared with another library). */
  static fromDevice(device: GPUDevice, adapter: GPUAdapter, info: AdapterSummary, options: EngineOptions = {}): Engine {
    return new Engine(device, adapter, info, options);
  }

  get lost(): boolean {
    return this.lostError !== null;
  }

  private assertUsable(): void {
    if (this.lostError) throw this.lostError;
  }

  // ---------------------------------------------------------------- tensors

  /** An uninitialised tensor (contents are whatever the pooled buffer held). */
  empty(shape: readonly number[], dtype: DType = 'f32', label = 'tensor'): Tensor {
    this.assertUsable();
    const bytes = byteLength(dtype, shapeSize(shape));
    const buffer = this.pool.acquire(bytes, label);
    const t = new Tensor(this, [...shape], dtype, new Storage(buffer, bytes));
    this.scopes.track(t);
    return t;
  }

  /** Uploads host data into a new tensor. */
  upload(data: HostArray | number[], shape: readonly number[], dtype?: DType): Tensor {
    const dt: DType = dtype ?? (data instanceof Uint32Array ? 'u32' : data instanceof Uint8Array ? 'u8' : 'f32');
    const n = shapeSize(shape);
    if (data.length !== n) throw new Error(`upload: ${data.length} values for shape [${shape.join(', ')}] (${n} elements)`);
    const t = this.empty(shape, dt, 'upload');
    this.write(t, data);
    return t;
  }

  /** Overwrites a tensor's contents from the host, ordered after every dispatch already recorded. */
  write(t: Tensor, data: HostArray | number[]): void {
    this.assertUsable();
    if (data.length !== t.size) throw new Error(`write: ${data.length} values for a tensor of ${t.size}`);
    let bytes: ArrayBufferView;
    if (Array.isArray(data)) bytes = t.dtype === 'u32' ? new Uint32Array(data) : t.dtype === 'u8' ? new Uint8Array(data) : new Float32Array(data);
    else bytes = data;
    const padded = t.storage.bytes;
    if (bytes.byteLength !== padded) {
      const tmp = new Uint8Array(padded);
      tmp.set(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      bytes = tmp;
    }
    // queue.writeBuffer runs before commands still waiting in our encoder: submit those first if they use this buffer.
    if (this.touched.has(t.buffer)) this.flush();
    this.device.queue.writeBuffer(t.buffer, 0, bytes.buffer, bytes.byteOffset, bytes.byteLength);
    t.storage.version++;
  }

  /** A tensor of `shape` with every element equal to `value`. */
  full(shape: readonly number[], value: number, dtype: DType = 'f32'): Tensor {
    const n = shapeSize(shape);
    const data = dtype === 'f32' ? new Float32Array(n).fill(value) : dtype === 'u32' ? new Uint32Array(n).fill(value) : new Uint8Array(n).fill(value);
    return this.upload(data, shape, dtype);
  }

  /** @internal used by Tensor.reshape */
  view(base: Tensor, shape: readonly number[]): Tensor {
    base.storage.refs++;
    const t = new Tensor(this, shape, base.dtype, base.storage);
    t.requiresGrad = base.requiresGrad;
    this.scopes.track(t);
    this.tape.recordView(base, t);
    return t;
  }

  /** @internal used by Tensor.dispose */
  releaseTensor(t: Tensor): void {
    this.scopes.untrack(t);
    const s = t.storage;
    if (--s.refs > 0) return;
    for (const hook of s.onRelease.splice(0)) hook();
    // Reuse in GPU order is safe; `write` flushes before overwriting a buffer that recorded work still uses.
    this.pool.release(s.buffer);
  }

  /** Reads a tensor back to the host. Flushes recorded work and reports any GPU error it caused. */
  async read(t: Tensor): Promise<HostArray> {
    t.assertAlive();
    this.assertUsable();
    const bytes = t.storage.bytes;
    const staging = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'readback' });
    this.endPass();
    this.ensureEncoder().copyBufferToBuffer(t.buffer, 0, staging, 0, bytes);
    this.touched.add(t.buffer);
    this.flush();
    try {
      await this.raceLost(staging.mapAsync(GPUMapMode.READ));
      await this.checkErrors();
      const copy = staging.getMappedRange().slice(0);
      staging.unmap();
      if (t.dtype === 'f32') return new Float32Array(copy, 0, t.size);
      if (t.dtype === 'u32') return new Uint32Array(copy, 0, t.size);
      return new Uint8Array(copy, 0, t.size);
    } finally {
      staging.destroy();
    }
  }

  /** Waits for all submitted work and throws the first GPU error it raised. */
  async sync(): Promise<void> {
    this.assertUsable();
    this.flush();
    await this.raceLost(this.device.queue.onSubmittedWorkDone());
    await this.checkErrors();
  }

  private async checkErrors(): Promise<void> {
    const checks = this.errorChecks;
    this.errorChecks = [];
    const results = await Promise.all(checks);
    const first = results.find((e) => e);
    if (first) throw first;
    if (this.lostError) throw this.lostError;
  }

  private raceLost<T>(p: Promise<T>): Promise<T> {
    const lost = this.device.lost.then(() => {
      throw this.lostError ?? new GpuError('GPU device lost', 'device-lost');
    });
    return gentleAwait(Promise.race([p, lost]));
  }

  // ---------------------------------------------------------------- dispatch

  run(call: KernelCall): void {
    this.assertUsable();
    const limit = this.device.limits.maxComputeWorkgroupsPerDimension;
    const [x, y = 1, z = 1] = call.workgroups;
    for (const n of [x, y, z]) {
      if (!Number.isInteger(n) || n < 0 || n > limit) {
        throw new GpuError(`kernel ${call.name}: invalid workgroup count [${x}, ${y}, ${z}] (each must be an integer in 0..${limit})`, 'validation', [call.name]);
      }
    }
    const maxBinding = this.device.limits.maxStorageBufferBindingSize;
    for (const [i, t] of call.bindings.entries()) {
      if (t.disposed) throw new GpuError(`kernel ${call.name}: binding ${i} is a disposed tensor #${t.id}`, 'validation', [call.name]);
      if (t.storage.bytes > maxBinding) {
        throw new GpuError(
          `kernel ${call.name}: binding ${i} is ${t.storage.bytes} bytes, over this device's storage-binding limit of ${maxBinding} bytes; use a smaller batch`,
          'validation',
          [call.name],
        );
      }
    }
    if (x * y * z === 0) return;
    const { pipeline, writable } = this.pipelines.get(call.name, call.code);
    const entries: GPUBindGroupEntry[] = call.bindings.map((t, i) => ({ binding: i, resource: { buffer: t.buffer, size: t.storage.bytes } }));
    let paramsBuffer: GPUBuffer | null = null;
    if (call.params) {
      const bytes = Math.max(16, call.params.byteLength);
      paramsBuffer = this.paramsPool.acquire(bytes, `${call.name}.params`);
      const padded = new Uint32Array(bytes / 4);
      padded.set(call.params);
      this.device.queue.writeBuffer(paramsBuffer, 0, padded);
      entries.push({ binding: call.bindings.length, resource: { buffer: paramsBuffer, size: bytes } });
    }
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries, label: call.name });
    const pass = this.beginPass(call.name);
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    if (this.profiler.enabled) this.endPass();
    for (const t of call.bindings) this.touched.add(t.buffer);
    for (const i of writable) if (i < call.bindings.length) call.bindings[i]!.storage.version++;
    // Released at the next flush, so no later write can overwrite params that recorded work still reads.
    if (paramsBuffer) this.deferredRelease.push(paramsBuffer);
    this.pendingKernels.push(call.name);
    this.stats.dispatches.set(call.name, (this.stats.dispatches.get(call.name) ?? 0) + 1);
    if (this.pendingKernels.length >= this.maxDispatchesPerSubmit) this.flush();
  }

  /** Copies `src` into `dst` on the GPU (same byte length). */
  copy(src: Tensor, dst: Tensor): void {
    this.assertUsable();
    if (src.storage.bytes !== dst.storage.bytes) throw new Error(`copy: ${src.storage.bytes} bytes into ${dst.storage.bytes}`);
    this.endPass();
    this.ensureEncoder().copyBufferToBuffer(src.buffer, 0, dst.buffer, 0, src.storage.bytes);
    this.touched.add(src.buffer);
    this.touched.add(dst.buffer);
    dst.storage.version++;
  }

  private ensureEncoder(): GPUCommandEncoder {
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

  /** Submits everything recorded so far. */
  flush(): void {
    this.endPass();
    if (!this.encoder) return;
    const encoder = this.encoder;
    this.encoder = null;
    if (this.profiler.enabled) this.profiler.resolve(encoder);
    const kernels = this.pendingKernels;
    this.pendingKernels = [];
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    this.device.queue.submit([encoder.finish()]);
    const validation = this.device.popErrorScope();
    const oom = this.device.popErrorScope();
    this.stats.submits++;
    const summary = kernels.length > 8 ? `${kernels.slice(0, 8).join(', ')} … (${kernels.length} dispatches)` : kernels.join(', ');
    this.errorChecks.push(
      Promise.all([validation, oom]).then(([v, o]) => {
        if (v) return new GpuError(`GPU validation error in a batch of [${summary}]: ${v.message}`, 'validation', kernels);
        if (o) return new GpuError(`GPU out of memory in a batch of [${summary}]: ${o.message}; use a smaller batch`, 'out-of-memory', kernels);
        return null;
      }),
    );
    if (this.profiler.enabled) this.profiler.collect();
    this.touched.clear();
    for (const b of this.deferredRelease) this.paramsPool.release(b);
    this.deferredRelease = [];
    this.pool.destroyRetired();
  }

  // ---------------------------------------------------------------- scopes and autograd

  /** Runs `fn`, then disposes every tensor it created except those it returns (found in arrays/objects) or kept. */
  tidy<T>(fn: () => T): T {
    this.scopes.push();
    let result: T;
    try {
      result = fn();
    } catch (e) {
      this.endScope(undefined);
      throw e;
    }
    this.endScope(result);
    return result;
  }

  async tidyAsync<T>(fn: () => Promise<T>): Promise<T> {
    this.scopes.push();
    let result: T;
    try {
      result = await fn();
    } catch (e) {
      this.endScope(undefined);
      throw e;
    }
    this.endScope(result);
    return result;
  }

  private endScope(result: unknown): void {
    this.scopes.pop(result);
    if (this.scopes.depth === 0) this.tape.prune();
  }

  /** Excludes tensors from every enclosing scope, so only an explicit dispose frees them. */
  keep<T extends Tensor>(t: T): T {
    this.scopes.keep(t);
    return t;
  }

  /** Runs `fn` without recording anything on the autograd tape. */
  noGrad<T>(fn: () => T): T {
    return this.tape.withoutRecording(fn);
  }

  resetStats(): void {
    this.stats.dispatches.clear();
    this.stats.submits = 0;
  }

  /** Destroys the device; every later call throws. */
  destroy(): void {
    if (!this.lostError) this.flush();
    this.lostError ??= new GpuError('GPU device lost (destroyed): the engine was destroyed', 'device-lost');
    this.pool.trim();
    this.device.destroy();
  }
}
