import { Capture, type CapturedStep, type RecordedCommand } from './capture.js';
import type { BindGroupCache } from './bind-groups.js';
import { acquireDevice, type AdapterSummary } from './device.js';
import { Kernels, type KernelCall } from './kernels.js';
import { Memory } from './memory.js';
import type { PipelineCache } from './pipelines.js';
import { BufferPool, type GpuBytes } from './pool.js';
import type { Profiler } from './profiler.js';
import type { ScopeStack } from './scope.js';
import { Submission, type EngineStats } from './submission.js';
import { Tape } from './autograd.js';
import type { StateSlot } from './kernel-state.js';
import { Tensor, type DType, type HostArray } from './tensor.js';

export type { KernelCall } from './kernels.js';
export type { EngineStats } from './submission.js';
export type { GpuBytes } from './pool.js';

export interface EngineOptions {
  powerPreference?: GPUPowerPreference;
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

/**
 * The engine: a facade over its parts, each with one job — submission.ts (encoder, pass, flush policy, GPU errors,
 * device loss), memory.ts (tensors, host data in and out, scopes, buffers routed to a captured step, poisoning),
 * kernels.ts (pipelines, bind groups, params, dispatch validation, kernel state), capture.ts (capture and replay) —
 * plus the autograd tape. Kernels, layers and tests talk to it; the parts do not know it except as their tensors' owner.
 */
export class Engine {
  /** The options the engine was created with. */
  readonly options: EngineOptions;
  /** See EngineOptions.replay; may be changed at any time (benchmarks compare both). */
  replay: boolean;
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;
  readonly bindGroups: BindGroupCache;
  readonly scopes: ScopeStack;
  readonly tape: Tape;
  readonly profiler: Profiler;
  readonly stats: EngineStats;
  private readonly submission: Submission;
  private readonly kernels: Kernels;
  private readonly memory: Memory;
  private readonly steps: Capture;

  private constructor(
    readonly device: GPUDevice,
    readonly adapter: GPUAdapter,
    readonly info: AdapterSummary,
    options: EngineOptions,
  ) {
    this.options = Object.freeze({ ...options });
    this.replay = options.replay ?? true;
    this.pool = new BufferPool(device, Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize));
    this.submission = new Submission(device, this.pool);
    this.kernels = new Kernels(device, this.submission);
    this.tape = new Tape(this);
    const poisonReleased = options.poisonReleased ?? false;
    const parts = { engine: this, device, pool: this.pool, submission: this.submission, pipelines: this.kernels.pipelines, poisonReleased };
    this.memory = new Memory({ ...parts, onOutermostScopeEnd: () => this.tape.prune() });
    this.steps = new Capture(this, this.submission, this.memory);
    this.pipelines = this.kernels.pipelines;
    this.bindGroups = this.kernels.bindGroups;
    this.scopes = this.memory.scopes;
    this.profiler = this.submission.profiler;
    this.stats = this.submission.stats;
  }

  static async create(options: EngineOptions = {}): Promise<Engine> {
    const { adapter, device, summary } = await acquireDevice(options);
    return new Engine(device, adapter, summary, options);
  }

  /** Wraps an existing device (e.g. one shared with another library). */
  static fromDevice(device: GPUDevice, adapter: GPUAdapter, info: AdapterSummary, options: EngineOptions = {}): Engine {
    return new Engine(device, adapter, info, options);
  }

  /** This engine's value of a kernel family's state slot (created on first use). */
  state<T>(slot: StateSlot<T>): T {
    return this.kernels.states.get(slot, this);
  }

  /** See EngineOptions.poisonReleased; may be changed at any time. */
  get poisonReleased(): boolean {
    return this.memory.poisonReleased;
  }
  set poisonReleased(on: boolean) {
    this.memory.poisonReleased = on;
  }

  get lost(): boolean {
    return this.submission.lost;
  }

  /** Waits for `p`, or throws the device-lost error if the device is lost first (never hangs on a lost device). */
  raceLost<T>(p: Promise<T>): Promise<T> {
    return this.submission.raceLost(p);
  }

  // ---------------------------------------------------------------- tensors (memory.ts)

  /** An uninitialised tensor (contents are whatever the pooled buffer held). */
  empty(shape: readonly number[], dtype: DType = 'f32', label = 'tensor'): Tensor {
    return this.memory.empty(shape, dtype, label);
  }

  /** Uploads host data into a new tensor (dtype: from the array when not given, f32 for number[]). */
  upload(data: HostArray | number[], shape: readonly number[], dtype?: DType): Tensor {
    return this.memory.upload(data, shape, dtype);
  }

  /** Overwrites a tensor's contents from the host, ordered after every dispatch already recorded. */
  write(t: Tensor, data: HostArray | number[]): void {
    this.memory.write(t, data);
  }

  /** A tensor of `shape` with every element equal to `value`. */
  full(shape: readonly number[], value: number, dtype: DType = 'f32'): Tensor {
    return this.memory.full(shape, value, dtype);
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
    return this.memory.alias(t);
  }

  /** @internal used by Tensor.dispose */
  releaseTensor(t: Tensor): void {
    this.memory.releaseTensor(t);
  }

  /** Reads a tensor back to the host. Flushes recorded work and reports any GPU error it caused. */
  read(t: Tensor): Promise<HostArray> {
    return this.memory.read(t);
  }

  /** Copies `src` into `dst` on the GPU (same byte length). */
  copy(src: Tensor, dst: Tensor): void {
    this.memory.copy(src, dst);
  }

  // ---------------------------------------------------------------- dispatch and submission

  run(call: KernelCall): void {
    this.kernels.run(call);
  }

  /** Submits everything recorded so far. */
  flush(): void {
    this.submission.flush();
  }

  /** Waits for all submitted work and throws the first GPU error it raised. */
  sync(): Promise<void> {
    return this.submission.sync();
  }

  // ---------------------------------------------------------------- capture and replay (capture.ts)

  /** Whether a step is being captured. */
  get capturing(): boolean {
    return this.steps.capturing;
  }

  /**
   * Runs `fn` once for real — one step, with exactly eager's results — while recording every command it encodes,
   * and returns the recorded step for `replay`. `inputs` are copied into fixed input tensors owned by the step, which
   * `fn` receives instead. Host values `fn` writes are constants of the step (as in `tf.function`), except what goes
   * through `perStep` / `uploadPerStep`. No readback inside `fn`.
   */
  capture<O>(inputs: readonly Tensor[], fn: (...inputs: Tensor[]) => O, opts: { label?: string } = {}): CapturedStep<O> {
    return this.steps.capture(inputs, fn, opts);
  }

  /**
   * Runs `fn` now and, when a step is being captured, again before every replay of it: where host values that
   * change per step (a learning rate, a step counter) are written into tensors. `fn` may only write tensors the
   * step has not used before this point (a replay runs every callback before the step's first command).
   */
  perStep(fn: () => void): void {
    this.steps.perStep(fn);
  }

  /** A new tensor holding `values()`; inside a capture, `values` is called again and written before every replay. */
  uploadPerStep(values: () => HostArray, shape: readonly number[], dtype?: DType): Tensor {
    return this.steps.uploadPerStep(values, shape, dtype);
  }

  /**
   * Called by caches of values derived from a tensor (Winograd filter transforms) when they serve one without
   * computing it: a captured step then checks at every replay that `source` was not written since.
   */
  noteDerived(source: Tensor, what: string): void {
    this.steps.noteDerived(source, what);
  }

  // ---------------------------------------------------------------- scopes and autograd

  /** Runs `fn`, then disposes every tensor it created except those it returns (found in arrays/objects) or kept. */
  tidy<T>(fn: () => T): T {
    return this.scopes.tidy(fn);
  }

  tidyAsync<T>(fn: () => Promise<T>): Promise<T> {
    return this.scopes.tidyAsync(fn);
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

  /**
   * GPU bytes held for tensors and captured steps now, and the most held at once since creation or `resetPeak`
   * (GpuBytes in pool.ts: buffer capacities; the pool's free lists are `pool.counters.freeBytes`).
   */
  memoryStats(): GpuBytes {
    return { ...this.pool.bytes };
  }

  /** Starts a new peak (memoryStats().peakBytes) from what is held now. */
  resetPeak(): void {
    this.pool.resetPeak();
  }

  /**
   * Starts collecting every command encoded from now on, eager or replayed (for measurements: the bench's host
   * floor re-encodes them with everything prebuilt). The commands hold the engine's own pipelines and bind groups.
   */
  startTrace(): void {
    this.submission.trace = [];
  }

  /** The commands encoded since `startTrace`; tracing stops. */
  stopTrace(): RecordedCommand[] {
    const t = this.submission.trace ?? [];
    this.submission.trace = null;
    return t;
  }

  resetStats(): void {
    this.stats.dispatches.clear();
    this.stats.submits = 0;
  }

  /** Destroys the device; every later call throws. */
  destroy(): void {
    this.submission.close();
    this.pool.trim();
    this.device.destroy();
  }
}
