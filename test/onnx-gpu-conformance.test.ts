// ONNX's own backend conformance tests (../shared/onnx/node) on this engine's GPU path: parse → import passes → the
// graph of op-table calls in NHWC (src/models/onnx) → ONNX's layout, at ONNX's tolerances (rtol 1e-3, atol 1e-7).
// Tests in test/onnx-gpu-skip.json (a reason each) must be refused with a clear error before anything runs.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/engine/index.js';
import { parseOnnx, parseOnnxTensor, tensorNumbers, type OnnxTensor } from '../src/formats/onnx.js';
import { OnnxImportError, parameterInputs } from '../src/formats/onnx/index.js';
import { onnxGraph } from '../src/models/onnx/build.js';
import { runOnnx, type HostTensor } from '../src/models/onnx/run.js';
import { compareOutputs, NODE_TESTS } from './onnx-harness.js';

const skips = JSON.parse(readFileSync(join(import.meta.dirname, 'onnx-gpu-skip.json'), 'utf8')) as Record<string, string>;
const tests = readdirSync(NODE_TESTS).filter((d) => d.startsWith('test_')).sort();

interface Loaded {
  model: ReturnType<typeof parseOnnx>;
  sets: { inputs: Map<string, HostTensor>; constantInputs: Map<string, OnnxTensor>; outputs: (OnnxTensor | null)[] }[];
}

/** Inputs in weight slots are the model's parameters (an exported network has them as initializers): bound as constants. */
const WEIGHT_SLOTS: Record<string, number[]> = { Conv: [1, 2], BatchNormalization: [1, 2, 3, 4], Gemm: [1, 2] };

function load(dir: string): Loaded {
  const model = parseOnnx(readFileSync(join(dir, 'model.onnx')), 'model.onnx');
  const params = new Set(parameterInputs(model));
  for (const n of model.graph.nodes) for (const k of WEIGHT_SLOTS[n.opType] ?? []) if (n.inputs[k]) params.add(n.inputs[k]);
  const sets = readdirSync(dir)
    .filter((d) => d.startsWith('test_data_set_'))
    .sort()
    .map((set) => {
      const inputs = new Map<string, HostTensor>();
      const constantInputs = new Map<string, OnnxTensor>();
      model.graph.inputs.forEach((vi, k) => {
        const t = parseOnnxTensor(readFileSync(join(dir, set, `input_${k}.pb`)), `input_${k}.pb`);
        // Parameters are constants; data of another element type stays an input (the import refuses it by name).
        if (params.has(vi.name)) constantInputs.set(vi.name, t);
        else inputs.set(vi.name, { shape: t.dims, data: Float32Array.from(tensorNumbers(t)) });
      });
      const outputs = model.graph.outputs.map((_, k) => {
        const file = join(dir, set, `output_${k}.pb`);
        return existsSync(file) ? parseOnnxTensor(readFileSync(file), `output_${k}.pb`) : null;
      });
      return { inputs, constantInputs, outputs };
    });
  return { model, sets };
}

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create();
});
afterAll(() => engine.destroy());

describe('ONNX backend conformance tests on the GPU', () => {
  it('every skip has a reason and names a real test; at least 90% run', () => {
    for (const [name, reason] of Object.entries(skips)) {
      expect(tests).toContain(name);
      expect(reason.length).toBeGreaterThan(10);
    }
    expect((tests.length - Object.keys(skips).length) / tests.length).toBeGreaterThanOrEqual(0.9);
  });

  for (const t of tests) {
    const dir = join(NODE_TESTS, t);
    if (skips[t]) {
      it(`${t} is refused with a clear error (skipped: ${skips[t]})`, () => {
        const { model, sets } = load(dir);
        const s = sets[0]!;
        const inputShapes = Object.fromEntries([...s.inputs].map(([k, v]) => [k, v.shape]));
        expect(() => onnxGraph(engine, model, { inputShapes, constantInputs: s.constantInputs, outputs: model.graph.outputs.map((o) => o.name) })).toThrow(OnnxImportError);
      });
      continue;
    }
    it(t, async () => {
      const { model, sets } = load(dir);
      const problems: string[] = [];
      for (const s of sets) {
        const out = await runOnnx(engine, model, s.inputs, { constantInputs: s.constantInputs });
        model.graph.outputs.forEach((o, k) => {
          const expected = s.outputs[k];
          if (!expected) return;
          const got = out.get(o.name)!;
          const p = compareOutputs(o.name, got.shape, got.data, expected);
          if (p) problems.push(p);
        });
      }
      expect(problems.join('; ')).toBe('');
    });
  }
});
