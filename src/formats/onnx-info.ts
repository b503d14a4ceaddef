// What `webgpu-transfer onnx info` reports about a model, as a pure function: producer, opsets, inputs and outputs
// with shapes, op counts, parameters, the ops the import cannot handle (node name + op type), and the default cut
// tensor (the input of the first Gemm/MatMul, or of a final 1×1-convolution classifier).
import type { OnnxDim, OnnxModel, OnnxOpset } from './onnx.js';
import { importOnnx, type ImportOptions, unsupportedNodes } from './onnx/import.js';
import { OnnxImportError, type StaticGraph, type StaticNode } from './onnx/ops.js';

export interface OnnxCut {
  tensor: string;
  /** Its static shape at the import's input size (batch 1 unless told otherwise). */
  shape: number[];
  /** e.g. "input of Gemm '/fc/Gemm'" */
  reason: string;
}

export interface OnnxInfo {
  producer: string;
  irVersion: number;
  opsets: OnnxOpset[];
  inputs: { name: string; elemType: string; shape?: OnnxDim[] }[];
  outputs: { name: string; elemType: string; shape?: OnnxDim[] }[];
  nodes: number;
  /** op type → how many nodes, most frequent first */
  opCounts: [string, number][];
  /** Elements of the floating-point initializers (the weights), and their count. */
  parameters: number;
  initializers: number;
  unsupported: { name: string; opType: string }[];
  /** Why the model cannot be imported, when it cannot (unsupported ops included). */
  importError?: string;
  /** The imported graph's size, when the import succeeds. */
  imported?: { nodes: number; foldedNodes: number; removedNodes: number; foldedBatchNorms: number; keptBatchNorms: number; outputShapes: number[][] };
  defaultCut?: OnnxCut;
}

const SPATIAL_TAIL = new Set(['Relu', 'LeakyRelu', 'Clip', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'GlobalAveragePool', 'ReduceMean', 'AveragePool', 'MaxPool', 'Flatten', 'Reshape', 'Squeeze', 'Softmax', 'LogSoftmax', 'Mul', 'Add']);

/** The default cut on an imported graph: the first Gemm/MatMul's data input, else a final 1×1 Conv's input. */
export function defaultCut(graph: StaticGraph): OnnxCut | undefined {
  const runtime = (name: string): boolean => !graph.constants.has(name);
  const first = graph.nodes.find((n) => (n.opType === 'Gemm' || n.opType === 'MatMul') && runtime(n.inputs[0]!));
  if (first) return { tensor: first.inputs[0]!, shape: graph.shapes.get(first.inputs[0]!)!, reason: `input of ${first.opType} '${first.name}'` };
  // A final 1×1 convolution: the last Conv, after which only activations, pooling and reshapes lead to an output.
  const convs = graph.nodes.filter((n) => n.opType === 'Conv');
  const last: StaticNode | undefined = convs[convs.length - 1];
  if (!last) return undefined;
  const k = last.attrs['kernel'] as number[];
  if (k[0] !== 1 || k[1] !== 1) return undefined;
  const after = graph.nodes.slice(graph.nodes.indexOf(last) + 1);
  if (after.some((n) => !SPATIAL_TAIL.has(n.opType))) return undefined;
  return { tensor: last.inputs[0]!, shape: graph.shapes.get(last.inputs[0]!)!, reason: `input of the final 1×1 convolution '${last.name}'` };
}

export function onnxInfo(model: OnnxModel, opts: ImportOptions = {}): OnnxInfo {
  const g = model.graph;
  const counts = new Map<string, number>();
  for (const n of g.nodes) {
    const op = n.domain ? `${n.domain}.${n.opType}` : n.opType;
    counts.set(op, (counts.get(op) ?? 0) + 1);
  }
  let parameters = 0;
  for (const t of g.initializers.values()) if (t.dtype === 'float32' || t.dtype === 'float64') parameters += t.data.length;
  const info: OnnxInfo = {
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' ') || '(not given)',
    irVersion: model.irVersion,
    opsets: model.opsets,
    inputs: g.inputs.map((v) => ({ name: v.name, elemType: v.elemType, ...(v.shape ? { shape: v.shape } : {}) })),
    outputs: g.outputs.map((v) => ({ name: v.name, elemType: v.elemType, ...(v.shape ? { shape: v.shape } : {}) })),
    nodes: g.nodes.length,
    opCounts: [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])),
    parameters,
    initializers: g.initializers.size,
    unsupported: unsupportedNodes(model),
  };
  try {
    const graph = importOnnx(model, opts);
    info.imported = { nodes: graph.nodes.length, ...graph.stats, outputShapes: graph.outputs.map((o) => o.shape) };
    const cut = defaultCut(graph);
    if (cut) info.defaultCut = cut;
  } catch (e) {
    info.importError = (e as Error).message;
    if (e instanceof OnnxImportError && e.unsupported.length && !info.unsupported.length) info.unsupported = e.unsupported;
  }
  return info;
}

const dimsText = (s?: OnnxDim[]): string => (s ? `[${s.map((d) => (d === null ? '?' : String(d))).join(', ')}]` : '(shape not given)');

/** The report as text lines (what the CLI prints). */
export function formatOnnxInfo(info: OnnxInfo): string[] {
  const lines: string[] = [];
  lines.push(`producer:     ${info.producer} (IR version ${info.irVersion})`);
  lines.push(`opsets:       ${info.opsets.map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ') || '(none)'}`);
  for (const i of info.inputs) lines.push(`input:        ${i.name} ${i.elemType} ${dimsText(i.shape)}`);
  for (const o of info.outputs) lines.push(`output:       ${o.name} ${o.elemType} ${dimsText(o.shape)}`);
  lines.push(`nodes:        ${info.nodes} (${info.opCounts.map(([op, n]) => `${op} ${n}`).join(', ')})`);
  lines.push(`parameters:   ${info.parameters.toLocaleString('en-US')} in ${info.initializers} initializers`);
  if (info.imported) {
    const s = info.imported;
    lines.push(
      `imported:     ${s.nodes} nodes (${s.foldedNodes} folded, ${s.removedNodes} removed, ${s.foldedBatchNorms} BatchNorms folded into convolutions, ${s.keptBatchNorms} kept); output ${s.outputShapes.map((x) => `[${x.join(', ')}]`).join(', ')}`,
    );
  }
  if (info.unsupported.length) {
    lines.push(`unsupported:  ${info.unsupported.length} node${info.unsupported.length > 1 ? 's' : ''}`);
    for (const u of info.unsupported) lines.push(`  ${u.opType.padEnd(20)} ${u.name}`);
  } else lines.push('unsupported:  none');
  if (info.importError) lines.push(`import:       fails: ${info.importError}`);
  lines.push(`default cut:  ${info.defaultCut ? `${info.defaultCut.tensor} [${info.defaultCut.shape.join(', ')}] (${info.defaultCut.reason})` : '(none found; choose one with --cut)'}`);
  return lines;
}

const attrText = (v: number | number[] | string): string => (Array.isArray(v) ? `[${v.join(',')}]` : String(v));

/** The imported graph, one line per node: op, name, attributes, inputs → outputs with their static shapes. */
export function formatStaticGraph(graph: StaticGraph): string[] {
  const shape = (t: string): string => `${t} [${(graph.shapes.get(t) ?? []).join(', ')}]${graph.constants.has(t) ? ' (const)' : ''}`;
  const lines = graph.inputs.map((i) => `input   ${i.name} [${i.shape.join(', ')}]`);
  for (const n of graph.nodes) {
    const attrs = Object.entries(n.attrs).map(([k, v]) => `${k}=${attrText(v)}`).join(' ');
    lines.push(`${n.opType.padEnd(18)} ${n.name}${attrs ? `  ${attrs}` : ''}${n.nchwOrder ? '  (NCHW order)' : ''}`);
    lines.push(`    ${n.inputs.map(shape).join(', ')} → ${n.outputs.map(shape).join(', ')}`);
  }
  for (const o of graph.outputs) lines.push(`output  ${o.name}${o.tensor !== o.name ? ` (= ${o.tensor})` : ''} [${o.shape.join(', ')}]`);
  return lines;
}
