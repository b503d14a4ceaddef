import { BindGroupCache } from './bind-groups.js';
import { GpuError } from './errors.js';
import { EngineStates } from './kernel-state.js';
import { PipelineCache } from './pipelines.js';
import type { Submission } from './submission.js';
import type { Tensor } from './tensor.js';

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

/** Immutable params buffers shared by value: a trie over (length, values…). */
interface ParamsNode {
  next: Map<number, ParamsNode>;
  buffer?: GPUBuffer;
}

/**
 * Kernels: a KernelCall checked against the device's limits, its pipeline (compiled once per key), bind group and
 * params buffer found, and the dispatch handed to the submission. Also the per-engine state of kernel families.
 */
export class Kernels {
  readonly pipelines: PipelineCache;
  readonly bindGroups: BindGroupCache;
  /** Kernel families' per-engine state (kernel-state.ts). */
  readonly states = new EngineStates();
  /** Constant kernel params by value (kept apart from the pool, so tensor counters only count tensors). */
  private readonly constParams: ParamsNode = { next: new Map() };

  constructor(
    private readonly device: GPUDevice,
    private readonly submission: Submission,
  ) {
    this.pipelines = new PipelineCache(device, (kernel, result) => {
      submission.report(result.then((msg) => (msg ? new GpuError(`kernel ${kernel} failed to compile: ${msg}`, 'compile', [kernel]) : null)));
    });
    if (globalThis.process?.env?.WEBGPU_TRANSFER_VERIFY_KEYS === '1') this.pipelines.verifyKeys = true;
    this.bindGroups = new BindGroupCache(device);
  }

  run(call: KernelCall): void {
    const sub = this.submission;
    sub.assertUsable();
    const [x, y = 1, z = 1] = call.workgroups;
    this.validate(call, x, y, z);
    if (x * y * z === 0) return;
    const { pipeline, layout, writable } = this.pipelines.get(call.name, call.key, call.code);
    const bindGroup = this.bindGroups.get(layout, call.bindings, call.params ? this.paramsBuffer(call.params) : null, call.name);
    sub.dispatch(call.name, pipeline, bindGroup, x, y, z);
    for (const t of call.bindings) sub.touch(t.buffer);
    for (const i of writable) if (i < call.bindings.length) call.bindings[i]!.storage.version++;
    const rec = sub.recorder;
    if (rec) call.bindings.forEach((t, i) => rec.use(t, writable.includes(i)));
    sub.flushIfFull();
  }

  /** Throws a GpuError naming the kernel for workgroup counts or bindings the device would reject. */
  private validate(call: KernelCall, x: number, y: number, z: number): void {
    const limit = this.device.limits.maxComputeWorkgroupsPerDimension;
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
}
