import type { CapturedStep, Engine, Tensor } from '../engine/index.js';

/**
 * Runs one kind of step (a training step, an evaluation or extraction batch) the fast way: eagerly the first time,
 * captured the second (by then caches such as Winograd filter transforms hold what the step only reads), replayed
 * from then on (see Engine.capture). Inputs of another shape (a last partial batch) run eagerly. With replay off
 * (`enabled` false) every call runs eagerly: the results are bit-identical either way.
 */
export class StepRunner<O> {
  private step: CapturedStep<O> | null = null;
  /** A captured step that cannot be replayed: its outputs are handed out once, then it is disposed. */
  private retired: CapturedStep<O> | null = null;
  private firstShapes: (readonly number[])[] | null = null;

  constructor(
    private readonly e: Engine,
    private readonly body: (...inputs: Tensor[]) => O,
    private readonly opts: { enabled: boolean; label: string },
  ) {}

  /** Runs the step on `inputs`. Outputs of a replayed step belong to it: give them back with `release`. */
  run(inputs: Tensor[]): O {
    this.retired?.dispose();
    this.retired = null;
    if (!this.opts.enabled) return this.eager(inputs);
    if (this.step) {
      if (!sameShapes(this.step.inputs.map((t) => t.shape), inputs)) return this.eager(inputs);
      return this.step.replay(inputs);
    }
    if (!this.firstShapes) {
      this.firstShapes = inputs.map((t) => [...t.shape]);
      return this.eager(inputs);
    }
    if (!sameShapes(this.firstShapes, inputs)) return this.eager(inputs);
    const step = this.e.capture(inputs, this.body, { label: this.opts.label });
    if (step.staleReason) this.retired = step;
    else this.step = step;
    return step.outputs;
  }

  /** Disposes an output of `run` unless it belongs to a captured step. */
  release(t: Tensor): void {
    if (this.step?.outputTensors.includes(t) || this.retired?.outputTensors.includes(t)) return;
    t.dispose();
  }

  dispose(): void {
    this.retired?.dispose();
    this.step?.dispose();
    this.retired = this.step = null;
  }

  private eager(inputs: Tensor[]): O {
    return this.e.tidy(() => this.body(...inputs));
  }
}

function sameShapes(shapes: readonly (readonly number[])[], inputs: readonly Tensor[]): boolean {
  return shapes.length === inputs.length && inputs.every((t, i) => t.shape.length === shapes[i]!.length && t.shape.every((d, k) => d === shapes[i]![k]));
}
