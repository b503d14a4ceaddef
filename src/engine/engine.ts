import { CapturedStep, CaptureRecorder, StepMemory, tensorLabel, type StepInput } from './capture.js';
import { BindGroupCache } from './bind-groups.js';
import { acquireDevice, type AdapterSummary } from './device.js';
import { GpuError } from './errors.js';
import { PipelineCache } from './pipelines.js';
import { BufferPool, STORAGE_USAGE } from './pool.js';
import { Profiler } from './profiler.js';
import { ScopeStack } from './scope.js';
import { gentleAwait } from './wait.js';
import { Tape } from './autograd.js';
import { EngineStates, type StateSlot } from './kernel-state.js';
import { grid } from './builtins.js';
import { byteLength, shapeSize, Storage, Tensor, type DType, type HostArray } from './tensor.js';

/** One dispatch of a generated kernel. The WGSL entry point is `main`; bindings are numbered in array order. */
export interface KernelCall {
  /** Family and variant, e.g. `conv2d_fwd`; shown in errors and in the profiler. */
  name: string;
  /**
   * The kernel's compact identity: family, shapes, tile, options — everything the generator's output depends on
   * (equal keys must mean equal WGSL). The pipeline cache is looked up by it, so a warm dispatch generates no WGSL.
   * Optional only when `code` is a string (the code is then its own key).
   */
  key?: string;
  /** The WGSL, or its generator: called only when `key` misses the pipeline cache. */
  code: string | (() => string);
  /** Bound at @binding(0..n-1) of @group(0), in order. Every binding must be used by the shader. */
  bindings: Tensor[];
  /**
   * Small constant values (chunk offsets), bound after `bindings` as `var<storage, read> array<u32>`. Their
   * buffers are immutable and shared by value, so values that change every step must live in a tensor instead.
   */
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
  /**
   * Fill every buffer with NaN when it becomes free for reuse (debugging): a kernel that reads a released tensor, or
   * a memory plan that lets two live tensors share a buffer, then shows up as NaN instead of plausible numbers.
   */
  poisonReleased?: boolean;
  /** Let training, evaluation and extraction capture their step once and replay it (default true); see `capture`. */
  replay?: boolean;
}

/** Immutable params buffers shared by value: a trie over (length, values…). */
interface ParamsNode {
  next: Map<number, ParamsNode>;
  buffer?: GPUBuffer;
}

export class Engine {
  /** See EngineOptions.winograd; may be changed at any time (benchmarks compare both). */
  winograd: boolean;
  readonly pool: BufferPool;
  /** See EngineOptions.poisonReleased. */
  poisonReleased: boolean;
  /** See EngineOptions.replay; may be changed at any time (benchmarks compare both). */
  replay: boolean;
  /** Constant kernel params by value (kept apart from the pool, so tensor counters only count tensors). */
  private readonly constParams: ParamsNode = { next: new Map() };
  readonly pipelines: PipelineCache;
  readonly bindGroups: BindGroupCache;
  readonly scopes = new ScopeStack();
  readonly tape: Tape;
  readonly profiler: Profiler;
  readonly stats: EngineStats = { dispatches: new Map(), submits: 0 };
  private readonly states = new EngineStates();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private readonly touched = new Set<GPUBuffer>();
  private pendingKernels: string[] = [];
  /** Set while a step is being captured (Engine.capture). */
  private recorder: CaptureRecorder | null = null;
  /** Buffers that belong to a captured step's memory plan. */
  private readonly stepOwner = new WeakMap<GPUBuffer, StepMemory>();
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
    this.poisonReleased = options.poisonReleased ?? false;
    this.replay = options.replay ?? true;
    this.pipelines = new PipelineCache(device, (kernel, result) => {
      this.errorChecks.push(result.then((msg) => (msg ? new GpuError(`kernel ${kernel} failed to compile: ${msg}`, 'compile', [kernel]) : null)));
    });
    if (globalThis.process?.env?.WEBGPU_TRANSFER_VERIFY_KEYS === '1') this.pipelines.verifyKeys = true;
    this.bindGroups = new BindGroupCache(device);
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

  /** This engine's value of a kernel family's state slot (created on first use). */
  state<T>(slot: StateSlot<T>): T {
    return this.states.get(slot, this);
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
    const buffer = this.acquireBuffer(bytes, label, false);
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
    const rec = this.recorder;
    if (rec) {
      if (rec.hookDepth > 0) {
        if (rec.used.has(t.buffer)) {
          throw new Error(`captured step '${rec.label}': a perStep callback writes ${tensorLabel(t)}, which the step already used; a replay writes it before all of the step's commands`);
        }
      } else if (rec.memory.owned.has(t.buffer)) {
        this.recordConstantWrite(rec, t, bytes);
        return;
      } else {
        throw new Error(
          `captured step '${rec.label}': host data written into ${tensorLabel(t)} while capturing; values that change per step go through the step's inputs or engine.perStep / uploadPerStep`,
        );
      }
    }
    // queue.writeBuffer runs before commands still waiting in our encoder: submit those first if they use this buffer.
    if (this.touched.has(t.buffer)) this.flush();
    this.device.queue.writeBuffer(t.buffer, 0, bytes.buffer, bytes.byteOffset, bytes.byteLength);
    t.storage.version++;
  }

  /** Inside a capture, host data for a step-owned tensor is a constant of the step: copied from a buffer of its own. */
  private recordConstantWrite(rec: CaptureRecorder, t: Tensor, bytes: ArrayBufferView): void {
    const src = this.device.createBuffer({ size: bytes.byteLength, usage: STORAGE_USAGE, label: `${rec.label}.constant` });
    this.device.queue.writeBuffer(src, 0, bytes.buffer, bytes.byteOffset, bytes.byteLength);
    rec.constants.push(src);
    this.endPass();
    this.ensureEncoder().copyBufferToBuffer(src, 0, t.buffer, 0, bytes.byteLength);
    this.touched.add(t.buffer);
    rec.commands.push({ kind: 'copy', src, dst: t.buffer, bytes: bytes.byteLength });
    rec.used.add(t.buffer);
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

  /**
   * @internal A second handle on `t`'s buffer, same shape and dtype, that no scope tracks and the tape does not
   * record: the buffer stays alive until both `t` and the alias are disposed. Used by the tape to hold what a
   * backward will read.
   */
  alias(t: Tensor): Tensor {
    t.assertAlive();
    t.storage.refs++;
    const a = new Tensor(this, t.shape, t.dtype, t.storage);
    if (t.name !== undefined) a.name = t.name;
    return a;
  }

  /** @internal used by Tensor.dispose */
  releaseTensor(t: Tensor): void {
    this.scopes.untrack(t);
    const s = t.storage;
    if (--s.refs > 0) return;
    for (const hook of s.onRelease.splice(0)) hook();
    this.releaseBuffer(s.buffer);
  }

  private acquireBuffer(bytes: number, label: string, fresh: boolean): GPUBuffer {
    if (!this.recorder) return this.pool.acquire(bytes, label);
    const memory = this.recorder.memory;
    const buffer = memory.acquire(bytes, label, fresh);
    this.stepOwner.set(buffer, memory);
    return buffer;
  }

  private releaseBuffer(buffer: GPUBuffer): void {
    const memory = this.stepOwner.get(buffer);
    const owned = memory?.owned.has(buffer) ?? false;
    // Reuse in GPU order is safe; `write` flushes before overwriting a buffer that recorded work still uses.
    if (this.poisonReleased && (!owned || memory!.recording)) this.poison(buffer);
    if (owned) memory!.release(buffer);
    else this.pool.release(buffer);
  }

  private poison(buffer: GPUBuffer): void {
    const words = buffer.size / 4;
    const code = (): string => `@group(0) @binding(0) var<storage, read_write> b: array<u32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i < ${words}u) { b[i] = 0x7fc00000u; }
}`;
    const compiled = this.pipelines.get('poison_released', `poison_released:${words}`, code);
    const [x, y] = grid(words, 64);
    this.encodeDispatch('poison_released', compiled.pipeline, this.device.createBindGroup({ layout: compiled.layout, entries: [{ binding: 0, resource: { buffer } }] }), x, y, 1);
    this.touched.add(buffer);
    this.recorder?.used.add(buffer);
  }

  /** Reads a tensor back to the host. Flushes recorded work and reports any GPU error it caused. */
  read(t: Tensor): Promise<HostArray> {
    // Misuse inside a capture throws at the call, not in a promise nobody may await.
    if (this.recorder) throw new Error(`captured step '${this.recorder.label}': cannot read ${tensorLabel(t)} back while capturing (a step has no readback)`);
    return this.readAsync(t);
  }

  private async readAsync(t: Tensor): Promise<HostArray> {
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
    if (this.recorder) throw new Error(`captured step '${this.recorder.label}': cannot wait for the GPU while capturing`);
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
    const { pipeline, layout, writable } = this.pipelines.get(call.name, call.key, call.code);
    const bindGroup = this.bindGroups.get(layout, call.bindings, call.params ? this.paramsBuffer(call.params) : null, call.name);
    this.encodeDispatch(call.name, pipeline, bindGroup, x, y, z);
    for (const t of call.bindings) this.touched.add(t.buffer);
    for (const i of writable) if (i < call.bindings.length) call.bindings[i]!.storage.version++;
    const rec = this.recorder;
    if (rec) call.bindings.forEach((t, i) => rec.use(t, writable.includes(i)));
    if (this.pendingKernels.length >= this.maxDispatchesPerSubmit) this.flush();
  }

  private encodeDispatch(name: string, pipeline: GPUComputePipeline, bindGroup: GPUBindGroup, x: number, y: number, z: number): void {
    const pass = this.beginPass(name);
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    if (this.profiler.enabled) this.endPass();
    this.recorder?.commands.push({ kind: 'dispatch', name, pipeline, bindGroup, x, y, z });
    this.pendingKernels.push(name);
    this.stats.dispatches.set(name, (this.stats.dispatches.get(name) ?? 0) + 1);
  }

  /** An immutable buffer holding `values`, shared by every dispatch with the same values. */
  private paramsBuffer(values: Uint32Array): GPUBuffer {
    let node: ParamsNode | undefined = this.constParams.next.get(values.length);
    if (!node) this.constParams.next.set(values.length, (node = { next: new Map() }));
    for (const v of values) {
      let n: ParamsNode | undefined = node.next.get(v);
      if (!n) node.next.set(v, (n = { next: new Map() }));
      node = n;
    }
    if (!node.buffer) {
      const bytes = Math.max(16, values.byteLength);
      const padded = new Uint32Array(bytes / 4);
      padded.set(values);
      node.buffer = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, label: 'params' });
      this.device.queue.writeBuffer(node.buffer, 0, padded);
    }
    return node.buffer;
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
    const rec = this.recorder;
    if (rec) {
      rec.commands.push({ kind: 'copy', src: src.buffer, dst: dst.buffer, bytes: src.storage.bytes });
      rec.use(src, false);
      rec.use(dst, true);
    }
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
    this.stats.submits++;
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    this.device.queue.submit([encoder.finish()]);
    const validation = this.device.popErrorScope();
    const oom = this.device.popErrorScope();
    this.errorChecks.push(
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
    for (const b of this.retiredConstants) b.destroy();
    this.retiredConstants = [];
  }

  // ---------------------------------------------------------------- capture and replay

  /** Whether a step is being captured. */
  get capturing(): boolean {
    return this.recorder !== null;
  }

  /**
   * Runs `fn` once for real — one step, with exactly eager's results — while recording every command it encodes,
   * and returns the recorded step for `replay`. `inputs` are copied into fixed input tensors owned by the step, which
   * `fn` receives instead. Host values `fn` writes are constants of the step (as in `tf.function`), except what goes
   * through `perStep` / `uploadPerStep`. No readback inside `fn`.
   */
  capture<O>(inputs: readonly Tensor[], fn: (...inputs: Tensor[]) => O, opts: { label?: string } = {}): CapturedStep<O> {
    this.assertUsable();
    const label = opts.label ?? 'step';
    if (this.recorder) throw new Error(`capture of '${label}': step '${this.recorder.label}' is being captured (captures do not nest)`);
    const memory = new StepMemory(this.pool);
    const fixed = inputs.map((t, i) => {
      t.assertAlive();
      const bytes = byteLength(t.dtype, t.size);
      const buffer = memory.acquire(bytes, `${label}.input${i}`, true);
      this.stepOwner.set(buffer, memory);
      const f = new Tensor(this, [...t.shape], t.dtype, new Storage(buffer, bytes));
      f.name = `${label}.input${i}`;
      this.copy(t, f);
      return f;
    });
    const rec = new CaptureRecorder(label, memory);
    this.recorder = rec;
    let out: O;
    try {
      out = this.tidy(() => fn(...fixed));
    } catch (e) {
      this.recorder = null;
      for (const f of fixed) f.dispose();
      memory.dispose();
      for (const c of rec.constants) this.deferDestroy(c);
      throw e;
    } finally {
      this.recorder = null;
      memory.recording = false;
    }
    const outputTensors: Tensor[] = [];
    collectOutputs(out, outputTensors);
    for (const t of outputTensors) this.keep(t);
    return new CapturedStep<O>({ engine: this, label, inputs: fixed, outputs: out, outputTensors, recorder: rec, staleReason: rec.staleReason() });
  }

  /**
   * Runs `fn` now and, when a step is being captured, again before every replay of it: where host values that
   * change per step (a learning rate, a step counter) are written into tensors. `fn` may only write tensors the
   * step has not used before this point (a replay runs every callback before the step's first command).
   */
  perStep(fn: () => void): void {
    const rec = this.recorder;
    if (!rec) return fn();
    rec.hooks.push(fn);
    rec.hookDepth++;
    try {
      fn();
    } finally {
      rec.hookDepth--;
    }
  }

  /** A new tensor holding `values()`; inside a capture, `values` is called again and written before every replay. */
  uploadPerStep(values: () => HostArray, shape: readonly number[], dtype?: DType): Tensor {
    const rec = this.recorder;
    if (!rec) return this.upload(values(), shape, dtype);
    const first = values();
    const dt: DType = dtype ?? (first instanceof Uint32Array ? 'u32' : first instanceof Uint8Array ? 'u8' : 'f32');
    const n = shapeSize(shape);
    const bytes = byteLength(dt, n);
    const buffer = this.acquireBuffer(bytes, `${rec.label}.per-step`, true);
    const t = new Tensor(this, [...shape], dt, new Storage(buffer, bytes));
    this.scopes.track(t);
    const write = (data: HostArray): void => {
      if (data.length !== n) throw new Error(`uploadPerStep: ${data.length} values for shape [${shape.join(', ')}] (${n} elements)`);
      this.writeBytes(buffer, data, bytes);
    };
    write(first);
    rec.hooks.push(() => write(values()));
    return t;
  }

  /**
   * Called by caches of values derived from a tensor (Winograd filter transforms) when they serve one without
   * computing it: a captured step then checks at every replay that `source` was not written since.
   */
  noteDerived(source: Tensor, what: string): void {
    if (this.recorder && this.recorder.hookDepth === 0) this.recorder.guard(source.storage, `${what} of ${tensorLabel(source)}`);
  }

  private writeBytes(buffer: GPUBuffer, data: HostArray, bytes: number): void {
    let view: ArrayBufferView = data;
    if (data.byteLength !== bytes) {
      const tmp = new Uint8Array(bytes);
      tmp.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      view = tmp;
    }
    if (this.touched.has(buffer)) this.flush();
    this.device.queue.writeBuffer(buffer, 0, view.buffer, view.byteOffset, view.byteLength);
  }

  /** @internal CapturedStep.replay */
  replayStep(step: CapturedStep<unknown>, inputs: readonly StepInput[] | undefined): void {
    this.assertUsable();
    const where = `replay of captured step '${step.label}'`;
    if (this.recorder) throw new Error(`${where}: step '${this.recorder.label}' is being captured`);
    if (inputs && inputs.length !== step.inputs.length) throw new Error(`${where}: ${inputs.length} inputs given, the step was captured with ${step.inputs.length}`);
    inputs?.forEach((x, i) => {
      const fixed = step.inputs[i]!;
      if (x instanceof Tensor) {
        if (x.disposed) throw new Error(`${where}: input ${i} is ${tensorLabel(x)}, which was disposed`);
        if (x.dtype !== fixed.dtype || x.shape.length !== fixed.shape.length || x.shape.some((d, k) => d !== fixed.shape[k])) {
          throw new Error(`${where}: input ${i} is ${tensorLabel(x)} (${x.dtype}), but the step was captured for [${fixed.shape.join(', ')}] (${fixed.dtype})`);
        }
      } else if (x.length !== fixed.size || x.BYTES_PER_ELEMENT !== (fixed.dtype === 'u8' ? 1 : 4)) {
        throw new Error(`${where}: input ${i} has ${x.length} values of ${x.BYTES_PER_ELEMENT} bytes, but the step was captured for [${fixed.shape.join(', ')}] (${fixed.dtype})`);
      }
    });
    for (const t of step.outputTensors) if (t.disposed) throw new Error(`${where}: its output ${tensorLabel(t)} was disposed (outputs belong to the step)`);
    const rec = step.recorder;
    for (const u of rec.external.values()) {
      if (u.storage.refs <= 0) throw new Error(`${where}: ${u.name}, which the step uses, was disposed after the capture`);
    }
    for (const g of rec.guards) {
      if (g.storage.version !== g.version) throw new Error(`${where}: the step reads the cached ${g.what}, which was written since the capture; capture the step again`);
    }
    this.flush();
    for (const hook of step.hooks) hook();
    const encoder = this.ensureEncoder();
    inputs?.forEach((x, i) => {
      const fixed = step.inputs[i]!;
      if (x instanceof Tensor) encoder.copyBufferToBuffer(x.buffer, 0, fixed.storage.buffer, 0, fixed.storage.bytes);
      else this.writeBytes(fixed.storage.buffer, x, fixed.storage.bytes);
    });
    let pass: GPUComputePassEncoder | null = null;
    let pipeline: GPUComputePipeline | null = null;
    for (const c of step.commands) {
      if (c.kind === 'dispatch') {
        if (!pass) {
          pass = encoder.beginComputePass({ label: step.label });
          pipeline = null;
        }
        if (c.pipeline !== pipeline) pass.setPipeline((pipeline = c.pipeline));
        pass.setBindGroup(0, c.bindGroup);
        pass.dispatchWorkgroups(c.x, c.y, c.z);
      } else {
        pass?.end();
        pass = null;
        encoder.copyBufferToBuffer(c.src, 0, c.dst, 0, c.bytes);
      }
    }
    pass?.end();
    for (const [storage, n] of rec.externalWrites) storage.version += n;
    for (const [name, n] of step.dispatchesByName) this.stats.dispatches.set(name, (this.stats.dispatches.get(name) ?? 0) + n);
    this.pendingKernels.push(step.label);
    this.flush();
  }

  /** @internal CapturedStep.dispose */
  disposeStep(step: CapturedStep<unknown>): void {
    for (const t of [...step.inputs, ...step.outputTensors]) t.dispose();
    step.recorder.memory.dispose();
    for (const c of step.recorder.constants) this.deferDestroy(c);
  }

  private retiredConstants: GPUBuffer[] = [];

  /** Destroyed after the next submit (unsubmitted commands may still use it). */
  private deferDestroy(buffer: GPUBuffer): void {
    this.retiredConstants.push(buffer);
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

function collectOutputs(v: unknown, out: Tensor[]): void {
  if (v instanceof Tensor) out.push(v);
  else if (Array.isArray(v)) for (const x of v) collectOutputs(x, out);
  else if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) for (const x of Object.values(v)) collectOutputs(x, out);
}
