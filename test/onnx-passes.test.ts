// The import passes on small synthetic models: shape arithmetic folded on the static input size, Identity and Dropout
// removed, BatchNormalization folded into the Conv before it (same outputs as unfolded on the float64 reference),
// NCHW-order marks on Flatten/Reshape of spatial maps, and clear errors for what cannot be imported.
import { describe, expect, it } from 'vitest';
import { parseOnnx, tensorNumbers } from '../src/formats/onnx.js';
import { importOnnx, OnnxImportError, type ImportOptions } from '../src/formats/onnx/index.js';
import { runReference, type RefTensor } from '../src/reference/onnx-graph.js';
import { encodeModel, f32, i64, modelBytes, node, seeded, valueInfo } from './onnx-harness.js';

const ref = (dims: number[], seed: number): RefTensor => ({ dims, data: Float64Array.from(seeded(dims.reduce((a, b) => a * b, 1), seed)) });

function relDiff(a: Float64Array, b: Float64Array): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i]! - b[i]!) ** 2;
    s += b[i]! ** 2;
  }
  return Math.sqrt(d / s);
}

/** x.view(x.size(0), -1) as PyTorch exports it, between a 1×1 Conv and a Gemm. */
function flattenViaShape(opset: number, useFlatten = false) {
  const unsqueezeAxes = opset >= 13 ? [node('Unsqueeze', ['n', 'axes0'], ['n1'])] : [node('Unsqueeze', ['n'], ['n1'], { axes: [0] })];
  const shapeChain = [
    node('Shape', ['c'], ['s']),
    node('Constant', [], ['zero'], { value: { tensor: i64('', [], [0]) } }),
    node('Gather', ['s', 'zero'], ['n0'], { axis: 0 }),
    node('Mul', ['n0', 'one'], ['n']),
    ...unsqueezeAxes,
    node('Cast', ['n1'], ['n2'], { to: 7 }),
    node('Concat', ['n2', 'minus1'], ['shp'], { axis: 0 }),
    node('Reshape', ['c', 'shp'], ['f']),
  ];
  return modelBytes(
    {
      nodes: [
        node('Conv', ['x', 'w', 'b'], ['c'], { kernel_shape: [1, 1] }),
        ...(useFlatten ? [node('Flatten', ['c'], ['f'], { axis: 1 })] : shapeChain),
        node('Gemm', ['f', 'wfc', 'bfc'], ['y'], { transB: 1 }),
      ],
      inputs: [valueInfo('x', ['N', 3, 4, 4])],
      outputs: [valueInfo('y', ['N', 5])],
      initializers: [
        f32('w', [2, 3, 1, 1], seeded(6, 1)),
        f32('b', [2], seeded(2, 2)),
        f32('wfc', [5, 32], seeded(160, 3)),
        f32('bfc', [5], seeded(5, 4)),
        i64('one', [], [1]),
        i64('minus1', [1], [-1]),
        i64('axes0', [1], [0]),
      ],
    },
    opset,
  );
}

describe('ONNX import passes', () => {
  it('folds Shape → Gather → Mul → Unsqueeze → Cast → Concat into a static Reshape, at the given batch (opsets 11 and 13)', () => {
    for (const opset of [11, 13]) {
      for (const batch of [1, 3]) {
        const g = importOnnx(parseOnnx(flattenViaShape(opset)), { batch });
        expect(g.nodes.map((n) => n.opType)).toEqual(['Conv', 'Reshape', 'Gemm']);
        const reshape = g.nodes[1]!;
        expect(reshape.attrs['shape']).toEqual([batch, 32]);
        expect(reshape.inputs).toEqual(['c']);
        expect(reshape.nchwOrder).toBe(true); // [N, 2, 4, 4] flattened: ONNX's NCHW order matters
        expect(g.stats.foldedNodes).toBe(6); // Shape, Gather, Mul, Unsqueeze, Cast, Concat
        expect(g.shapes.get('f')).toEqual([batch, 32]);
        expect(g.shapes.get('y')).toEqual([batch, 5]);
        for (const n of g.nodes) for (const o of n.outputs) expect(g.shapes.has(o)).toBe(true);
        // the folded chain's constants are gone; only the weights remain
        expect([...g.constants.keys()].sort()).toEqual(['b', 'bfc', 'w', 'wfc']);
        // same numbers as the model that says Flatten
        const flat = importOnnx(parseOnnx(flattenViaShape(opset, true)), { batch });
        expect(flat.nodes[1]!.nchwOrder).toBe(true);
        const x = ref([batch, 3, 4, 4], 9);
        const a = runReference(g, { x }).get('y')!;
        const b = runReference(flat, { x }).get('y')!;
        expect(a.dims).toEqual([batch, 5]);
        expect(Array.from(a.data)).toEqual(Array.from(b.data));
      }
    }
  });

  it('folds the other shape-arithmetic ops exporters emit (Size, Range, Equal, Where, Expand, Min/Max, Neg, Floor/Ceil/Sqrt, Shape start/end, ConstantOfShape)', () => {
    const f = (name: string, vals: number[]) => f32(name, [vals.length], vals);
    const bytes = modelBytes({
      nodes: [
        node('Shape', ['x'], ['s']),
        node('Shape', ['x'], ['tail'], { start: -2 }),
        node('Size', ['x'], ['size']),
        node('Range', ['zero', 'three', 'one'], ['r']),
        node('Gather', ['s', 'r'], ['g']),
        node('Equal', ['g', 'threes'], ['eq']),
        node('Where', ['eq', 'minus1', 'g'], ['w']),
        node('Max', ['w', 'zero'], ['mx']),
        node('Min', ['w', 'one'], ['mn']),
        node('Neg', ['w'], ['neg']),
        node('Cast', ['size'], ['sizef'], { to: 1 }),
        node('Div', ['sizef', 'five'], ['q']),
        node('Floor', ['q'], ['fl']),
        node('Ceil', ['q'], ['ce']),
        node('Sqrt', ['sixteen'], ['sq']),
        node('Expand', ['one'], ['ex'], {}, { input: ['one1', 'two'] }),
        node('ConstantOfShape', ['tail'], ['cs'], { value: { tensor: f32('', [1], [0.5]) } }),
        node('Div', ['seven', 'two'], ['idiv']),
        node('Relu', ['x'], ['y']),
      ],
      inputs: [valueInfo('x', [2, 3, 4])],
      outputs: ['y', 's', 'tail', 'size', 'r', 'w', 'mx', 'mn', 'neg', 'fl', 'ce', 'sq', 'ex', 'cs', 'idiv'].map((n) => valueInfo(n, [1])),
      initializers: [
        i64('zero', [], [0]), i64('three', [], [3]), i64('one', [], [1]), i64('threes', [3], [3, 3, 3]), i64('minus1', [1], [-1]),
        i64('one1', [1], [1]), i64('two', [1], [2]), i64('seven', [], [7]), f('five', [5]), f('sixteen', [16]),
      ],
    });
    const g = importOnnx(parseOnnx(bytes));
    expect(g.nodes.map((n) => n.opType)).toEqual(['Relu']);
    const value = (name: string) => {
      const t = g.constants.get(g.outputs.find((o) => o.name === name)!.tensor)!;
      return [t.dtype, t.dims, tensorNumbers(t)];
    };
    expect(value('s')).toEqual(['int64', [3], [2, 3, 4]]);
    expect(value('tail')).toEqual(['int64', [2], [3, 4]]);
    expect(value('size')).toEqual(['int64', [], [24]]);
    expect(value('r')).toEqual(['int64', [3], [0, 1, 2]]);
    expect(value('w')).toEqual(['int64', [3], [2, -1, 4]]);
    expect(value('mx')).toEqual(['int64', [3], [2, 0, 4]]);
    expect(value('mn')).toEqual(['int64', [3], [1, -1, 1]]);
    expect(value('neg')).toEqual(['int64', [3], [-2, 1, -4]]);
    expect(value('fl')).toEqual(['float32', [1], [4]]);
    expect(value('ce')).toEqual(['float32', [1], [5]]);
    expect(value('sq')).toEqual(['float32', [1], [4]]);
    expect(value('ex')).toEqual(['int64', [2], [1, 1]]);
    expect(value('cs')).toEqual(['float32', [3, 4], new Array(12).fill(0.5)]);
    expect(value('idiv')).toEqual(['int64', [1], [3]]); // integer division truncates; [] with [1] broadcasts to [1]
  });

  it('does not mark a Flatten after a global pool (1×1 map: NCHW and NHWC orders agree)', () => {
    const bytes = modelBytes({
      nodes: [node('GlobalAveragePool', ['x'], ['p']), node('Flatten', ['p'], ['y'])],
      inputs: [valueInfo('x', [2, 8, 5, 5])],
      outputs: [valueInfo('y', [2, 8])],
    });
    const g = importOnnx(parseOnnx(bytes));
    expect(g.nodes[1]!.nchwOrder).toBeUndefined();
    expect(g.outputs[0]!.shape).toEqual([2, 8]);
  });

  it('marks both Reshapes of a channel shuffle (into and out of a spatial map), not the Transpose', () => {
    const bytes = modelBytes({
      nodes: [node('Reshape', ['x', 's5'], ['a']), node('Transpose', ['a'], ['b'], { perm: [0, 2, 1, 3, 4] }), node('Reshape', ['b', 's4'], ['y'])],
      inputs: [valueInfo('x', [1, 6, 2, 2])],
      outputs: [valueInfo('y', [1, 6, 2, 2])],
      initializers: [i64('s5', [5], [1, 2, 3, 2, 2]), i64('s4', [4], [1, 6, 2, 2])],
    });
    const g = importOnnx(parseOnnx(bytes));
    expect(g.nodes.map((n) => [n.opType, n.nchwOrder ?? false])).toEqual([['Reshape', true], ['Transpose', false], ['Reshape', true]]);
    const x = ref([1, 6, 2, 2], 3);
    const all = runReference(g, { x }, { keepAll: true });
    expect([...all.keys()].sort()).toEqual(['a', 'b', 'y']);
    const y = all.get('y')!;
    // channel c of the output is channel (c % 2)·3 + ⌊c / 2⌋ of the input
    for (let c = 0; c < 6; c++) for (let k = 0; k < 4; k++) expect(y.data[c * 4 + k]).toBe(x.data[((c % 2) * 3 + Math.floor(c / 2)) * 4 + k]);
  });

  it('removes Identity and Dropout (inference); outputs they carried keep their ONNX names; the mask is constant ones', () => {
    const bytes = modelBytes({
      nodes: [node('Identity', ['x'], ['a']), node('Dropout', ['a', 'ratio'], ['d', 'mask']), node('Relu', ['d'], ['y'])],
      inputs: [valueInfo('x', [2, 3])],
      outputs: [valueInfo('y', [2, 3]), valueInfo('mask', [2, 3], 9), valueInfo('a', [2, 3])],
      initializers: [f32('ratio', [], [0.5])],
    });
    const g = importOnnx(parseOnnx(bytes));
    expect(g.nodes.map((n) => n.opType)).toEqual(['Relu']);
    expect(g.nodes[0]!.inputs).toEqual(['x']);
    expect(g.outputs.map((o) => [o.name, o.tensor])).toEqual([['y', 'y'], ['mask', 'mask'], ['a', 'x']]);
    expect(g.aliases.get('d')).toBe('x');
    expect(g.stats.removedNodes).toBe(2);
    const x = ref([2, 3], 5);
    const out = runReference(g, { x });
    expect(Array.from(out.get('y')!.data)).toEqual(Array.from(x.data, (v) => Math.max(v, 0)));
    expect(Array.from(out.get('a')!.data)).toEqual(Array.from(x.data));
    expect(Array.from(out.get('mask')!.data)).toEqual([1, 1, 1, 1, 1, 1]);
    const training = modelBytes({
      nodes: [node('Dropout', ['x', 'ratio', 'train'], ['y'])],
      inputs: [valueInfo('x', [2])],
      outputs: [valueInfo('y', [2])],
      initializers: [f32('ratio', [], [0.5]), { name: 'train', dims: [], dataType: 9, int32Data: [1] }],
    });
    expect(() => importOnnx(parseOnnx(training))).toThrow(/Dropout.*training_mode=true/);
  });

  describe('BatchNormalization folding', () => {
    const bn = (name: string, c: number, seed: number) => [
      f32(`${name}.g`, [c], Array.from(seeded(c, seed), (v) => 1 + 0.5 * v)),
      f32(`${name}.b`, [c], seeded(c, seed + 1)),
      f32(`${name}.m`, [c], seeded(c, seed + 2)),
      f32(`${name}.v`, [c], Array.from(seeded(c, seed + 3), (v) => 0.5 + 0.4 * v)),
    ];
    const bnNode = (x: string, name: string, y: string) => node('BatchNormalization', [x, `${name}.g`, `${name}.b`, `${name}.m`, `${name}.v`], [y], { epsilon: { float: 1e-3 } });
    const bytes = modelBytes({
      nodes: [
        node('Conv', ['x', 'w1', 'b1'], ['c1'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }),
        bnNode('c1', 'bn1', 'n1'),
        node('Relu', ['n1'], ['r1']),
        node('Conv', ['r1', 'w2'], ['c2'], { kernel_shape: [3, 3], group: 2, strides: [2, 2] }),
        bnNode('c2', 'bn2', 'n2'),
        node('Conv', ['n2', 'w3'], ['c3'], { kernel_shape: [1, 1] }),
        bnNode('c3', 'bn3', 'n3'), // c3 also feeds the Add: this one must stay
        node('Add', ['c3', 'n3'], ['s']),
        bnNode('s', 'bn4', 'y'), // after an Add: stays
      ],
      inputs: [valueInfo('x', [2, 4, 7, 7])],
      outputs: [valueInfo('y', [2, 6, 3, 3])],
      initializers: [
        f32('w1', [6, 4, 3, 3], seeded(216, 11)),
        f32('b1', [6], seeded(6, 12)),
        f32('w2', [6, 3, 3, 3], seeded(162, 13)),
        f32('w3', [6, 6, 1, 1], seeded(36, 14)),
        ...bn('bn1', 6, 20),
        ...bn('bn2', 6, 30),
        ...bn('bn3', 6, 40),
        ...bn('bn4', 6, 50),
      ],
    });
    const run = (opts: ImportOptions) => {
      const g = importOnnx(parseOnnx(bytes), opts);
      return { g, y: runReference(g, { x: ref([2, 4, 7, 7], 99) }).get('y')! };
    };

    it('folds into a Conv that feeds only it (with and without bias, grouped); keeps the others; same outputs', () => {
      const folded = run({});
      const plain = run({ foldBatchNorm: false });
      expect(folded.g.stats).toMatchObject({ foldedBatchNorms: 2, keptBatchNorms: 2 });
      expect(folded.g.nodes.map((n) => n.opType)).toEqual(['Conv', 'Relu', 'Conv', 'Conv', 'BatchNormalization', 'Add', 'BatchNormalization']);
      expect(plain.g.nodes.filter((n) => n.opType === 'BatchNormalization')).toHaveLength(4);
      const conv2 = folded.g.nodes[2]!;
      expect(conv2.inputs).toHaveLength(3); // a bias was created
      expect(conv2.outputs).toEqual(['n2']);
      expect(folded.g.constants.get(conv2.inputs[1]!)!.dtype).toBe('float32');
      expect(folded.g.constants.has('w2')).toBe(false); // the unfolded weight is no longer used
      expect(folded.y.dims).toEqual([2, 6, 3, 3]);
      expect(relDiff(folded.y.data, plain.y.data)).toBeLessThan(1e-6); // float32 rounding of the folded weights only
      expect(Math.max(...Array.from(plain.y.data, Math.abs))).toBeGreaterThan(0.1);
    });
  });

  it('input shapes: symbolic batch and spatial dims from the options; other symbolic dims must be given', () => {
    const bytes = modelBytes({ nodes: [node('Relu', ['x'], ['y'])], inputs: [valueInfo('x', ['N', 3, 'H', 'W'])], outputs: [valueInfo('y', ['N', 3, 'H', 'W'])] });
    const g = importOnnx(parseOnnx(bytes), { batch: 2, inputSize: [32, 48] });
    expect(g.inputs).toEqual([{ name: 'x', shape: [2, 3, 32, 48], elemType: 'float' }]);
    expect(g.outputs[0]!.shape).toEqual([2, 3, 32, 48]);
    expect(importOnnx(parseOnnx(bytes)).inputs[0]!.shape).toEqual([1, 3, 224, 224]);
    const seq = modelBytes({ nodes: [node('Relu', ['x'], ['y'])], inputs: [valueInfo('x', [1, 'T'])], outputs: [valueInfo('y', [1, 'T'])] });
    expect(() => importOnnx(parseOnnx(seq))).toThrow(/input 'x': dimension #1 is symbolic \(T\)/);
    expect(importOnnx(parseOnnx(seq), { inputShapes: { x: [1, 7] } }).outputs[0]!.shape).toEqual([1, 7]);
    expect(() => importOnnx(parseOnnx(bytes), { inputShapes: { x: [1, 4, 8, 8] } })).toThrow(/contradicts/);
    // a static batch and size (an export without dynamic axes) give way to explicit options
    const fixed = modelBytes({ nodes: [node('Flatten', ['x'], ['y'])], inputs: [valueInfo('x', [1, 3, 8, 8])], outputs: [valueInfo('y', [1, 192])] });
    expect(importOnnx(parseOnnx(fixed)).outputs[0]!.shape).toEqual([1, 192]);
    expect(importOnnx(parseOnnx(fixed), { batch: 5, inputSize: 4 }).outputs[0]!.shape).toEqual([5, 48]);
    const hardcoded = modelBytes({
      nodes: [node('Reshape', ['x', 's'], ['y'])],
      inputs: [valueInfo('x', [1, 3, 8, 8])],
      outputs: [valueInfo('y', [1, 192])],
      initializers: [i64('s', [2], [1, 192])],
    });
    expect(() => importOnnx(parseOnnx(hardcoded), { batch: 5 })).toThrow(/cannot reshape \[5,3,8,8\] \(960 elements\) to \[1,192\]/);
  });
});

describe('ONNX import: clear errors, never a wrong number', () => {
  const err = (bytes: Uint8Array, opts: ImportOptions = {}): OnnxImportError => {
    try {
      importOnnx(parseOnnx(bytes), opts);
    } catch (e) {
      expect(e).toBeInstanceOf(OnnxImportError);
      return e as OnnxImportError;
    }
    throw new Error('import succeeded');
  };

  it('lists every unsupported op by node name and op type, foreign domains included', () => {
    const e = err(
      modelBytes({
        nodes: [
          node('Relu', ['x'], ['a']),
          node('Resize', ['a', '', 'scales'], ['b']),
          { ...node('FusedConv', ['b'], ['c']), domain: 'com.microsoft', name: 'fused' },
          node('LSTM', ['c'], ['y']),
        ],
        inputs: [valueInfo('x', [1, 3, 4, 4])],
        outputs: [valueInfo('y', [1])],
        initializers: [f32('scales', [4], [1, 1, 2, 2])],
      }),
    );
    expect(e.message).toMatch(/unsupported ops: 'Resize:b' \(Resize\), 'fused' \(com\.microsoft\.FusedConv\), 'LSTM:y' \(LSTM\)/);
    expect(e.unsupported.map((u) => u.opType)).toEqual(['Resize', 'com.microsoft.FusedConv', 'LSTM']);
  });

  it('shape-arithmetic ops on runtime data, unsupported attributes, unbound parameter inputs, opsets out of range', () => {
    const gather = modelBytes({
      nodes: [node('Gather', ['x', 'idx'], ['y'], { axis: 1 })],
      inputs: [valueInfo('x', [1, 4])],
      outputs: [valueInfo('y', [1, 2])],
      initializers: [i64('idx', [2], [0, 3])],
    });
    expect(err(gather).message).toMatch(/node 'Gather:y' \(Gather\) computes on the network's input data/);
    const reflect = modelBytes({
      nodes: [node('Pad', ['x', 'pads'], ['y'], { mode: 'reflect' })],
      inputs: [valueInfo('x', [1, 4])],
      outputs: [valueInfo('y', [1, 6])],
      initializers: [i64('pads', [4], [0, 1, 0, 1])],
    });
    expect(err(reflect).message).toMatch(/\(Pad\): mode 'reflect'/);
    const conv3d = modelBytes({
      nodes: [node('Conv', ['x', 'w'], ['y'])],
      inputs: [valueInfo('x', [1, 1, 4, 4, 4])],
      outputs: [valueInfo('y', [1, 1, 4, 4, 4])],
      initializers: [f32('w', [1, 1, 1, 1, 1], [1])],
    });
    expect(err(conv3d).message).toMatch(/\(Conv\): input X has shape \[1,1,4,4,4\]; only rank 4 is supported/);
    const reshape = modelBytes({ nodes: [node('Reshape', ['x', 'shape'], ['y'])], inputs: [valueInfo('x', [2, 3]), valueInfo('shape', [1], 7)], outputs: [valueInfo('y', [6])] });
    expect(err(reshape).message).toMatch(/input 'shape' is of type int64; runtime inputs must be floating point/);
    const relu = (opset: number) => modelBytes({ nodes: [node('Relu', ['x'], ['y'])], inputs: [valueInfo('x', [2])], outputs: [valueInfo('y', [2])] }, opset);
    expect(err(relu(6)).message).toMatch(/opset 6 is outside the supported 7–25/);
    expect(err(relu(26)).message).toMatch(/opset 26 is outside/);
    expect(() => importOnnx(parseOnnx(relu(7)))).not.toThrow();
    const bad = modelBytes({ nodes: [node('Add', ['x', 'w'], ['y'])], inputs: [valueInfo('x', [2, 3])], outputs: [valueInfo('y', [2, 3])], initializers: [f32('w', [2], [1, 2])] });
    expect(err(bad).message).toMatch(/do not broadcast/);
    const sparse = encodeModel({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: {
        node: [node('Add', ['x', 'sp'], ['y'])],
        input: [valueInfo('x', [4])],
        output: [valueInfo('y', [4])],
        sparseInitializer: [{ values: f32('sp', [1], [1]), indices: i64('', [1], [2]), dims: [4] }],
      },
    });
    expect(err(sparse).message).toMatch(/sparse initializers are not supported: 'Add:y' \(Add\) reads 'sp'/);
    const huge = modelBytes({
      nodes: [node('ConstantOfShape', ['s'], ['c']), node('Add', ['x', 'c'], ['y'])],
      inputs: [valueInfo('x', [2])],
      outputs: [valueInfo('y', [2])],
      initializers: [i64('s', [2], [1 << 20, 1 << 20])],
    });
    expect(err(huge).message).toMatch(/ConstantOfShape\): would make a constant of shape \[1048576,1048576\]/);
    const dangling = modelBytes({ nodes: [node('Relu', ['nowhere'], ['y'])], inputs: [valueInfo('x', [2])], outputs: [valueInfo('y', [2])] });
    expect(err(dangling).message).toMatch(/reads 'nowhere', which no node, input or initializer provides/);
  });

  it('constant int64 inputs bound at import time fold like initializers', () => {
    const reshape = modelBytes({ nodes: [node('Reshape', ['x', 'shape'], ['y'])], inputs: [valueInfo('x', [2, 3]), valueInfo('shape', [2], 7)], outputs: [valueInfo('y', [3, 2])] });
    const model = parseOnnx(reshape);
    const shape = { name: 'shape', dtype: 'int64' as const, fileType: 7, dims: [2], data: BigInt64Array.of(-1n, 2n) };
    const g = importOnnx(model, { constantInputs: new Map([['shape', shape]]) });
    expect(g.nodes[0]!.attrs['shape']).toEqual([3, 2]);
    expect(g.inputs.map((i) => i.name)).toEqual(['x']);
    expect(tensorNumbers(shape)).toEqual([-1, 2]);
  });
});
