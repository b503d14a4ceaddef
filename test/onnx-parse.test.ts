// The ONNX reader: a real exported model, TensorProtos of every element type it reads, attributes, Constant nodes,
// and bad files (empty, random, truncated, other formats, external data, over 2 GB), which must give a clear
// OnnxFormatError and never a crash or a half-read model.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  attrFloat, attrInt, attrInts, attrString, constantNodeValue, int64Numbers, OnnxFormatError, parseOnnx, parseOnnxTensor, tensorNumbers,
  type OnnxTensor,
} from '../src/formats/onnx.js';
import { encodeModel, encodeTensor, f32, i64, modelBytes, node, NODE_TESTS, SHARED_ONNX, seeded, valueInfo } from './onnx-harness.js';

/** A tensor's values as plain numbers (any element type). */
const nums = (t: OnnxTensor | OnnxTensor['data']): number[] => ('dims' in t ? tensorNumbers(t) : Array.from(t as ArrayLike<number>, Number));

const squeezeBytes = readFileSync(join(SHARED_ONNX, 'squeezenet1_1_real', 'model.onnx'));

describe('ONNX reader', () => {
  it('reads an exported SqueezeNet: metadata, opsets, inputs with symbolic dims, initializers, attributes', () => {
    const m = parseOnnx(squeezeBytes);
    expect(m.irVersion).toBe(7);
    expect(m.producerName).toBe('pytorch');
    expect(m.opset).toBe(13);
    expect(m.opsets).toEqual([{ domain: '', version: 13 }]);
    expect(m.graph.inputs).toEqual([{ name: 'input', elemType: 'float', shape: ['batch', 3, 224, 224] }]);
    expect(m.graph.outputs).toEqual([{ name: 'logits', elemType: 'float', shape: ['batch', 1000] }]);
    expect(m.graph.nodes).toHaveLength(65);
    const w = m.graph.initializers.get('features.0.weight')!;
    expect(w.dtype).toBe('float32');
    expect(w.dims).toEqual([64, 3, 3, 3]);
    expect(w.data).toBeInstanceOf(Float32Array);
    expect(w.data.length).toBe(64 * 27);
    const conv = m.graph.nodes[0]!;
    expect(conv.opType).toBe('Conv');
    expect(conv.inputs).toEqual(['input', 'features.0.weight', 'features.0.bias']);
    expect(attrInts(conv, 'strides')).toEqual([2, 2]);
    expect(attrInt(conv, 'group', 1)).toBe(1);
    const pool = m.graph.nodes.find((n) => n.opType === 'MaxPool')!;
    expect(attrInt(pool, 'ceil_mode')).toBe(1);
  });

  it('reads the conformance tests’ TensorProtos (float32 and int64 raw_data)', () => {
    const shape = parseOnnxTensor(readFileSync(join(NODE_TESTS, 'test_reshape_negative_dim', 'test_data_set_0', 'input_1.pb')));
    expect(shape.dtype).toBe('int64');
    expect(shape.data).toBeInstanceOf(BigInt64Array);
    expect(int64Numbers(shape)).toEqual([2, -1, 2]);
    const data = parseOnnxTensor(readFileSync(join(NODE_TESTS, 'test_reshape_negative_dim', 'test_data_set_0', 'input_0.pb')));
    expect(data.dims).toEqual([2, 3, 4]);
    expect(data.data).toBeInstanceOf(Float32Array);
  });

  it('reads every element type from typed fields and raw_data; float16 and bfloat16 widen to float32', () => {
    const t = (o: Record<string, unknown>) => parseOnnxTensor(encodeTensor({ name: 't', ...o }));
    expect(nums(t({ dims: [3], dataType: 1, floatData: [1.5, -2, 3] }).data)).toEqual([1.5, -2, 3]);
    const half = t({ dims: [3], dataType: 10, rawData: new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x3555]).buffer) });
    expect(half.dtype).toBe('float32');
    expect(half.fileType).toBe(10);
    expect(nums(half).map((v) => +v.toFixed(4))).toEqual([1, -2, 0.3333]);
    expect(nums(t({ dims: [2], dataType: 10, int32Data: [0x3c00, 0x4200] }).data)).toEqual([1, 3]);
    expect(nums(t({ dims: [1], dataType: 16, rawData: new Uint8Array(new Uint16Array([0x3fc0]).buffer) }).data)).toEqual([1.5]);
    const big = t({ dims: [3], dataType: 7, int64Data: ['9223372036854775807', -5, 7] });
    expect(Array.from(big.data as BigInt64Array)).toEqual([9223372036854775807n, -5n, 7n]);
    expect(() => int64Numbers(big)).toThrow(/not a safe integer/);
    expect(nums(t({ dims: [2, 2], dataType: 6, int32Data: [1, -2, 3, -4] }).data)).toEqual([1, -2, 3, -4]);
    expect(nums(t({ dims: [3], dataType: 2, rawData: new Uint8Array([0, 128, 255]) }).data)).toEqual([0, 128, 255]);
    const b = t({ dims: [3], dataType: 9, int32Data: [1, 0, 1] });
    expect(b.dtype).toBe('bool');
    expect(nums(b)).toEqual([1, 0, 1]);
    const d = t({ dims: [2], dataType: 11, doubleData: [0.1, 1e300] });
    expect(d.data).toBeInstanceOf(Float64Array);
    expect(nums(d)).toEqual([0.1, 1e300]);
    expect(nums(t({ dims: [2], dataType: 11, rawData: new Uint8Array(new Float64Array([0.25, -1]).buffer) }).data)).toEqual([0.25, -1]);
    const scalar = t({ dims: [], dataType: 1, floatData: [7] });
    expect(scalar.dims).toEqual([]);
    expect(nums(scalar)).toEqual([7]);
  });

  it('decodes attributes of every kind; a subgraph attribute is recorded and reading it is a clear error', () => {
    const bytes = modelBytes({
      nodes: [
        {
          opType: 'Custom',
          name: 'c',
          input: ['x'],
          output: ['y'],
          attribute: [
            { name: 'f', type: 1, f: 0.5 },
            { name: 'i', type: 2, i: -3 },
            { name: 's', type: 3, s: new TextEncoder().encode('SAME_UPPER') },
            { name: 't', type: 4, t: f32('', [2], [1, 2]) },
            { name: 'fs', type: 6, floats: [1, 2.5] },
            { name: 'is', type: 7, ints: [1, -1, '9223372036854775807'] },
            { name: 'ss', type: 8, strings: [new TextEncoder().encode('a'), new TextEncoder().encode('b')] },
            { name: 'g', type: 5, g: { name: 'body', node: [] } },
          ],
        },
      ],
      inputs: [valueInfo('x', [1])],
      outputs: [valueInfo('y', [1])],
    });
    const n = parseOnnx(bytes).graph.nodes[0]!;
    expect(attrFloat(n, 'f')).toBe(0.5);
    expect(attrInt(n, 'i')).toBe(-3);
    expect(attrString(n, 's')).toBe('SAME_UPPER');
    expect(n.attributes['t']).toMatchObject({ type: 'tensor', value: { dims: [2], dtype: 'float32' } });
    expect(n.attributes['fs']).toEqual({ type: 'floats', value: [1, 2.5] });
    expect(n.attributes['is']).toEqual({ type: 'ints', value: [1, -1, 9223372036854775807] });
    expect(n.attributes['ss']).toEqual({ type: 'strings', value: ['a', 'b'] });
    expect(n.attributes['g']).toEqual({ type: 'unsupported', kind: 'graph' });
    expect(() => attrInt(n, 'g')).toThrow(/attribute 'g' is a graph, which is not supported/);
    expect(() => attrInt(n, 's')).toThrow(/attribute 's' is of type string, expected int/);
  });

  it('reads Constant nodes (value tensor, value_float, value_ints), value_info, and leaves initializers out of the inputs', () => {
    const bytes = modelBytes({
      nodes: [
        node('Constant', [], ['a'], { value: { tensor: i64('', [2], [3, -1]) } }),
        node('Constant', [], ['b'], { value_float: { float: 2.5 } }),
        node('Constant', [], ['c'], { value_ints: [4, 5, 6] }),
        node('Add', ['x', 'w'], ['y']),
      ],
      inputs: [valueInfo('x', ['n', 2]), valueInfo('w', [2])],
      outputs: [valueInfo('y', ['n', 2])],
      initializers: [f32('w', [2], [1, 2])],
    });
    const m = parseOnnx(bytes);
    expect(m.graph.inputs.map((i) => i.name)).toEqual(['x']);
    const [a, b, c] = m.graph.nodes.slice(0, 3).map(constantNodeValue);
    expect(a).toMatchObject({ name: 'a', dtype: 'int64', dims: [2] });
    expect(int64Numbers(a!)).toEqual([3, -1]);
    expect(b).toMatchObject({ name: 'b', dtype: 'float32', dims: [] });
    expect(nums(b!)).toEqual([2.5]);
    expect(int64Numbers(c!)).toEqual([4, 5, 6]);
    const withVi = encodeModel({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: { node: [node('Relu', ['x'], ['y'])], input: [valueInfo('x', [2])], output: [valueInfo('y', [2])], valueInfo: [valueInfo('y', [2])] },
    });
    expect(parseOnnx(withVi).graph.valueInfo).toEqual([{ name: 'y', elemType: 'float', shape: [2] }]);
    const dims = encodeModel({
      irVersion: 8,
      opsetImport: [{ domain: 'ai.onnx', version: 13 }],
      graph: {
        node: [],
        input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{}, { dimValue: 0 }, { dimParam: 'N' }, { dimValue: 5 }] } } } }, { name: 'r', type: { tensorType: { elemType: 7 } } }],
        output: [],
      },
    });
    const dm = parseOnnx(dims);
    expect(dm.opsets).toEqual([{ domain: '', version: 13 }]);
    // an unset dimension is unknown (null), not 0; a tensor without shape has none
    expect(dm.graph.inputs).toEqual([{ name: 'x', elemType: 'float', shape: [null, 0, 'N', 5] }, { name: 'r', elemType: 'int64' }]);
  });
});

describe('ONNX reader: bad files give a clear OnnxFormatError', () => {
  const expectFormatError = (bytes: Uint8Array, re: RegExp): void => {
    let err: unknown;
    try {
      parseOnnx(bytes, 'bad.onnx');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OnnxFormatError);
    expect((err as Error).message).toMatch(/^bad\.onnx: /);
    expect((err as Error).message).toMatch(re);
  };

  it('empty, truncated, random bytes, other formats', () => {
    expectFormatError(new Uint8Array(0), /empty file/);
    for (const cut of [1000, 100_000, squeezeBytes.length - 1000]) expectFormatError(squeezeBytes.subarray(0, cut), /truncated|not a valid|not an ONNX/);
    for (let seed = 1; seed <= 20; seed++) {
      const junk = Uint8Array.from(seeded(4096, seed), (v) => Math.floor((v + 1) * 128));
      expectFormatError(junk, /not a valid ONNX|not a complete ONNX|not an ONNX/);
    }
    expectFormatError(readFileSync(join(SHARED_ONNX, 'README.md')), /ONNX/);
    expectFormatError(readFileSync(join(SHARED_ONNX, 'resnet18', 'logits.npy')), /ONNX/);
    expectFormatError(readFileSync(join(SHARED_ONNX, '..', 'data', 'cats_and_dogs_small', 'test', 'cats', 'cat.1500.jpg')), /ONNX/);
    // cut at any byte, a small model never reads as a model
    const small = encodeModel({
      irVersion: 7,
      producerName: 'p',
      graph: { name: 'g', node: [node('Add', ['x', 'w'], ['y'])], input: [valueInfo('x', [2])], output: [valueInfo('y', [2])], initializer: [f32('w', [2], [1, 2])] },
      opsetImport: [{ domain: '', version: 13 }],
    });
    expect(parseOnnx(small).graph.nodes).toHaveLength(1);
    for (let cut = 0; cut < small.length; cut++) expect(() => parseOnnx(small.subarray(0, cut))).toThrow(OnnxFormatError);
    // a TensorProto is not a model
    expectFormatError(readFileSync(join(NODE_TESTS, 'test_relu', 'test_data_set_0', 'input_0.pb')), /ONNX/);
    expect(() => parseOnnxTensor(new Uint8Array([0x08, 0x96]), 't.pb')).toThrow(OnnxFormatError);
  });

  it('external data names the tensor and its file; more than 2 GB is refused before decoding', () => {
    const bytes = modelBytes({
      nodes: [node('Add', ['x', 'w'], ['y'])],
      inputs: [valueInfo('x', [2])],
      outputs: [valueInfo('y', [2])],
      initializers: [{ name: 'fc.weight', dims: [2], dataType: 1, dataLocation: 1, externalData: [{ key: 'location', value: 'weights.bin' }, { key: 'offset', value: '0' }] }],
    });
    expectFormatError(bytes, /tensor 'fc\.weight' keeps its data in an external file \('weights\.bin'\)/);
    const huge = { length: 2 ** 31 + 5 } as unknown as Uint8Array;
    expectFormatError(huge, /cannot exceed 2 GB.*external data/);
  });

  it('a tensor whose raw_data does not match its dims names the tensor', () => {
    const bytes = modelBytes({
      nodes: [node('Relu', ['x'], ['y'])],
      inputs: [valueInfo('x', [2])],
      outputs: [valueInfo('y', [2])],
      initializers: [{ name: 'w', dims: [4], dataType: 1, rawData: new Uint8Array(12) }],
    });
    expectFormatError(bytes, /tensor 'w' has 12 bytes of raw_data but dims \[4\] of float need 16/);
    const strings = modelBytes({ nodes: [], inputs: [], outputs: [], initializers: [{ name: 's', dims: [1], dataType: 8, stringData: [new Uint8Array([65])] }] });
    expectFormatError(strings, /tensor 's' has element type string/);
  });
});
