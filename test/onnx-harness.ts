// Shared by the ONNX tests: running a conformance test folder and a whole network through parse → import → the
// float64 reference executor. Reads ../shared/onnx by path (nothing is copied into the repository).
import protobuf from 'protobufjs/light.js';
import { ONNX_SCHEMA } from '../src/formats/onnx-schema.js';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseOnnx, parseOnnxTensor, tensorNumbers, type OnnxModel, type OnnxTensor } from '../src/formats/onnx.js';
import { importOnnx, parameterInputs, type ImportOptions } from '../src/formats/onnx/index.js';
import { refFromOnnx, runReference } from '../src/reference/onnx-graph.js';

export const SHARED_ONNX = join(import.meta.dirname, '..', '..', 'shared', 'onnx');
export const NODE_TESTS = join(SHARED_ONNX, 'node');

export interface ConformanceResult {
  ok: boolean;
  message: string;
}

/** ONNX's backend runner: |actual − expected| ≤ atol + rtol·|expected| elementwise, NaN never equal, shapes equal. */
export function compareOutputs(name: string, dims: number[], actual: ArrayLike<number>, expected: OnnxTensor, rtol = 1e-3, atol = 1e-7): string | undefined {
  if (dims.length !== expected.dims.length || dims.some((d, i) => d !== expected.dims[i])) return `${name}: shape ${JSON.stringify(dims)}, expected ${JSON.stringify(expected.dims)}`;
  const e = tensorNumbers(expected);
  let bad = 0;
  let first = '';
  for (let i = 0; i < e.length; i++) {
    const a = actual[i]!;
    if (!(Math.abs(a - e[i]!) <= atol + rtol * Math.abs(e[i]!))) {
      if (!bad) first = `#${i}: ${a} vs ${e[i]}`;
      bad++;
    }
  }
  return bad ? `${name}: ${bad} of ${e.length} values differ (first ${first})` : undefined;
}

/** One test_data_set_K of a conformance test: its inputs (constants split off) and expected outputs (null: none). */
export interface ConformanceSet {
  name: string;
  inputs: Map<string, OnnxTensor>;
  constantInputs: Map<string, OnnxTensor>;
  outputs: (OnnxTensor | null)[];
}

/**
 * A conformance test folder: its model and data sets. `isConstant(input, tensor, parameters, model)` says which graph
 * inputs are bound as constants (`parameters`: those that feed a parameter slot, see `parameterInputs`).
 */
export function loadConformance(
  dir: string,
  isConstant: (name: string, t: OnnxTensor, parameters: ReadonlySet<string>, model: OnnxModel) => boolean,
): { model: OnnxModel; sets: ConformanceSet[] } {
  const model = parseOnnx(readFileSync(join(dir, 'model.onnx')), 'model.onnx');
  const params = new Set(parameterInputs(model));
  const sets = readdirSync(dir)
    .filter((d) => d.startsWith('test_data_set_'))
    .sort()
    .map((set) => {
      const inputs = new Map<string, OnnxTensor>();
      const constantInputs = new Map<string, OnnxTensor>();
      model.graph.inputs.forEach((vi, k) => {
        const t = parseOnnxTensor(readFileSync(join(dir, set, `input_${k}.pb`)), `input_${k}.pb`);
        (isConstant(vi.name, t, params, model) ? constantInputs : inputs).set(vi.name, t);
      });
      const outputs = model.graph.outputs.map((_, k) => {
        const file = join(dir, set, `output_${k}.pb`);
        return existsSync(file) ? parseOnnxTensor(readFileSync(file), `output_${k}.pb`) : null;
      });
      return { name: set, inputs, constantInputs, outputs };
    });
  return { model, sets };
}

export function runConformance(dir: string, opts: Pick<ImportOptions, 'foldBatchNorm'> = {}): ConformanceResult {
  // Parameters and non-float data are constants of the import (the float64 executor computes on floats).
  const { model, sets } = loadConformance(dir, (name, t, params) => params.has(name) || (t.dtype !== 'float32' && t.dtype !== 'float64'));
  const problems: string[] = [];
  for (const set of sets) {
    const inputShapes = Object.fromEntries([...set.inputs].map(([name, t]) => [name, t.dims]));
    const graph = importOnnx(model, { ...opts, constantInputs: set.constantInputs, inputShapes });
    const feed = Object.fromEntries([...set.inputs].map(([name, t]) => [name, refFromOnnx(t)]));
    const result = runReference(graph, feed);
    model.graph.outputs.forEach((o, k) => {
      const expected = set.outputs[k];
      if (!expected) return;
      const got = result.get(o.name)!;
      const p = compareOutputs(`${set.name}/${o.name}`, got.dims, got.data, expected);
      if (p) problems.push(p);
    });
  }
  return { ok: problems.length === 0, message: problems.join('; ') };
}

// ---- Building small ONNX files in tests (protobufjs encoding with the reader's own schema) ----

const root = protobuf.Root.fromJSON(ONNX_SCHEMA);
const ModelProto = root.lookupType('onnx.ModelProto');
const TensorProto = root.lookupType('onnx.TensorProto');

export function encodeModel(obj: Record<string, unknown>): Uint8Array {
  return ModelProto.encode(ModelProto.fromObject(obj)).finish();
}
export function encodeTensor(obj: Record<string, unknown>): Uint8Array {
  return TensorProto.encode(TensorProto.fromObject(obj)).finish();
}

/** A float32 initializer / tensor with raw_data. */
export function f32(name: string, dims: number[], vals: ArrayLike<number>): Record<string, unknown> {
  return { name, dims, dataType: 1, rawData: new Uint8Array(Float32Array.from(vals).buffer) };
}
export function i64(name: string, dims: number[], vals: number[]): Record<string, unknown> {
  return { name, dims, dataType: 7, rawData: new Uint8Array(BigInt64Array.from(vals, (v) => BigInt(v)).buffer) };
}
type AttrValue = number | number[] | string | { tensor: Record<string, unknown> } | { float: number } | { floats: number[] };
function attr(name: string, v: AttrValue): Record<string, unknown> {
  if (typeof v === 'string') return { name, type: 3, s: new TextEncoder().encode(v) };
  if (typeof v === 'number') return { name, type: 2, i: v };
  if (Array.isArray(v)) return { name, type: 7, ints: v };
  if ('tensor' in v) return { name, type: 4, t: v.tensor };
  if ('float' in v) return { name, type: 1, f: v.float };
  return { name, type: 6, floats: v.floats };
}
export function node(opType: string, inputs: string[], outputs: string[], attrs: Record<string, AttrValue> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { opType, input: inputs, output: outputs, name: `${opType}:${outputs[0]}`, attribute: Object.entries(attrs).map(([k, v]) => attr(k, v)), ...extra };
}
export function valueInfo(name: string, dims: (number | string)[], elemType = 1): Record<string, unknown> {
  return { name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } } };
}
export function modelBytes(g: { nodes: Record<string, unknown>[]; inputs: Record<string, unknown>[]; outputs: Record<string, unknown>[]; initializers?: Record<string, unknown>[] }, opset = 13): Uint8Array {
  return encodeModel({
    irVersion: 8,
    producerName: 'onnx-test',
    producerVersion: '1',
    opsetImport: [{ domain: '', version: opset }],
    graph: { name: 'g', node: g.nodes, input: g.inputs, output: g.outputs, initializer: g.initializers ?? [] },
  });
}

/** Seeded uniform values in [-1, 1). */
export function seeded(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 32) * 2 - 1;
  }
  return out;
}
