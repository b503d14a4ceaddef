import type { Engine } from './engine.js';
import type { Memory } from './memory.js';
import { CaptureRecorder, encodeRecorded, StepMemory, tensorLabel, type RecordedCommand } from './recorder.js';
import type { Submission } from './submission.js';
import { BYTES_PER_ELEMENT, byteLength, dtypeOf, Storage, Tensor, type DType, type HostArray } from './tensor.js';

/**
 * Step capture and replay (think CUDA Graphs or `tf.function`): a step runs once for real while every command it
 * encodes is recorded (recorder.ts); a replay re-encodes the recorded list — no tape, no WGSL, no bind groups, no
 * allocation. Values that change from step to step are written by host callbacks (`Engine.perStep`) that run again
 * before every replay.
 */
export class Capture {
  constructor(
    private readonly engine: Engine,
    private readonly submission: Submission,
    private readonly memory: Memory,
  ) {}

  get capturing(): boolean {
    return this.submission.recorder !== null;
  }

  capture<O>(inputs: readonly Tensor[], fn: (...inputs: Tensor[]) => O, opts: { label?: string } = {}): CapturedStep<O> {
    const sub = this.submission;
    sub.assertUsable();
    const label = opts.label ?? 'step';
    if (sub.recorder) throw new Error(`capture of '${label}': step '${sub.recorder.label}' is being captured (captures do not nest)`);
    const memory = new StepMemory(this.memory.pool);
    const fixed = inputs.map((t, i) => {
      t.assertAlive();
      const bytes = byteLength(t.dtype, t.size);
      const buffer = this.memory.acquireFrom(memory, bytes, `${label}.input${i}`, true);
      const f = new Tensor(this.engine, [...t.shape], t.dtype, new Storage(buffer, bytes));
      f.name = `${label}.input${i}`;
      this.engine.copy(t, f);
      return f;
    });
    const rec = new CaptureRecorder(label, memory);
    sub.recorder = rec;
    let out: O;
    try {
      out = this.engine.tidy(() => fn(...fixed));
    } catch (e) {
      sub.recorder = null;
      for (const f of fixed) f.dispose();
      memory.dispose();
      this.destroyConstants(rec);
      throw e;
    } finally {
      sub.recorder = null;
      memory.recording = false;
    }
    const outputTensors: Tensor[] = [];
    collectOutputs(out, outputTensors);
    for (const t of outputTensors) this.engine.keep(t);
    return new CapturedStep<O>({ owner: this, label, inputs: fixed, outputs: out, outputTensors, recorder: rec, staleReason: rec.staleReason() });
  }

  perStep(fn: () => void): void {
    const rec = this.submission.recorder;
    if (!rec) return fn();
    rec.hooks.push(fn);
    rec.hookDepth++;
    try {
      fn();
    } finally {
      rec.hookDepth--;
    }
  }

  uploadPerStep(values: () => HostArray, shape: readonly number[], dtype?: DType): Tensor {
    const rec = this.submission.recorder;
    if (!rec) return this.engine.upload(values(), shape, dtype);
    const first = values();
    const t = this.memory.allocate(shape, dtype ?? dtypeOf(first), `${rec.label}.per-step`, true);
    const { buffer, bytes } = t.storage;
    const n = t.size;
    const write = (data: HostArray): void => {
      if (data.length !== n) throw new Error(`uploadPerStep: ${data.length} values for shape [${shape.join(', ')}] (${n} elements)`);
      this.memory.writeBytes(buffer, data, bytes);
    };
    write(first);
    rec.hooks.push(() => write(values()));
    return t;
  }

  noteDerived(source: Tensor, what: string): void {
    const rec = this.submission.recorder;
    if (rec && rec.hookDepth === 0) rec.guard(source.storage, `${what} of ${tensorLabel(source)}`);
  }

  /** @internal CapturedStep.replay */
  replay(step: CapturedStep<unknown>, inputs: readonly StepInput[] | undefined): void {
    const sub = this.submission;
    sub.assertUsable();
    const where = `replay of captured step '${step.label}'`;
    if (sub.recorder) throw new Error(`${where}: step '${sub.recorder.label}' is being captured`);
    if (inputs && inputs.length !== step.inputs.length) throw new Error(`${where}: ${inputs.length} inputs given, the step was captured with ${step.inputs.length}`);
    inputs?.forEach((x, i) => {
      const fixed = step.inputs[i]!;
      if (x instanceof Tensor) {
        if (x.disposed) throw new Error(`${where}: input ${i} is ${tensorLabel(x)}, which was disposed`);
        if (x.dtype !== fixed.dtype || x.shape.length !== fixed.shape.length || x.shape.some((d, k) => d !== fixed.shape[k])) {
          throw new Error(`${where}: input ${i} is ${tensorLabel(x)} (${x.dtype}), but the step was captured for [${fixed.shape.join(', ')}] (${fixed.dtype})`);
        }
      } else if (x.length !== fixed.size || x.BYTES_PER_ELEMENT !== BYTES_PER_ELEMENT[fixed.dtype]) {
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
    sub.flush();
    for (const hook of step.hooks) hook();
    const encoder = sub.ensureEncoder();
    inputs?.forEach((x, i) => {
      const fixed = step.inputs[i]!;
      if (x instanceof Tensor) {
        encoder.copyBufferToBuffer(x.buffer, 0, fixed.storage.buffer, 0, fixed.storage.bytes);
        sub.trace?.push({ kind: 'copy', src: x.buffer, dst: fixed.storage.buffer, bytes: fixed.storage.bytes });
      }
      else this.memory.writeBytes(fixed.storage.buffer, x, fixed.storage.bytes);
    });
    encodeRecorded(encoder, step.commands, step.label);
    sub.trace?.push(...step.commands);
    for (const [storage, n] of rec.externalWrites) storage.version += n;
    const dispatches = sub.stats.dispatches;
    for (const [name, n] of step.dispatchesByName) dispatches.set(name, (dispatches.get(name) ?? 0) + n);
    sub.notePending(step.label);
    sub.flush();
  }

  /** @internal CapturedStep.dispose */
  dispose(step: CapturedStep<unknown>): void {
    for (const t of [...step.inputs, ...step.outputTensors]) t.dispose();
    step.recorder.memory.dispose();
    this.destroyConstants(step.recorder);
  }

  private destroyConstants(rec: CaptureRecorder): void {
    for (const c of rec.constants) {
      this.memory.pool.drop(c.size, true);
      this.submission.deferDestroy(c);
    }
  }
}

export type StepInput = Tensor | HostArray;
export type { RecordedCommand };

interface StepParts {
  owner: Capture;
  label: string;
  inputs: Tensor[];
  outputs: unknown;
  outputTensors: Tensor[];
  recorder: CaptureRecorder;
  staleReason: string | null;
}

/** A recorded step; `replay` runs it again on the current contents of everything it reads. */
export class CapturedStep<O> {
  readonly label: string;
  /** The step's fixed input tensors (what `fn` received); `replay` copies new inputs into them. */
  readonly inputs: readonly Tensor[];
  /** What `fn` returned: owned by the step and overwritten by every replay (read them before the next one). */
  readonly outputs: O;
  /** @internal */
  readonly outputTensors: readonly Tensor[];
  readonly commands: readonly RecordedCommand[];
  readonly hooks: readonly (() => void)[];
  /** @internal */
  readonly recorder: CaptureRecorder;
  /** Set when the step cannot be replayed (see CaptureRecorder.staleReason); `replay` throws it. */
  readonly staleReason: string | null;
  /** Dispatches per replay by kernel name (for the engine's stats). */
  readonly dispatchesByName: ReadonlyMap<string, number>;
  readonly dispatchCount: number;
  private readonly owner: Capture;
  private disposedFlag = false;

  /** @internal made by Engine.capture */
  constructor(parts: StepParts) {
    this.owner = parts.owner;
    this.label = parts.label;
    this.inputs = parts.inputs;
    this.outputs = parts.outputs as O;
    this.outputTensors = parts.outputTensors;
    this.recorder = parts.recorder;
    this.commands = parts.recorder.commands;
    this.hooks = parts.recorder.hooks;
    this.staleReason = parts.staleReason;
    const byName = new Map<string, number>();
    for (const c of this.commands) if (c.kind === 'dispatch') byName.set(c.name, (byName.get(c.name) ?? 0) + 1);
    this.dispatchesByName = byName;
    this.dispatchCount = [...byName.values()].reduce((a, b) => a + b, 0);
  }

  get disposed(): boolean {
    return this.disposedFlag;
  }

  /**
   * Writes `inputs` (tensors of the captured shapes, copied on the GPU, or host arrays of the same length; omit to
   * keep the previous contents) into the fixed inputs, runs the per-step callbacks, then encodes and submits the
   * recorded commands. Returns `outputs`.
   */
  replay(inputs?: readonly StepInput[]): O {
    if (this.disposedFlag) throw new Error(`replay of captured step '${this.label}': the step was disposed`);
    if (this.staleReason) throw new Error(`replay of captured step '${this.label}': ${this.staleReason}`);
    this.owner.replay(this as CapturedStep<unknown>, inputs);
    return this.outputs;
  }

  /** Frees the step's buffers and disposes its inputs and outputs. */
  dispose(): void {
    if (this.disposedFlag) return;
    this.disposedFlag = true;
    this.owner.dispose(this as CapturedStep<unknown>);
  }
}

function collectOutputs(v: unknown, out: Tensor[]): void {
  if (v instanceof Tensor) out.push(v);
  else if (Array.isArray(v)) for (const x of v) collectOutputs(x, out);
  else if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) for (const x of Object.values(v)) collectOutputs(x, out);
}
