// ONNX's own backend conformance tests (../shared/onnx/node) on this engine's GPU path: parse → import passes → the
// graph of op-table calls in NHWC (src/models/onnx) → ONNX's layout, at ONNX's tolerances (rtol 1e-3, atol 1e-7).
// Tests in test/onnx-gpu-skip.json (a reason each) must be refused with a clear error before anything runs.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/engine/index.js';
import { parseOnnx, tensorNumbers, type OnnxModel, type OnnxTensor } from '../src/formats/onnx.js';
import { importOnnx, OnnxImportError } from '../src/formats/onnx/index.js';
import { onnxGraph } from '../src/models/onnx/build.js';
import { runOnnx, type HostTensor } from '../src/models/onnx/run.js';
import { runReference } from '../src/reference/onnx-graph.js';
import { compareOutputs, f32, loadConformance, modelBytes, node, NODE_TESTS, seeded, valueInfo } from './onnx-harness.js';

const skips = JSON.parse(readFileSync(join(import.meta.dirname, 'onnx-gpu-skip.json'), 'utf8')) as Record<string, string>;
const tests = readdirSync(NODE_TESTS).filter((d) => d.startsWith('test_')).sort();

/** Inputs in weight slots are the model's parameters (an exported network has them as initializers): bound as constants. */
const WEIGHT_SLOTS: Record<string, number[]> = { Conv: [1, 2], BatchNormalization: [1, 2, 3, 4], Gemm: [1, 2] };

const inWeightSlot = (name: string, model: OnnxModel): boolean => model.graph.nodes.some((n) => (WEIGHT_SLOTS[n.opType] ?? []).some((k) => n.inputs[k] === name));

/** Parameters and weights are constants; data of another element type stays an input (the import refuses it by name). */
function load(dir: string): { model: OnnxModel; sets: { inputs: Map<string, HostTensor>; constantInputs: Map<string, OnnxTensor>; outputs: (OnnxTensor | null)[] }[] } {
  const { model, sets } = loadConformance(dir, (name, _t, params, m) => params.has(name) || inWeightSlot(name, m));
  const host = (t: OnnxTensor): HostTensor => ({ shape: t.dims, data: Float32Array.from(tensorNumbers(t)) });
  return { model, sets: sets.map((s) => ({ ...s, inputs: new Map([...s.inputs].map(([k, t]) => [k, host(t)])) })) };
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

describe('convolutions beyond the conformance tests, against the float64 reference executor', () => {
  const cases: { label: string; cin: number; cout: number; k: number; group: number; strides: number[]; pads: number[]; dilations: number[] }[] = [
    { label: 'grouped (2 groups), stride 2, asymmetric pads', cin: 6, cout: 8, k: 3, group: 2, strides: [2, 2], pads: [1, 0, 2, 1], dilations: [1, 1] },
    { label: 'grouped (3 groups), 1×1', cin: 9, cout: 6, k: 1, group: 3, strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1] },
    { label: 'depthwise 5×5, dilation 2', cin: 4, cout: 4, k: 5, group: 4, strides: [1, 1], pads: [4, 4, 4, 4], dilations: [2, 2] },
    { label: '7×7 stride 2 pads 3 (ResNet stem)', cin: 3, cout: 5, k: 7, group: 1, strides: [2, 2], pads: [3, 3, 3, 3], dilations: [1, 1] },
    { label: 'dilation 2 (a regular convolution: the direct kernels)', cin: 5, cout: 6, k: 3, group: 1, strides: [1, 1], pads: [2, 2, 2, 2], dilations: [2, 2] },
    { label: 'stride 3 × 2, grouped, asymmetric pads (the direct kernels per group)', cin: 4, cout: 6, k: 3, group: 2, strides: [3, 2], pads: [0, 1, 1, 0], dilations: [1, 1] },
  ];
  for (const c of cases) {
    it(c.label, async () => {
      const [h, w] = [11, 10];
      const wShape = [c.cout, c.cin / c.group, c.k, c.k];
      const bytes = modelBytes({
        nodes: [node('Conv', ['x', 'w', 'b'], ['y'], { group: c.group, strides: c.strides, pads: c.pads, dilations: c.dilations, kernel_shape: [c.k, c.k] })],
        inputs: [valueInfo('x', [2, c.cin, h, w])],
        outputs: [valueInfo('y', [])],
        initializers: [f32('w', wShape, seeded(wShape.reduce((a, d) => a * d, 1), 3)), f32('b', [c.cout], seeded(c.cout, 4))],
      });
      const model = parseOnnx(bytes, 'conv.onnx');
      const x = seeded(2 * c.cin * h * w, 5);
      const ref = runReference(importOnnx(model, { inputShapes: { x: [2, c.cin, h, w] } }), { x: { dims: [2, c.cin, h, w], data: Float64Array.from(x) } }).get('y')!;
      const got = (await runOnnx(engine, model, new Map([['x', { shape: [2, c.cin, h, w], data: x }]]))).get('y')!;
      expect(got.shape).toEqual(ref.dims);
      const p = compareOutputs('y', got.shape, got.data, { name: 'y', dtype: 'float32', fileType: 1, dims: ref.dims, data: Float32Array.from(ref.data) });
      expect(p ?? '').toBe('');
    });
  }
});
