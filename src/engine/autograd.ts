import { addInto, addTensors } from './builtins.js';
import type { Engine } from './engine.js';
import type { Tensor } from './tensor.js';

/** Given the gradient of the output, returns one gradient per input (null where the input needs none). */
export type BackwardFn = (gradOutput: Tensor) => (Tensor | null)[];

interface TapeRecord {
  name: string;
  inputs: Tensor[];
  output: Tensor;
  backward: BackwardFn;
}

/**
 * Define-by-run reverse-mode autograd. An op records itself only when one of its inputs requires a gradient,
 * so a frozen prefix of a network (frozen parameters, plain inputs) records nothing and has no backward work.
 */
export class Tape {
  private records: TapeRecord[] = [];
  private paused = 0;

  constructor(private readonly engine: Engine) {}

  get length(): number {
    return this.records.length;
  }

  get recording(): boolean {
    return this.paused === 0;
  }

  /** Records `output = op(inputs)` if any input requires a gradient; returns whether it did. */
  record(name: string, inputs: Tensor[], output: Tensor, backward: BackwardFn): boolean {
    if (this.paused > 0 || !inputs.some((t) => t.requiresGrad)) return false;
    output.requiresGrad = true;
    this.records.push({ name, inputs, output, backward });
    return true;
  }

  /** @internal a reshape view passes its gradient straight through. */
  recordView(base: Tensor, view: Tensor): void {
    this.record('reshape', [base], view, (g) => [g.reshape(base.shape)]);
  }

  withoutRecording<T>(fn: () => T): T {
    this.paused++;
    try {
      return fn();
    } finally {
      this.paused--;
    }
  }

  /** Drops records whose tensors were disposed (forward passes that never had a backward). */
  prune(): void {
    this.records = this.records.filter((r) => !r.output.disposed);
  }

  clear(): void {
    this.records = [];
  }

  /**
   * Backpropagates from `loss` (seeded with ones, or `seed`), accumulating into `.grad` of every leaf that requires
   * a gradient (trainable parameters, or inputs marked `requiresGrad`). Clears the tape.
   */
  backward(loss: Tensor, seed?: Tensor): void {
    const engine = this.engine;
    if (!loss.requiresGrad) throw new Error('backward: the loss does not depend on any tensor that requires a gradient');
    const records = this.records;
    this.records = [];
    const produced = new Set<Tensor>(records.map((r) => r.output));
    const grads = new Map<Tensor, Tensor>();
    const accumulate = (t: Tensor, g: Tensor): void => {
      if (!produced.has(t)) {
        if (t.grad) {
          addInto(engine, t.grad, g);
          g.dispose();
        } else {
          t.grad = engine.keep(g.shape.length === t.shape.length && g.shape.every((d, i) => d === t.shape[i]) ? g : g.reshape(t.shape));
          if (t.grad !== g) g.dispose();
        }
        return;
      }
      const prev = grads.get(t);
      if (prev) {
        grads.set(t, addTensors(engine, prev, g));
        prev.dispose();
        g.dispose();
      } else grads.set(t, g);
    };
    this.paused++;
    try {
      grads.set(loss, seed ?? engine.full(loss.shape, 1));
      for (let i = records.length - 1; i >= 0; i--) {
        const r = records[i]!;
        const gy = grads.get(r.output);
        if (!gy) continue;
        grads.delete(r.output);
        for (const t of r.inputs) t.assertAlive();
        const gxs = r.backward(gy);
        r.inputs.forEach((x, k) => {
          const gx = gxs[k];
          if (gx && x.requiresGrad) accumulate(x, gx);
          else gx?.dispose();
        });
        if (!gxs.includes(gy)) gy.dispose();
      }
      for (const g of grads.values()) g.dispose();
    } finally {
      this.paused--;
    }
  }
}
