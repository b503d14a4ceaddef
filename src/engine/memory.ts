import { grid } from './builtins.js';
import type { Engine } from './engine.js';
import type { PipelineCache } from './pipelines.js';
import { STORAGE_USAGE, type BufferPool } from './pool.js';
import { tensorLabel, type CaptureRecorder, type StepMemory } from './recorder.js';
import { ScopeStack } from './scope.js';
import type { Submission } from './submission.js';
import { byteLength, dtypeOf, hostArray, shapeSize, Storage, Tensor, type DType, type HostArray } from './tensor.js';

/**
 * Memory: tensors on pooled buffers, host data in and out, and the scopes that dispose them. While a step is being
 * captured, buffers come from the step's memory plan instead of the pool (and go back to it); with `poisonReleased`,
 * a buffer is filled with NaN when it becomes free.
 */
export class Memory {
  readonly pool: BufferPool;
  readonly scopes: ScopeStack;
  /** See EngineOptions.poisonReleased. */
  poisonReleased: boolean;
  /** Buffers that belong to a captured step's memory plan. */
  private readonly stepOwner = new WeakMap<GPUBuffer, StepMemory>();
  private readonly engine: Engine;
  private readonly device: GPUDevice;
  private readonly submission: Submission;
  private readonly pipelines: PipelineCache;

  constructor(parts: { engine: Engine; device: GPUDevice; pool: BufferPool; submission: Submission; pipelines: PipelineCache; poisonReleased: boolean; onOutermostScopeEnd: () => void }) {
    this.engine = parts.engine;
    this.device = parts.device;
    this.pool = parts.pool;
    this.submission = parts.submission;
    this.pipelines = parts.pipelines;
    this.poisonReleased = parts.poisonReleased;
    this.scopes = new ScopeStack(parts.onOutermostScopeEnd);
  }

  /** An uninitialised tensor (contents are whatever the pooled buffer held). */
  empty(shape: readonly number[], dtype: DType = 'f32', label = 'tensor'): Tensor {
    this.submission.assertUsable();
    return this.allocate(shape, dtype, label);
  }

  /** A new tensor tracked by the current scope; `fresh` as in StepMemory.acquire (only matters while capturing). */
  allocate(shape: readonly number[], dtype: DType, label: string, fresh = false): Tensor {
    const bytes = byteLength(dtype, shapeSize(shape));
    const t = new Tensor(this.engine, [...shape], dtype, new Storage(this.acquireBuffer(bytes, label, fresh), bytes));
    this.scopes.track(t);
    return t;
  }

  upload(data: HostArray | number[], shape: readonly number[], dtype?: DType): Tensor {
    const dt = dtype ?? dtypeOf(data);
    const n = shapeSize(shape);
    if (data.length !== n) throw new Error(`upload: ${data.length} values for shape [${shape.join(', ')}] (${n} elements)`);
    const t = this.empty(shape, dt, 'upload');
    this.write(t, data);
    return t;
  }

  full(shape: readonly number[], value: number, dtype: DType = 'f32'): Tensor {
    return this.upload(hostArray(dtype, shapeSize(shape)).fill(value), shape, dtype);
  }

  write(t: Tensor, data: HostArray | number[]): void {
    this.submission.assertUsable();
    if (data.length !== t.size) throw new Error(`write: ${data.length} values for a tensor of ${t.size}`);
    const bytes = padTo(Array.isArray(data) ? hostArray(t.dtype, data) : data, t.storage.bytes);
    const rec = this.submission.recorder;
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
    this.submission.writeBuffer(t.buffer, bytes);
    t.storage.version++;
  }

  /** Host data into a buffer of `bytes` bytes (zero-padded), ordered after every dispatch already recorded. */
  writeBytes(buffer: GPUBuffer, data: HostArray, bytes: number): void {
    this.submission.writeBuffer(buffer, padTo(data, bytes));
  }

  /** Inside a capture, host data for a step-owned tensor is a constant of the step: copied from a buffer of its own. */
  private recordConstantWrite(rec: CaptureRecorder, t: Tensor, bytes: ArrayBufferView): void {
    const src = this.device.createBuffer({ size: bytes.byteLength, usage: STORAGE_USAGE, label: `${rec.label}.constant` });
    this.submission.writeBuffer(src, bytes);
    rec.constants.push(src);
    this.pool.hold(src.size, true);
    this.submission.copy(src, t.buffer, bytes.byteLength);
    rec.used.add(t.buffer);
    t.storage.version++;
  }

  copy(src: Tensor, dst: Tensor): void {
    this.submission.assertUsable();
    if (src.storage.bytes !== dst.storage.bytes) throw new Error(`copy: ${src.storage.bytes} bytes into ${dst.storage.bytes}`);
    this.submission.copy(src.buffer, dst.buffer, src.storage.bytes);
    dst.storage.version++;
    const rec = this.submission.recorder;
    if (rec) {
      rec.use(src, false);
      rec.use(dst, true);
    }
  }

  read(t: Tensor): Promise<HostArray> {
    // Misuse inside a capture throws at the call, not in a promise nobody may await.
    const rec = this.submission.recorder;
    if (rec) throw new Error(`captured step '${rec.label}': cannot read ${tensorLabel(t)} back while capturing (a step has no readback)`);
    return this.readAsync(t);
  }

  private async readAsync(t: Tensor): Promise<HostArray> {
    t.assertAlive();
    const sub = this.submission;
    sub.assertUsable();
    const bytes = t.storage.bytes;
    const staging = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'readback' });
    sub.copy(t.buffer, staging, bytes);
    sub.flush();
    try {
      await sub.raceLost(staging.mapAsync(GPUMapMode.READ));
      await sub.checkErrors();
      const copy = staging.getMappedRange().slice(0);
      staging.unmap();
      return hostArray(t.dtype, copy, t.size);
    } finally {
      staging.destroy();
    }
  }

  alias(t: Tensor): Tensor {
    t.assertAlive();
    t.storage.refs++;
    const a = new Tensor(this.engine, t.shape, t.dtype, t.storage);
    if (t.name !== undefined) a.name = t.name;
    return a;
  }

  releaseTensor(t: Tensor): void {
    this.scopes.untrack(t);
    const s = t.storage;
    if (--s.refs > 0) return;
    for (const hook of s.onRelease.splice(0)) hook();
    this.releaseBuffer(s.buffer);
  }

  /** A buffer of the step being captured, if one is, else of the pool. */
  private acquireBuffer(bytes: number, label: string, fresh: boolean): GPUBuffer {
    const rec = this.submission.recorder;
    return rec ? this.acquireFrom(rec.memory, bytes, label, fresh) : this.pool.acquire(bytes, label);
  }

  /** A buffer of a step's memory plan (released back into it). */
  acquireFrom(memory: StepMemory, bytes: number, label: string, fresh: boolean): GPUBuffer {
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
    const bindGroup = this.device.createBindGroup({ layout: compiled.layout, entries: [{ binding: 0, resource: { buffer } }] });
    this.submission.dispatch('poison_released', compiled.pipeline, bindGroup, x, y, 1);
    this.submission.touch(buffer);
    this.submission.recorder?.used.add(buffer);
  }
}

/** `data` zero-padded to `bytes` bytes (as is when it has that length). */
function padTo(data: ArrayBufferView, bytes: number): ArrayBufferView {
  if (data.byteLength === bytes) return data;
  const tmp = new Uint8Array(bytes);
  tmp.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return tmp;
}
