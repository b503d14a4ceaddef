import type { Engine, Tensor } from '../../engine/index.js';
import type { Rng } from '../../util/rng.js';

/** A float64 tensor of the reference implementations (NHWC like the engine, row-major). */
export interface RefTensor {
  data: Float64Array;
  shape: number[];
}

/** What a backward may read: an input, the output, or a tensor the forward made for it (e.g. a max-pool argmax). */
export type SavedRef = { input: number } | 'output' | { own: number } | null;

/** What a backward knows besides the saved tensors: the op's attributes, which inputs need a gradient, their shapes. */
export interface BackwardContext<A> {
  engine: Engine;
  attrs: A;
  /** Per input (absent inputs false): whether it requires a gradient. */
  need: readonly boolean[];
  /** Per input (absent inputs null): its shape. */
  shapes: readonly (readonly number[] | null)[];
}

export interface ForwardResult {
  y: Tensor;
  /** Tensors the forward made only for the backward (the op's own: disposed after recording; the tape holds them). */
  own?: Tensor[];
}

/** One input of a test case: its shape (null: the input is absent), how its values are drawn, whether it is differentiated. */
export interface CaseInput {
  shape: readonly number[] | null;
  /** Values (default: uniform in [−1, 1)). */
  gen?: (n: number, rng: Rng) => Float32Array;
  /** Whether the check differentiates with respect to this input (default true). */
  grad?: boolean;
}

/** A shape the generic op test runs: forward and backward against the reference, the reference against finite differences. */
export interface OpCase<A> {
  label: string;
  inputs: readonly CaseInput[];
  attrs: A;
  /** Normwise relative tolerances of the GPU against the reference (defaults 1e-5 forward, 1e-4 gradients). */
  tol?: { forward?: number; gradient?: number };
  /** Step of the finite differences of the reference (default 1e-6; larger where the objective is large and smooth). */
  fdStep?: number;
}

/**
 * One differentiable op: its forward (kernel calls), what its backward saves and how it computes the gradients, and
 * its float64 reference forward and backward with the cases that check all of it (test/ops.test.ts runs every entry).
 */
export interface OpDef<A> {
  readonly name: string;
  /** Kernel calls; `record` says whether the tape will record it (a forward may skip work only a backward needs). */
  forward(e: Engine, inputs: readonly (Tensor | null)[], attrs: A, record: boolean): ForwardResult;
  /** What the backward reads, given which inputs need a gradient: the tape holds exactly these (default nothing). */
  save?(need: readonly boolean[], attrs: A): readonly SavedRef[];
  /** One gradient per input (null where not needed), from the output's gradient and the saved tensors. */
  backward(ctx: BackwardContext<A>, gy: Tensor, saved: readonly (Tensor | null)[]): (Tensor | null)[];
  readonly reference: {
    forward(inputs: readonly (RefTensor | null)[], attrs: A): RefTensor;
    /** The gradient of every present input (null for absent or non-differentiable ones) for the output gradient gy. */
    backward(inputs: readonly (RefTensor | null)[], attrs: A, gy: Float64Array): (Float64Array | null)[];
  };
  readonly cases: readonly OpCase<A>[];
}

/** Runs `op` on the GPU and records it on the tape when an input requires a gradient: the one way ops reach the tape. */
export function apply<A>(op: OpDef<A>, inputs: readonly (Tensor | null)[], attrs: A): Tensor {
  const present = inputs.filter((t): t is Tensor => t !== null);
  if (present.length === 0) throw new Error(`${op.name}: no inputs`);
  const e = present[0]!.engine;
  const record = e.tape.wouldRecord(present);
  const { y, own = [] } = op.forward(e, inputs, attrs, record);
  if (record) {
    const need = inputs.map((t) => t?.requiresGrad ?? false);
    const saved = (op.save?.(need, attrs) ?? []).map((s) => (s === null ? null : s === 'output' ? y : 'input' in s ? inputs[s.input]! : own[s.own]!));
    const ctx: BackwardContext<A> = { engine: e, attrs, need, shapes: inputs.map((t) => t?.shape ?? null) };
    e.tape.record(op.name, present, y, (gy, s) => op.backward(ctx, gy, s).filter((_, i) => inputs[i] !== null), saved);
  }
  for (const t of own) t.dispose();
  return y;
}

/** A case input's values: uniform in [lo, hi). */
export function uniform(lo: number, hi: number): (n: number, rng: Rng) => Float32Array {
  return (n, rng) => Float32Array.from({ length: n }, () => rng.uniform(lo, hi));
}
