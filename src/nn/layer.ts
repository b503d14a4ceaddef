/** The layer base: named parameters, a per-layer `trainable` flag, shape inference and a forward pass. */
import type { Engine } from '../engine/engine.js';
import type { Tensor } from '../engine/tensor.js';
import type { Rng } from '../util/rng.js';

/**
 * What a forward pass needs besides its input — the one context of the engine, from a training step down to a layer:
 * training mode (dropout, augmentation) and the values random draws come from, so each draw is a pure function of
 * (seed, epoch, step). Fields may be getters over a context that changes per step (a captured step re-reads them
 * before every replay; see Engine.capture).
 */
export interface ForwardContext {
  training: boolean;
  seed: number;
  step: number;
  /** The training epoch (0-based); absent at inference. */
  epoch?: number;
}

export const INFERENCE: ForwardContext = Object.freeze({ training: false, step: 0, seed: 0 });

/** Where `build` creates parameters and draws their initial values. */
export interface BuildContext {
  engine: Engine;
  rng: Rng;
}

const NAME = /^[A-Za-z][A-Za-z0-9_./-]*$/;

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function shapeText(shape: readonly (number | null)[]): string {
  return `(${shape.map((d) => (d === null ? 'None' : String(d))).join(', ')}${shape.length === 1 ? ',' : ''})`;
}

export abstract class Layer {
  /** The Keras class name, shown by `summary()`. */
  abstract readonly kind: string;
  /** Input and output shapes without the batch dimension, known once built. */
  inputShape: number[] | null = null;
  outputShape: number[] | null = null;
  private readonly own = new Map<string, Tensor>();
  private trainableFlag = true;

  constructor(readonly name: string) {
    if (!NAME.test(name)) throw new Error(`invalid layer name '${name}'`);
  }

  get built(): boolean {
    return this.outputShape !== null;
  }

  /** Output shape (without batch) for an input shape (without batch); throws for an incompatible input. */
  abstract computeOutputShape(inputShape: readonly number[]): number[];

  /** Runs the layer on a batch. */
  abstract forward(x: Tensor, ctx: ForwardContext): Tensor;

  /** Creates this layer's parameters (and its sub-layers') for inputs of `inputShape`; returns the output shape. */
  build(inputShape: readonly number[], ctx: BuildContext): number[] {
    if (this.inputShape) {
      if (!sameShape(this.inputShape, inputShape)) {
        throw new Error(`layer '${this.name}' was built for input ${shapeText(this.inputShape)}, not ${shapeText(inputShape)}`);
      }
      return [...this.outputShape!];
    }
    const out = this.computeOutputShape(inputShape);
    this.createParams(inputShape, ctx);
    this.inputShape = [...inputShape];
    this.outputShape = out;
    return [...out];
  }

  /** Creates parameters with `addParam` (and builds sub-layers); the default has none. */
  protected createParams(_inputShape: readonly number[], _ctx: BuildContext): void {}

  /** Uploads a parameter named `${layer}/${local}`, kept outside every scope and trainable unless the layer is frozen. */
  protected addParam(e: Engine, local: string, shape: readonly number[], data: Float32Array): Tensor {
    const t = e.keep(e.upload(data, shape));
    t.name = `${this.name}/${local}`;
    t.trainable = t.requiresGrad = this.trainableFlag;
    this.own.set(local, t);
    return t;
  }

  /** A parameter of this layer by its local name ('kernel', 'bias'). */
  param(local: string): Tensor {
    const t = this.own.get(local);
    if (!t) throw new Error(`layer '${this.name}' has no parameter '${local}'${this.built ? '' : ' (not built yet)'}`);
    return t;
  }

  /** Direct sub-layers (composite layers and models override this). */
  children(): readonly Layer[] {
    return [];
  }

  /** This layer and every sub-layer, depth-first. */
  *walk(): Generator<Layer> {
    yield this;
    for (const c of this.children()) yield* c.walk();
  }

  /** Every parameter with its full name ('block1_conv1/kernel'), own parameters first, in creation order. */
  namedParams(): [string, Tensor][] {
    const out: [string, Tensor][] = [...this.own.values()].map((t) => [t.name!, t]);
    for (const c of this.children()) out.push(...c.namedParams());
    return out;
  }

  params(): Tensor[] {
    return this.namedParams().map(([, t]) => t);
  }

  trainableParams(): Tensor[] {
    return this.params().filter((t) => t.trainable);
  }

  countParams(): number {
    return this.params().reduce((a, t) => a + t.size, 0);
  }

  get trainable(): boolean {
    return this.trainableFlag;
  }

  /** Freezes (false) or unfreezes (true) this layer and all its sub-layers: sets trainable and requiresGrad of their parameters. */
  set trainable(value: boolean) {
    this.trainableFlag = value;
    for (const t of this.own.values()) t.trainable = t.requiresGrad = value;
    for (const c of this.children()) c.trainable = value;
  }

  /** Frees the parameters (and their gradients) on the GPU. */
  dispose(): void {
    for (const t of this.own.values()) {
      t.grad?.dispose();
      t.grad = null;
      t.dispose();
    }
    this.own.clear();
    for (const c of this.children()) c.dispose();
  }
}
