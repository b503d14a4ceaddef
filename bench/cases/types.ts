import type { Engine } from '../../src/engine/index.js';
import type { TfjsHandle } from '../tfjs-setup.js';
import type { Timed } from '../timing.js';

/** One implementation of a case (ours, TF.js WebGPU or TF.js wasm), holding its uploaded inputs. */
export interface Side extends Timed {
  /**
   * Runs one full iteration from the initial state (compiling every pipeline the timed iterations use) and reads
   * back the values compared across implementations.
   */
  result(): Promise<Float32Array[]>;
  /** Ours: writes an iteration's per-step host inputs (a new batch: what a training loop uploads per step). */
  upload?(): void;
  dispose(): void;
}

export interface BenchContext {
  engine: Engine;
  tfjs: TfjsHandle;
  quick: boolean;
}

export type CaseGroup = 'matmul' | 'conv' | 'conv_grad' | 'pool' | 'dense' | 'vgg16' | 'finetune';

export interface OutputCheck {
  name: string;
  /**
   * 'max': max|a − b| / max|b|. 'norm': ‖a − b‖₂ / ‖b‖₂, for gradients that flow back through a max-pool: wherever
   * two elements of a window lie within rounding of each other, two correct implementations may pick different
   * maxima and send that window's gradient elsewhere, which moves a few elements a lot (see bench/README.md).
   */
  metric: 'max' | 'norm';
  tolerance: number;
}

export interface CaseDef {
  /** The name as run, e.g. `vgg16_forward_b2` (batch sizes in names are the batch actually run). */
  name: string;
  /** The full-size case this one stands for; equal to `name` unless --quick reduced it. */
  fullName: string;
  group: CaseGroup;
  batch?: number;
  /** Human-readable shapes, e.g. `[20,9,9,512] * [3,3,512,512]`. */
  shape: string;
  /** Floating-point operations per iteration (a multiply-add counts 2); 0 where GFLOP/s means nothing. */
  flops: number;
  /** Images per iteration, for images/s. */
  images?: number;
  /** The largest max_rel_diff that still counts as agreeing with TF.js. */
  tolerance: number;
  /**
   * For cases with several outputs, how each one is compared (in result() order); without it every output uses
   * max_rel_diff and `tolerance`. max_rel_diff (the reported number) is then the worst over the 'max' outputs.
   */
  outputChecks?: OutputCheck[];
  /** Ours replays a step captured once (engine.capture) rather than recording it anew every iteration. */
  replay?: boolean;
  /**
   * The fewest GPU bytes one iteration can need (the fine-tuning step: weights + trainable gradients + optimizer
   * state + the activations backward needs alive at once + the largest input/output pair of one layer).
   */
  peakLowerBoundBytes?: number;
  /** Set when the case cannot run on this device (e.g. a binding over the storage-binding limit). */
  skip?: string;
  ours(ctx: BenchContext): Side;
  /** Built while the named TF.js backend is active; throws when that backend lacks a kernel. */
  tfjs(ctx: BenchContext, backend: 'webgpu' | 'wasm'): Side;
  /** Why the wasm backend cannot run this case, when known in advance. */
  wasmUnsupported?: string;
}
