/** A stack of layers run in order (Keras Sequential); a Sequential is itself a layer, so a base nests inside a model. */
import type { Tensor } from '../engine/tensor.js';
import { checkAgainst } from '../formats/tensor.js';
import { WeightFormatError, type NamedArrays } from '../formats/types.js';
import { Layer, shapeText, type BuildContext, type ForwardContext } from './layer.js';

export interface SetWeightsOptions {
  /** Names in the set that no parameter has are ignored instead of refused. */
  allowUnexpected?: boolean;
  /** Shown in error messages (the file the weights came from). */
  source?: string;
}

export class Sequential extends Layer {
  readonly kind: string;
  readonly layers: readonly Layer[];

  constructor(name: string, layers: Layer[], opts: { kind?: string } = {}) {
    super(name);
    this.kind = opts.kind ?? 'Sequential';
    this.layers = [...layers];
    const seen = new Set<string>();
    for (const l of this.walk()) {
      if (seen.has(l.name)) throw new Error(`model '${name}': two layers are named '${l.name}'`);
      seen.add(l.name);
    }
  }

  override children(): readonly Layer[] {
    return this.layers;
  }

  computeOutputShape(input: readonly number[]): number[] {
    let s = [...input];
    for (const l of this.layers) s = l.computeOutputShape(s);
    return s;
  }

  protected override createParams(input: readonly number[], ctx: BuildContext): void {
    let s = [...input];
    for (const l of this.layers) s = l.build(s, ctx);
  }

  /**
   * Runs every layer in order. Each intermediate result is freed as soon as the next layer has consumed it (what a
   * backward pass will read, the autograd tape holds itself); the input `x` is never freed, nor a result a layer
   * passed through unchanged.
   */
  forward(x: Tensor, ctx: ForwardContext): Tensor {
    let h = x;
    for (const l of this.layers) {
      const next = l.forward(h, ctx);
      if (h !== x && next !== h) h.dispose();
      h = next;
    }
    return h;
  }

  /** The output of the layers up to and including `last` (e.g. a feature layer inside a classifier). */
  forwardUntil(x: Tensor, last: string, ctx: ForwardContext): Tensor {
    const k = this.layers.findIndex((l) => l.name === last);
    if (k < 0) throw new Error(`model '${this.name}' has no top-level layer '${last}'; layers: ${this.layers.map((l) => l.name).join(', ')}`);
    let h = x;
    for (const l of this.layers.slice(0, k + 1)) {
      const next = l.forward(h, ctx);
      if (h !== x && next !== h) h.dispose();
      h = next;
    }
    return h;
  }

  /** A layer anywhere inside the model, by name. */
  layer(name: string): Layer {
    for (const l of this.walk()) if (l.name === name) return l;
    throw new Error(`model '${this.name}' has no layer '${name}'; layers: ${this.layers.map((l) => l.name).join(', ')}`);
  }

  /** Freezes the named layers (all layers when no names are given). */
  freeze(names?: readonly string[]): void {
    this.setTrainable(names, false);
  }

  /** Unfreezes the named layers (all layers when no names are given). */
  unfreeze(names?: readonly string[]): void {
    this.setTrainable(names, true);
  }

  /** Makes exactly the named layers trainable and freezes every other one (Keras fine-tuning of a top block). */
  trainOnly(names: readonly string[]): void {
    const targets = names.map((n) => this.layer(n));
    this.trainable = false;
    for (const l of targets) l.trainable = true;
  }

  private setTrainable(names: readonly string[] | undefined, value: boolean): void {
    if (!names) {
      this.trainable = value;
      return;
    }
    const targets = names.map((n) => this.layer(n)); // resolve all first: an unknown name changes nothing
    for (const l of targets) l.trainable = value;
  }

  /** Names and shapes of every parameter, in order. */
  weightShapes(): Map<string, number[]> {
    return new Map(this.namedParams().map(([n, t]) => [n, [...t.shape]]));
  }

  /** Reads every parameter back to the host. */
  async getWeights(): Promise<NamedArrays> {
    const out: NamedArrays = new Map();
    for (const [name, t] of this.namedParams()) out.set(name, { shape: [...t.shape], data: await t.readF32() });
    return out;
  }

  /**
   * Uploads named host arrays into the parameters. Every parameter must be present with its exact shape; one error
   * lists every missing or mismatched tensor by name, with expected and found shapes, before anything is written.
   */
  setWeights(weights: NamedArrays, opts: SetWeightsOptions = {}): void {
    if (!this.built) throw new Error(`model '${this.name}' must be built before its weights are set`);
    const params = this.namedParams();
    checkAgainst(this.weightShapes(), weights, opts.source, { allowUnexpected: opts.allowUnexpected ?? false });
    for (const [name] of params) {
      const t = weights.get(name)!;
      if (!(t.data instanceof Float32Array)) {
        throw new WeightFormatError(`tensor '${name}' holds ${t.data.constructor.name} values, expected float32`, opts.source, name);
      }
    }
    for (const [name, p] of params) p.engine.write(p, weights.get(name)!.data as Float32Array);
  }

  /** A Keras-style table: each top-level layer, its output shape and parameter count, then the totals. */
  summary(lineLength = 65): string {
    if (!this.built) throw new Error(`model '${this.name}' must be built before summary()`);
    const cols = [Math.floor(lineLength * 0.45), Math.floor(lineLength * 0.85)];
    const row = (a: string, b: string, c: string): string => {
      let s = ` ${a}`;
      s = `${s.padEnd(cols[0]!)}${s.length >= cols[0]! ? ' ' : ''}${b}`;
      s = `${s.padEnd(cols[1]!)}${s.length >= cols[1]! ? ' ' : ''}${c}`;
      return s;
    };
    const lines = [`Model: "${this.name}"`, '_'.repeat(lineLength), row('Layer (type)', 'Output Shape', 'Param #'), '='.repeat(lineLength)];
    this.layers.forEach((l, i) => {
      lines.push(row(`${l.name} (${l.kind})`, shapeText([null, ...l.outputShape!]), String(l.countParams())));
      if (i < this.layers.length - 1) lines.push('');
    });
    const total = this.countParams();
    const trainable = this.trainableParams().reduce((a, t) => a + t.size, 0);
    const fmt = (n: number): string => n.toLocaleString('en-US');
    lines.push('='.repeat(lineLength), `Total params: ${fmt(total)}`, `Trainable params: ${fmt(trainable)}`, `Non-trainable params: ${fmt(total - trainable)}`, '_'.repeat(lineLength));
    return lines.join('\n');
  }
}
