// The import pipeline: an OnnxModel → a StaticGraph of the supported ops with a static shape on every tensor.
//   1. refuse what cannot be imported (opset, foreign domains, unknown ops: all of them named at once)
//   2. static input shapes (symbolic batch → `batch`, symbolic spatial dims → `inputSize`)
//   3. one topological walk: Constant → constants; Identity/Dropout → aliases (simplify.ts); shape arithmetic on
//      known values → constants (fold.ts); every other node → canonical form and output shapes (shape.ts)
//   4. BatchNormalization folded into the Conv before it (batchnorm.ts)
//   5. nodes and constants nothing reads removed; Flatten/Reshape of spatial maps marked (layout.ts)
import { constantNodeValue, type OnnxModel, type OnnxNode, type OnnxTensor } from '../onnx.js';
import { foldBatchNorms } from './batchnorm.js';
import { foldNode } from './fold.js';
import { markNchwOrder } from './layout.js';
import {
  FOLDABLE_OPS, MAX_OPSET, MIN_OPSET, OnnxImportError, REMOVED_OPS, type StaticGraph, type StaticNode, SUPPORTED_OP_SET,
  type SupportedOp,
} from './ops.js';
import { canonicalize, type ShapeContext } from './shape.js';
import { passThrough } from './simplify.js';

export interface ImportOptions {
  /**
   * The batch size: the first dimension when it is symbolic, and — given — that of rank-4 (image) inputs even when
   * the file fixes it (an export without a dynamic batch; a Reshape that hard-codes the batch then fails clearly).
   * Default 1 for symbolic batches, else the file's.
   */
  batch?: number;
  /**
   * Height and width of rank-4 inputs. Given, it replaces the file's spatial dims, static ones too (exporters fix the
   * dummy input's size; a convolutional network runs at others, and a size its Reshapes cannot take is an error).
   * Not given: the file's static size, else 224.
   */
  inputSize?: number | [number, number];
  /** Full static shapes for inputs, overriding the file's (static dims must agree). */
  inputShapes?: Record<string, number[]>;
  /** Graph inputs whose values are known at import time (e.g. a conformance test's Reshape shape input). */
  constantInputs?: Map<string, OnnxTensor>;
  /** Fold BatchNormalization into the preceding Conv where possible. Default true. */
  foldBatchNorm?: boolean;
}

/** Input slots that carry parameters (shapes, axes, bounds…), which the import needs as constants. */
export const PARAMETER_SLOTS: Readonly<Record<string, readonly number[]>> = {
  Reshape: [1], Squeeze: [1], Unsqueeze: [1], Slice: [1, 2, 3, 4], Split: [1], Pad: [1, 2, 3], Clip: [1, 2],
  ReduceMean: [1], Dropout: [1, 2], Expand: [1], ConstantOfShape: [0], Range: [0, 1, 2], Tile: [1],
};

/** Graph inputs that feed a parameter slot: bind them with `constantInputs` to import the graph. */
export function parameterInputs(model: OnnxModel): string[] {
  const inputs = new Set(model.graph.inputs.map((i) => i.name));
  const out = new Set<string>();
  for (const n of model.graph.nodes) for (const i of PARAMETER_SLOTS[n.opType] ?? []) if (inputs.has(n.inputs[i] ?? '')) out.add(n.inputs[i]!);
  return [...out];
}

/** Nodes whose op the import cannot handle at all (foreign domain, not supported, not foldable). */
export function unsupportedNodes(model: OnnxModel): { name: string; opType: string }[] {
  return model.graph.nodes
    .filter((n) => n.domain !== '' || !(SUPPORTED_OP_SET.has(n.opType) || FOLDABLE_OPS.has(n.opType) || REMOVED_OPS.has(n.opType)))
    .map((n) => ({ name: n.name, opType: n.domain ? `${n.domain}.${n.opType}` : n.opType }));
}

function listNodes(nodes: { name: string; opType: string }[]): string {
  const shown = nodes.slice(0, 12).map((n) => `'${n.name}' (${n.opType})`).join(', ');
  return nodes.length > 12 ? `${shown} and ${nodes.length - 12} more` : shown;
}

export function checkOpset(model: OnnxModel): void {
  if (model.opset < MIN_OPSET || model.opset > MAX_OPSET)
    throw new OnnxImportError(
      model.opset === 0
        ? 'the model imports no default-domain (ai.onnx) opset'
        : `opset ${model.opset} is outside the supported ${MIN_OPSET}–${MAX_OPSET} (re-export with opset 13, e.g. torch.onnx.export(..., opset_version=13))`,
    );
}

/** ONNX requires topological order; files that break it are sorted (stable), cycles and dangling inputs refused. */
function topological(model: OnnxModel, available: Set<string>): OnnxNode[] {
  const nodes = model.graph.nodes;
  // The usual case: the file's order is already topological (checked without recursion).
  const seen = new Set(available);
  if (nodes.every((n) => n.inputs.every((i) => i === '' || seen.has(i)) && (n.outputs.forEach((o) => seen.add(o)), true))) return nodes;
  const producedBy = new Map<string, number>();
  nodes.forEach((n, i) => n.outputs.forEach((o) => o && producedBy.set(o, i)));
  const order: OnnxNode[] = [];
  const state = new Uint8Array(nodes.length);
  const visit = (i: number): void => {
    if (state[i] === 2) return;
    if (state[i] === 1) throw new OnnxImportError(`the graph has a cycle through node '${nodes[i]!.name}'`);
    state[i] = 1;
    for (const inp of nodes[i]!.inputs) {
      if (inp === '' || available.has(inp)) continue;
      const p = producedBy.get(inp);
      if (p === undefined) throw new OnnxImportError(`node '${nodes[i]!.name}' (${nodes[i]!.opType}) reads '${inp}', which no node, input or initializer provides`);
      visit(p);
    }
    state[i] = 2;
    order.push(nodes[i]!);
  };
  nodes.forEach((_, i) => visit(i));
  return order;
}

function staticInputShape(name: string, dims: (number | string | null)[] | undefined, opts: ImportOptions): number[] {
  const given = opts.inputShapes?.[name];
  if (!dims && !given) throw new OnnxImportError(`input '${name}' has no shape in the file; give one (inputShapes)`);
  if (given) {
    if (dims && (dims.length !== given.length || dims.some((d, i) => typeof d === 'number' && d !== given[i])))
      throw new OnnxImportError(`input '${name}': the given shape ${JSON.stringify(given)} contradicts the file's ${JSON.stringify(dims)}`);
    return [...given];
  }
  const size = opts.inputSize ?? 224;
  const [h, w] = typeof size === 'number' ? [size, size] : size;
  return dims!.map((d, i) => {
    if (opts.inputSize !== undefined && dims!.length === 4 && (i === 2 || i === 3)) return i === 2 ? h : w;
    if (opts.batch !== undefined && dims!.length === 4 && i === 0) return opts.batch;
    if (typeof d === 'number') return d;
    if (i === 0) return opts.batch ?? 1;
    if (dims!.length === 4 && i === 2) return h;
    if (dims!.length === 4 && i === 3) return w;
    throw new OnnxImportError(`input '${name}': dimension #${i} is symbolic (${d ?? 'unnamed'}); give the input's shape (inputShapes)`);
  });
}

/** The model → a static graph of the supported ops (throws OnnxImportError naming the node otherwise). */
export function importOnnx(model: OnnxModel, opts: ImportOptions = {}): StaticGraph {
  checkOpset(model);
  const bad = unsupportedNodes(model);
  if (bad.length) throw new OnnxImportError(`unsupported op${bad.length > 1 ? 's' : ''}: ${listNodes(bad)}`, bad);
  const g = model.graph;
  const sparse = new Set(g.sparseInitializers);
  const readsSparse = g.nodes.filter((n) => n.inputs.some((i) => sparse.has(i)));
  if (readsSparse.length)
    throw new OnnxImportError(
      `sparse initializers are not supported: ${listNodes(readsSparse)} read${readsSparse.length > 1 ? '' : 's'} ${[...new Set(readsSparse.flatMap((n) => n.inputs.filter((i) => sparse.has(i))))].map((i) => `'${i}'`).join(', ')}`,
      readsSparse.map((n) => ({ name: n.name, opType: n.opType })),
    );
  const consts = new Map<string, OnnxTensor>(g.initializers);
  const shapes = new Map<string, number[]>();
  const aliases = new Map<string, string>();
  const resolve = (n: string): string => {
    let x = n;
    for (let k = 0; aliases.has(x) && k < 1e6; k++) x = aliases.get(x)!;
    return x;
  };
  const runtimeInputs: StaticGraph['inputs'] = [];
  for (const vi of g.inputs) {
    const bound = opts.constantInputs?.get(vi.name);
    if (bound) {
      consts.set(vi.name, { ...bound, name: vi.name });
      continue;
    }
    if (vi.elemType !== 'float' && vi.elemType !== 'double' && vi.elemType !== 'float16')
      throw new OnnxImportError(`input '${vi.name}' is of type ${vi.elemType}; runtime inputs must be floating point (bind it with constantInputs if it is a parameter)`);
    const shape = staticInputShape(vi.name, vi.shape, opts);
    shapes.set(vi.name, shape);
    runtimeInputs.push({ name: vi.name, shape, elemType: vi.elemType });
  }
  for (const [name, t] of consts) shapes.set(name, t.dims);

  const ctx: ShapeContext & { known(name: string): boolean } = {
    opset: model.opset,
    shape: (n) => shapes.get(resolve(n)) ?? (() => { throw new OnnxImportError(`the shape of '${n}' is unknown`); })(),
    constant: (n) => consts.get(resolve(n)),
    known: (n) => shapes.has(resolve(n)),
  };
  const nodes: StaticNode[] = [];
  const stats = { foldedNodes: 0, removedNodes: 0, foldedBatchNorms: 0, keptBatchNorms: 0 };
  const available = new Set<string>([...consts.keys(), ...g.inputs.map((i) => i.name)]);
  const runtimeFoldables: { name: string; opType: string }[] = [];
  for (const raw of topological(model, available)) {
    const node: OnnxNode = { ...raw, inputs: raw.inputs.map((i) => (i === '' ? '' : resolve(i))) };
    if (node.opType === 'Constant') {
      const v = constantNodeValue(node);
      consts.set(node.outputs[0]!, v);
      shapes.set(node.outputs[0]!, v.dims);
      stats.removedNodes++;
      continue;
    }
    const pass = passThrough(node, ctx);
    if (pass) {
      for (const [o, i] of pass.aliases) aliases.set(o, i);
      for (const c of pass.constants) {
        consts.set(c.name, c);
        shapes.set(c.name, c.dims);
      }
      stats.removedNodes++;
      continue;
    }
    if (FOLDABLE_OPS.has(node.opType)) {
      const folded = foldNode(node, ctx);
      if (folded) {
        folded.forEach((t, k) => {
          consts.set(node.outputs[k]!, t);
          shapes.set(node.outputs[k]!, t.dims);
        });
        stats.foldedNodes++;
        continue;
      }
      if (!SUPPORTED_OP_SET.has(node.opType)) {
        runtimeFoldables.push({ name: node.name, opType: node.opType });
        throw new OnnxImportError(
          `node '${node.name}' (${node.opType}) computes on the network's input data; ${node.opType} is only supported where the import can compute it (shape arithmetic on the static input size)`,
          runtimeFoldables,
        );
      }
    }
    const c = canonicalize(node, ctx);
    if (c.outShapes.length !== node.outputs.length) throw new OnnxImportError(`node '${node.name}' (${node.opType}): ${node.outputs.length} outputs, expected ${c.outShapes.length}`);
    node.outputs.forEach((o, k) => shapes.set(o, c.outShapes[k]!));
    nodes.push({ name: node.name, opType: node.opType as SupportedOp, inputs: c.inputs, outputs: [...node.outputs], attrs: c.attrs });
  }

  const outputs: StaticGraph['outputs'] = g.outputs.map((o) => {
    const tensor = resolve(o.name);
    const shape = shapes.get(tensor);
    if (!shape) throw new OnnxImportError(`graph output '${o.name}' is produced by nothing`);
    return { name: o.name, tensor, shape };
  });
  const state = { nodes, constants: consts, shapes, graphOutputs: new Set(outputs.map((o) => o.tensor)) };
  if (opts.foldBatchNorm ?? true) {
    const r = foldBatchNorms(state);
    stats.foldedBatchNorms = r.folded;
    stats.keptBatchNorms = r.kept;
  } else stats.keptBatchNorms = nodes.filter((n) => n.opType === 'BatchNormalization').length;

  // Dead code: walk back from the outputs.
  const needed = new Set(state.graphOutputs);
  const live: StaticNode[] = [];
  for (let i = state.nodes.length - 1; i >= 0; i--) {
    const n = state.nodes[i]!;
    if (!n.outputs.some((o) => needed.has(o))) continue;
    live.push(n);
    for (const inp of n.inputs) needed.add(inp);
  }
  live.reverse();
  stats.removedNodes += state.nodes.length - live.length;
  const constants = new Map<string, OnnxTensor>();
  for (const name of needed) {
    const t = consts.get(name);
    if (t) constants.set(name, t.name === name ? t : { ...t, name });
  }
  const usedShapes = new Map<string, number[]>();
  for (const i of runtimeInputs) usedShapes.set(i.name, i.shape);
  for (const name of constants.keys()) usedShapes.set(name, shapes.get(name)!);
  for (const n of live) for (const o of n.outputs) if (o !== '') usedShapes.set(o, shapes.get(o)!);
  markNchwOrder(live, usedShapes);
  for (const [k, v] of [...aliases]) aliases.set(k, resolve(v));
  return { opset: model.opset, inputs: runtimeInputs, outputs, nodes: live, constants, shapes: usedShapes, aliases, stats };
}
