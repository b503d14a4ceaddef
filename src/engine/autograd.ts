import { addInto, addTensors } from './builtins.js';
import type { Engine } from './engine.js';
import type { Tensor } from './tensor.js';

/** What an op's backward reads: its own handles on tensors it named when recording (null where it saved nothing). */
export type SavedTensors = readonly (Tensor | null)[];

/**
 * Given the gradient of the output and the tape's handles on the tensors the op saved (in the order it named them),
 * returns one gradient per input (null where the input needs none). A backward reads tensor data only through
 * `saved`: the op's inputs and output belong to their callers, who may dispose them right after the forward.
 */
export type BackwardFn<S extends SavedTensors = SavedTensors> = (gradOutput: Tensor, saved: S) => (Tensor | null)[];

interface TapeRecord {
  name: string;
  /** Identities only (which gradient goes where, `requiresGrad`, shapes); their buffers may be gone. */
  inputs: Tensor[];
  output: Tensor;
  backward: BackwardFn;
  /** The tape's own aliases of what the backward reads; released once the record is done with. */
  saved: (Tensor | null)[];
}

/**
 * Define-by-run reverse-mode autograd. An op records itself only when one of its inputs requires a gradient,
 * so a frozen prefix of a network (frozen parameters, plain inputs) records nothing and has no backward work.
 *
 * The tape owns what backward needs: an op names the tensors its backward will read (`saved`), the tape keeps an
 * untracked alias of each (sharing the buffer, outside every scope) and releases it when that record's backward has
 * run, when the record is pruned, or on `clear()`. Callers may therefore dispose every intermediate as soon as the
 * next op has consumed it, whether or not a gradient will flow through it.
 */
export class Tape {
  private records: TapeRecord[] = [];
  private paused = 0;

  constructor(private readonly engine: Engine) {}

  get length(): number {
    return this.records.length;
  }

  /**
   * Whether an op on `inputs` would be recorded: the tape is recording and some input requires a gradient. The one
   * rule for "does anything need a gradient here" — also what lets an op or layer take a no-gradient fast path.
   */
  wouldRecord(inputs: readonly Tensor[]): boolean {
    return this.paused === 0 && inputs.some((t) => t.requiresGrad);
  }

  /**
   * Records `output = op(inputs)` if any input requires a gradient; returns whether it did. `saved` names the tensors
   * `backward` will read (null entries stay null): the tape holds them until the record is done with and hands its
   * own handles to `backward` in the same order. When nothing is recorded, nothing is held.
   */
  record<const S extends SavedTensors = []>(name: string, inputs: Tensor[], output: Tensor, backward: BackwardFn<S>, saved?: S): boolean {
    if (!this.wouldRecord(inputs)) return false;
    const held = (saved ?? []).map((t) => (t ? this.engine.alias(t) : null));
    output.requiresGrad = true;
    this.records.push({ name, inputs, output, backward: backward as unknown as BackwardFn, saved: held });
    return true;
  }

  /** @internal a reshape view passes its gradient straight through. */
  recordView(base: Tensor, view: Tensor): void {
    const shape = base.shape;
    this.record('reshape', [base], view, (g) => [g.reshape(shape)]);
  }

  withoutRecording<T>(fn: () => T): T {
    this.paused++;
    try {
      return fn();
    } finally {
      this.paused--;
    }
  }

  /** Number of tensors the tape currently holds for pending backward passes (for tests and diagnostics). */
  get heldTensors(): number {
    let n = 0;
    for (const r of this.records) for (const s of r.saved) if (s) n++;
    return n;
  }

  /**
   * Drops records no backward can reach any more (forward passes that never had a backward): a record stays while
   * its output is alive or it feeds, through other records, an output that is alive.
   */
  prune(): void {
    const needed = new Set<Tensor>();
    const kept: TapeRecord[] = [];
    for (let i = this.records.length - 1; i >= 0; i--) {
      const r = this.records[i]!;
      if (!r.output.disposed || needed.has(r.output)) {
        kept.push(r);
        for (const x of r.inputs) needed.add(x);
      } else release(r);
    }
    this.records = kept.reverse();
  }

  /** Drops every record and releases what they held. */
  clear(): void {
    const records = this.records;
    this.records = [];
    for (const r of records) release(r);
  }

  /**
   * Backpropagates from `loss` (seeded with ones, or `seed`), accumulating into `.grad` of every leaf that requires
   * a gradient (trainable parameters, or inputs marked `requiresGrad`). Clears the tape; each record's saved tensors
   * are released as soon as its backward has run (or right away for records the gradient does not reach).
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
        // A leaf: its gradient belongs to whoever holds the leaf (read through `.grad`, disposed by them).
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
    let i = records.length - 1;
    try {
      grads.set(loss, seed ?? engine.full(loss.shape, 1));
      for (; i >= 0; i--) {
        const r = records[i]!;
        const gy = grads.get(r.output);
        if (!gy) {
          release(r);
          continue;
        }
        grads.delete(r.output);
        let gxs: (Tensor | null)[];
        try {
          for (const s of r.saved) s?.assertAlive();
          gxs = r.backward(gy, r.saved);
        } catch (err) {
          gy.dispose(); // the tape's own, like every gradient in flight
          throw err;
        } finally {
          release(r);
        }
        r.inputs.forEach((x, k) => {
          const gx = gxs[k];
          if (gx && x.requiresGrad) accumulate(x, gx);
          else gx?.dispose();
        });
        if (!gxs.includes(gy)) gy.dispose();
      }
    } finally {
      this.paused--;
      for (; i >= 0; i--) release(records[i]!);
      // Gradients still in flight (none unless something threw) are the tape's own; leaves keep what they got.
      for (const g of grads.values()) g.dispose();
    }
  }
}

function release(r: TapeRecord): void {
  for (const s of r.saved) s?.dispose();
  r.saved = [];
}
