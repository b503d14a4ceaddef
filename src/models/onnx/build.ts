/**
 * An ONNX file → a Graph model on this engine: parse (src/formats/onnx.ts), import passes (src/formats/onnx/: folding,
 * static shapes, BatchNorm folding, NCHW marks), then one graph node per remaining node (convert.ts), with Conv/Gemm +
 * Relu fused where the Conv's output has no other reader.
 */
import type { Engine } from '../../engine/engine.js';
import type { OnnxModel } from '../../formats/onnx.js';
import { importOnnx, type ImportOptions } from '../../formats/onnx/import.js';
import { OnnxImportError, type StaticGraph, type StaticNode } from '../../formats/onnx/ops.js';
import { Graph, nodesFor } from '../../nn/graph.js';
import { ConvertContext, convertNode } from './convert.js';
import { physicalShape } from './layout.js';

export interface OnnxGraphOptions extends ImportOptions {
  /** The tensors the graph must be able to return (default: the model's first output). */
  outputs?: readonly string[];
  /** Name of the graph layer (default 'onnx'). */
  name?: string;
}

export interface OnnxGraph {
  graph: Graph;
  imported: StaticGraph;
  /** ONNX tensor names the outputs were asked by → the tensors that carry them (after removed Identity/Dropout). */
  resolve(tensor: string): string;
}

/** Conv and Gemm nodes whose output is read only by a Relu (and is not asked for): the Relu runs in their epilogue. */
function reluFusions(g: StaticGraph, keep: ReadonlySet<string>): { fused: Set<string>; nodes: StaticNode[]; renamed: Map<string, string> } {
  const readers = new Map<string, StaticNode[]>();
  for (const n of g.nodes) for (const i of n.inputs) readers.set(i, [...(readers.get(i) ?? []), n]);
  const fused = new Set<string>();
  const drop = new Set<StaticNode>();
  const rename = new Map<StaticNode, string>();
  for (const n of g.nodes) {
    if (n.opType !== 'Conv' && n.opType !== 'Gemm' && n.opType !== 'MatMul') continue;
    const out = n.outputs[0]!;
    const rs = readers.get(out) ?? [];
    if (rs.length !== 1 || rs[0]!.opType !== 'Relu' || keep.has(out) || g.outputs.some((o) => o.tensor === out)) continue;
    if (n.opType === 'MatMul' && !g.constants.has(n.inputs[1]!)) continue;
    fused.add(n.name);
    drop.add(rs[0]!);
    rename.set(n, rs[0]!.outputs[0]!);
  }
  const nodes = g.nodes.filter((n) => !drop.has(n)).map((n) => (rename.has(n) ? { ...n, outputs: [rename.get(n)!] } : n));
  const renamed = new Map([...rename].map(([n, to]) => [n.outputs[0]!, to]));
  return { fused, nodes, renamed };
}

export function onnxGraph(engine: Engine, model: OnnxModel, opts: OnnxGraphOptions = {}): OnnxGraph {
  const imported = importOnnx(model, opts);
  const notFloat = imported.inputs.filter((i) => i.elemType !== 'float');
  if (notFloat.length) {
    throw new OnnxImportError(`input ${notFloat.map((i) => `'${i.name}' is ${i.elemType}`).join(', ')}: this engine computes in float32 (its inputs must be float tensors)`);
  }
  if (imported.inputs.length === 0) throw new OnnxImportError('the model has no runtime input (every input is a constant): nothing to run');
  const resolve = (t: string): string => {
    let name = t;
    for (let k = 0; imported.aliases.has(name) && k < 1000; k++) name = imported.aliases.get(name)!;
    if (!imported.shapes.has(name)) throw new OnnxImportError(`the model has no tensor '${t}'`);
    return name;
  };
  const outputs = (opts.outputs ?? [imported.outputs[0]!.tensor]).map(resolve);
  const keep = new Set(outputs);
  const { fused, nodes: all, renamed } = reluFusions(imported, keep);
  // A fused Conv's own output is its Relu's: both names lead to the tensor the graph holds.
  const resolveFused = (t: string): string => {
    const r = resolve(t);
    return renamed.get(r) ?? r;
  };
  // Only what the outputs need is converted (a base cut before the classifier holds none of its weights).
  const nodes = nodesFor(all, outputs);
  const uniqueNames = nodes.map((n, i) => ({ ...n, name: n.name || `${n.opType}_${i}` }));
  const c = new ConvertContext(engine, imported, fused);
  const inputs = imported.inputs.map((i) => ({ name: i.name, shape: physicalShape(i.shape).slice(1) }));
  const gnodes: ReturnType<typeof convertNode>[] = [];
  try {
    for (const n of uniqueNames) gnodes.push(convertNode(n, c));
    for (const [key, t] of c.constants) t.name ??= key;
    const output = outputs.find((o) => !imported.constants.has(o));
    if (!output) throw new OnnxImportError(`every requested output (${outputs.join(', ')}) is a constant of the model: nothing to run`);
    const graph = new Graph(opts.name ?? 'onnx', { inputs, output, nodes: gnodes, constants: c.constants });
    return { graph, imported, resolve: resolveFused };
  } catch (err) {
    for (const n of gnodes) n.layer?.dispose();
    for (const t of c.constants.values()) t.dispose();
    throw err;
  }
}
