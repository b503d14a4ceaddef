// Shared by the ONNX tests: running a conformance test folder and a whole network through parse → import → the
// float64 reference executor. Reads ../shared/onnx by path (nothing is copied into the repository).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseOnnx, parseOnnxTensor, tensorNumbers, type OnnxTensor } from '../src/formats/onnx.js';
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

export function runConformance(dir: string, opts: Pick<ImportOptions, 'foldBatchNorm'> = {}): ConformanceResult {
  const model = parseOnnx(readFileSync(join(dir, 'model.onnx')), 'model.onnx');
  const sets = readdirSync(dir).filter((d) => d.startsWith('test_data_set_')).sort();
  const params = new Set(parameterInputs(model));
  const problems: string[] = [];
  for (const set of sets) {
    const inputs = model.graph.inputs.map((vi, k) => ({ vi, t: parseOnnxTensor(readFileSync(join(dir, set, `input_${k}.pb`)), `input_${k}.pb`) }));
    const constantInputs = new Map<string, OnnxTensor>();
    const inputShapes: Record<string, number[]> = {};
    for (const { vi, t } of inputs) {
      if (params.has(vi.name) || (t.dtype !== 'float32' && t.dtype !== 'float64')) constantInputs.set(vi.name, t);
      else inputShapes[vi.name] = t.dims;
    }
    const graph = importOnnx(model, { ...opts, constantInputs, inputShapes });
    const feed = Object.fromEntries(inputs.filter(({ vi }) => !constantInputs.has(vi.name)).map(({ vi, t }) => [vi.name, refFromOnnx(t)]));
    const result = runReference(graph, feed);
    model.graph.outputs.forEach((o, k) => {
      const file = join(dir, set, `output_${k}.pb`);
      if (!existsSync(file)) return;
      const expected = parseOnnxTensor(readFileSync(file), `output_${k}.pb`);
      const got = result.get(o.name)!;
      const p = compareOutputs(`${set}/${o.name}`, got.dims, got.data, expected);
      if (p) problems.push(p);
    });
  }
  return { ok: problems.length === 0, message: problems.join('; ') };
}
