/**
 * A graph model: a DAG of named nodes over named tensors, beside Sequential (an imported ONNX network is one). It is
 * a layer, so it nests in a Sequential as a classifier's base; the nodes that own parameters are its sub-layers, so
 * freezing, fine-tuning by layer name, checkpoints and weight files work as for any other layer.
 */
import type { Engine } from '../engine/engine.js';
import type { Tensor } from '../engine/tensor.js';
import { Layer, shapeText, type ForwardContext } from './layer.js';

/** One node: reads tensors by name, writes its outputs' names; `layer` owns its parameters (if it has any). */
export interface GraphNode {
  name: string;
  /** Op type, for summaries and Grad-CAM's choice of layers ('Conv' marks a convolution). */
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  /** Physical (engine) shapes of the outputs, without the batch dimension. */
  outputShapes: readonly (readonly number[])[];
  layer?: Layer;
  run(inputs: Tensor[], ctx: ForwardContext): Tensor[];
}

/** A layer that only holds parameters (the node's `run` uses them), named like a Keras layer: `${name}/${local}`. */
export class ParamLayer extends Layer {
  constructor(
    name: string,
    readonly kind: string,
  ) {
    super(name);
  }

  computeOutputShape(input: readonly number[]): number[] {
    return [...input];
  }

  forward(x: Tensor): Tensor {
    return x;
  }

  /** Adds a parameter from host data (trainable unless the layer is frozen). */
  load(e: Engine, local: string, shape: readonly number[], data: Float32Array): Tensor {
    return this.addParam(e, local, shape, data);
  }
}

export interface GraphSpec {
  /** The tensors the graph's inputs are bound to, with physical shapes without the batch dimension; `forward` binds the first. */
  inputs: readonly { name: string; shape: readonly number[] }[];
  /** The tensor `forward` returns. */
  output: string;
  /** In topological order. */
  nodes: readonly GraphNode[];
  /** Tensors fixed at build time (not parameters): never freed by a forward pass. */
  constants?: ReadonlyMap<string, Tensor>;
}

/** Hooks into a forward pass: `at` replaces a tensor's value as soon as it is produced (Grad-CAM's leaf). */
export interface GraphHooks {
  at?: { tensor: string; fn: (t: Tensor) => Tensor };
}

export class Graph extends Layer {
  readonly kind = 'Graph';
  readonly nodes: readonly GraphNode[];
  readonly inputs: readonly { name: string; shape: readonly number[] }[];
  readonly output: string;
  private readonly constants: ReadonlyMap<string, Tensor>;
  private readonly constantTensors: ReadonlySet<Tensor>;
  private readonly shapes = new Map<string, readonly number[]>();
  /** Per set of outputs: the nodes they need and how many of those read each tensor (computed once). */
  private readonly plans = new Map<string, { nodes: GraphNode[]; readers: ReadonlyMap<string, number> }>();

  constructor(name: string, spec: GraphSpec) {
    super(name);
    if (spec.inputs.length === 0) throw new Error(`graph '${name}' has no input`);
    this.inputs = spec.inputs.map((i) => ({ name: i.name, shape: [...i.shape] }));
    this.nodes = [...spec.nodes];
    this.constants = spec.constants ?? new Map();
    this.constantTensors = new Set(this.constants.values());
    for (const i of this.inputs) this.shapes.set(i.name, i.shape);
    for (const n of this.nodes) {
      for (const i of n.inputs) {
        if (!this.shapes.has(i) && !this.constants.has(i)) throw new Error(`graph '${name}': node '${n.name}' reads '${i}' before anything writes it`);
      }
      n.outputs.forEach((o, k) => {
        if (this.shapes.has(o)) throw new Error(`graph '${name}': tensor '${o}' is written twice`);
        this.shapes.set(o, n.outputShapes[k]!);
      });
    }
    this.output = spec.output;
    this.tensorShape(spec.output);
    this.inputShape = [...this.inputs[0]!.shape];
    this.outputShape = [...this.tensorShape(spec.output)];
  }

  override children(): readonly Layer[] {
    return this.nodes.flatMap((n) => (n.layer ? [n.layer] : []));
  }

  /** The physical shape (without batch) of a tensor of the graph. */
  tensorShape(tensor: string): readonly number[] {
    const s = this.shapes.get(tensor);
    if (!s) throw new Error(`graph '${this.name}' has no tensor '${tensor}'`);
    return s;
  }

  computeOutputShape(input: readonly number[]): number[] {
    const want = this.inputShape!;
    if (input.length !== want.length || input.some((d, i) => d !== want[i])) {
      throw new Error(`graph '${this.name}' was imported for input ${shapeText(want)}, not ${shapeText(input)}`);
    }
    return [...this.outputShape!];
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    return this.run(new Map([[this.inputs[0]!.name, x]]), ctx, [this.output])[0]!;
  }

  /**
   * Runs the nodes `outputs` depend on, in order; every intermediate is freed once its last reader has run (what a
   * backward pass reads, the tape holds itself). The inputs and the constants are never freed.
   */
  run(inputs: ReadonlyMap<string, Tensor>, ctx: ForwardContext, outputs: readonly string[], hooks: GraphHooks = {}): Tensor[] {
    for (const i of this.inputs) if (!inputs.has(i.name)) throw new Error(`graph '${this.name}': no value for input '${i.name}'`);
    const plan = this.plan(outputs);
    const readers = new Map(plan.readers);
    const values = new Map<string, Tensor>(inputs);
    const given = new Set(inputs.values());
    /** The intermediates this pass made, with how many tensor names still hold each (a view may pass one on). */
    const owned = new Map<Tensor, number>();
    const release = (name: string): void => {
      const left = readers.get(name)! - 1;
      readers.set(name, left);
      const t = values.get(name);
      if (left > 0 || outputs.includes(name) || !t || !owned.has(t)) return;
      values.delete(name);
      const holders = owned.get(t)! - 1;
      if (holders > 0) owned.set(t, holders);
      else {
        owned.delete(t);
        t.dispose();
      }
    };
    try {
      for (const n of plan.nodes) {
        const ins = n.inputs.map((i) => values.get(i) ?? this.constants.get(i)!);
        const outs = n.run(ins, ctx);
        n.outputs.forEach((o, k) => {
          let t = outs[k]!;
          const hooked = hooks.at?.tensor === o;
          if (hooked) t = hooks.at!.fn(t);
          values.set(o, t);
          // A hooked tensor belongs to the hook from now on (Grad-CAM reads its leaf after the pass).
          if (!hooked && !given.has(t) && !this.constantTensors.has(t)) owned.set(t, (owned.get(t) ?? 0) + 1);
        });
        for (const i of n.inputs) release(i);
      }
      const ys = outputs.map((o) => values.get(o) ?? this.constants.get(o));
      ys.forEach((y, k) => {
        if (!y) throw new Error(`graph '${this.name}': nothing wrote '${outputs[k]}'`);
        owned.delete(y);
      });
      return ys as Tensor[];
    } finally {
      for (const t of owned.keys()) if (!t.disposed) t.dispose();
    }
  }

  private plan(outputs: readonly string[]): { nodes: GraphNode[]; readers: ReadonlyMap<string, number> } {
    const key = outputs.join('\u0000');
    let plan = this.plans.get(key);
    if (!plan) {
      for (const o of outputs) this.tensorShape(o);
      const nodes = nodesFor(this.nodes, outputs);
      const readers = new Map<string, number>();
      for (const n of nodes) for (const i of n.inputs) readers.set(i, (readers.get(i) ?? 0) + 1);
      this.plans.set(key, (plan = { nodes, readers }));
    }
    return plan;
  }

  /** The layers of the graph's convolutions, in execution order. */
  convLayers(): Layer[] {
    return this.nodes.flatMap((n) => (n.op === 'Conv' && n.layer ? [n.layer] : []));
  }

  override dispose(): void {
    super.dispose();
    for (const t of this.constants.values()) t.dispose();
  }
}

/** The nodes (in topological order) that `outputs` depend on, in that order. */
export function nodesFor<N extends { inputs: readonly string[]; outputs: readonly string[] }>(nodes: readonly N[], outputs: readonly string[]): N[] {
  const need = new Set<string>(outputs);
  const out: N[] = [];
  for (let k = nodes.length - 1; k >= 0; k--) {
    const n = nodes[k]!;
    if (!n.outputs.some((o) => need.has(o))) continue;
    out.push(n);
    for (const i of n.inputs) need.add(i);
  }
  return out.reverse();
}
