import { sizeClass, type BufferPool } from './pool.js';
import type { Storage, Tensor } from './tensor.js';

/**
 * What a step capture records (see capture.ts): the commands it encodes, the buffers of its memory plan, the tensors
 * it uses from outside, and the cached values it relies on.
 *
 * The memory plan is the capture's own allocation order: buffers acquired while recording belong to the step, a
 * buffer released while recording is handed only to later allocations of the same step (so tensors whose lifetimes
 * do not overlap share it; the smallest free one that holds the tensor, of any size class up to FIT_FACTOR times
 * its own), and none of them goes back to the engine's pool while the step lives.
 */

export type RecordedCommand =
  | { kind: 'dispatch'; name: string; pipeline: GPUComputePipeline; bindGroup: GPUBindGroup; x: number; y: number; z: number }
  | { kind: 'copy'; src: GPUBuffer; dst: GPUBuffer; bytes: number };

/** Encodes recorded commands as a replay does: one compute pass between copies, setPipeline only when it changes. */
export function encodeRecorded(encoder: GPUCommandEncoder, commands: readonly RecordedCommand[], label?: string): void {
  let pass: GPUComputePassEncoder | null = null;
  let pipeline: GPUComputePipeline | null = null;
  for (const c of commands) {
    if (c.kind === 'dispatch') {
      if (!pass) {
        pass = encoder.beginComputePass(label === undefined ? {} : { label });
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
}

/** A tensor the step uses but does not own (parameters, optimizer state, metric accumulators, cached transforms). */
interface ExternalUse {
  storage: Storage;
  name: string;
  named: boolean;
}

/** A derived value (e.g. a Winograd filter transform) the step reads from a cache instead of computing it. */
interface Guard {
  storage: Storage;
  version: number;
  what: string;
}

export function tensorLabel(t: Tensor): string {
  return `tensor #${t.id}${t.name ? ` (${t.name})` : ''} [${t.shape.join(', ')}]`;
}

/** How much larger than a tensor's size class a free buffer of the step's plan may be and still serve it. */
export const FIT_FACTOR = 16;

/** The buffers of one captured step; outlives the recording, released by `CapturedStep.dispose`. */
export class StepMemory {
  /** Every buffer the step acquired. */
  readonly owned = new Set<GPUBuffer>();
  /** Owned buffers a live tensor still holds. */
  readonly held = new Set<GPUBuffer>();
  /**
   * Released while recording: served to the step's later allocations (the memory plan), each the smallest free one
   * that holds it, up to FIT_FACTOR times its size class (a binding covers only the tensor's bytes).
   */
  private readonly free: GPUBuffer[] = [];
  recording = true;
  disposed = false;

  constructor(private readonly pool: BufferPool) {}

  /**
   * `fresh`: never a buffer an earlier tensor of the step used — for inputs and for buffers that per-step callbacks
   * write before the replay's first command (a later tensor may still reuse them once they are released).
   */
  acquire(bytes: number, label: string, fresh = false): GPUBuffer {
    let buffer = fresh ? undefined : this.takeFree(sizeClass(bytes));
    if (!buffer) {
      buffer = this.pool.acquire(bytes, label);
      this.pool.stepShare(buffer.size);
    }
    this.owned.add(buffer);
    this.held.add(buffer);
    return buffer;
  }

  /** A tensor on an owned buffer was released. */
  release(buffer: GPUBuffer): void {
    this.held.delete(buffer);
    if (this.disposed) {
      this.owned.delete(buffer);
      this.pool.stepShare(-buffer.size);
      this.pool.release(buffer);
    } else if (this.recording) {
      this.free.push(buffer);
    }
  }

  /** The smallest free buffer of at least `size` bytes and at most FIT_FACTOR × `size`, taken off the free list. */
  private takeFree(size: number): GPUBuffer | undefined {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const s = this.free[i]!.size;
      if (s >= size && s <= size * FIT_FACTOR && (best < 0 || s < this.free[best]!.size)) best = i;
    }
    if (best < 0) return undefined;
    const [b] = this.free.splice(best, 1);
    return b;
  }

  /** Returns every buffer no live tensor holds; the held ones go back to the pool when their tensors are released. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.recording = false;
    for (const b of this.owned) {
      if (this.held.has(b)) continue;
      this.owned.delete(b);
      this.pool.stepShare(-b.size);
      this.pool.release(b);
    }
    this.free.length = 0;
  }
}

/** What the engine collects while a step is being captured. */
export class CaptureRecorder {
  readonly commands: RecordedCommand[] = [];
  readonly hooks: (() => void)[] = [];
  readonly constants: GPUBuffer[] = [];
  /** Buffers bound or copied by a recorded command so far. */
  readonly used = new Set<GPUBuffer>();
  readonly external = new Map<Storage, ExternalUse>();
  /** Version bumps of external storages per step (replayed so caches outside the step stay coherent). */
  readonly externalWrites = new Map<Storage, number>();
  readonly guards: Guard[] = [];
  hookDepth = 0;

  constructor(
    readonly label: string,
    readonly memory: StepMemory,
  ) {}

  /** Notes a tensor bound by a recorded command; `written` when the command writes it. */
  use(t: Tensor, written: boolean): void {
    const buffer = t.storage.buffer;
    this.used.add(buffer);
    if (this.memory.owned.has(buffer)) return;
    // Errors name the tensor: the first named one seen on this buffer (a parameter rather than a view of it).
    const known = this.external.get(t.storage);
    if (!known || (t.name && !known.named)) this.external.set(t.storage, { storage: t.storage, name: tensorLabel(t), named: !!t.name });
    if (written) this.externalWrites.set(t.storage, (this.externalWrites.get(t.storage) ?? 0) + 1);
  }

  /** A cache served `what`, derived from `storage`, without recording the commands that computed it. */
  guard(storage: Storage, what: string): void {
    if (this.memory.owned.has(storage.buffer)) return;
    // Written earlier in this step: the cached value was computed after that write, i.e. inside the step.
    if (this.externalWrites.has(storage)) return;
    this.guards.push({ storage, version: storage.version, what });
  }

  /** Why replaying would be wrong, if it would: a cached value whose source the step itself rewrites. */
  staleReason(): string | null {
    for (const g of this.guards) {
      if (this.externalWrites.has(g.storage)) {
        return `the step reads ${g.what} from a cache but also writes its source, so a replay would use a stale value; capture a later step (the cache is then refreshed inside the step)`;
      }
    }
    return null;
  }
}
