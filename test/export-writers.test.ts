// The ONNX and TF.js layers writers on a small hand-made ExportGraph with every node kind — preprocessing (caffe's
// BGR swap), 'same' and 'valid' convolutions, ReLU6, a stride-2 depthwise conv with symmetric padding, zero padding,
// a ceil-mode max pool (padded bottom/right), a concatenation, a residual add, Flatten of a 3×3 map (the NHWC order)
// and a softmax Dense — against a plain float64 NHWC forward here: onnxruntime-node and tf.loadLayersModel agree
// with it. Also: our ONNX reader reads the file back, the shards split at 4 MB, and what cannot be written is refused.
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import type { ExportGraph, ExportNode, Pads } from '../src/formats/export-graph.js';
import { parseOnnx } from '../src/formats/onnx.js';
import { writeOnnxClassifier } from '../src/formats/onnx-writer.js';
import { writeTfjsLayersModel } from '../src/formats/tfjs-layers-writer.js';
import { loadTfjsLayers, parseTfjsModelJson } from '../src/formats/tfjs-layers.js';

/** Seeded values in [-a, a). */
function values(n: number, seed: number, a = 0.5): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) / 2 ** 32) * 2 * a - a;
  });
}

/** NHWC host tensor (one image). */
interface Map3 {
  h: number;
  w: number;
  c: number;
  d: Float64Array;
}

const at = (x: Map3, y: number, xx: number, c: number): number => (y < 0 || xx < 0 || y >= x.h || xx >= x.w ? 0 : x.d[(y * x.w + xx) * x.c + c]!);
const act = (v: number, a: string): number => (a === 'relu' ? Math.max(0, v) : a === 'relu6' ? Math.min(6, Math.max(0, v)) : v);

/** The plain forward of one image: what every writer's file must compute. */
function reference(g: ExportGraph, image: Float64Array): Float64Array {
  const [H, W] = g.inputShape;
  const vals = new Map<string, Map3 | Float64Array>([['image', { h: H, w: W, c: 3, d: image }]]);
  for (const n of g.nodes) {
    const x = vals.get(n.inputs[0]!)!;
    let out: Map3 | Float64Array;
    const [oh, ow, oc] = n.shape;
    const map = (): Map3 => ({ h: oh!, w: ow!, c: oc!, d: new Float64Array(oh! * ow! * oc!) });
    switch (n.op) {
      case 'preprocess': {
        const m = x as Map3;
        const o = map();
        for (let i = 0; i < m.h * m.w; i++) for (let c = 0; c < 3; c++) o.d[i * 3 + c] = m.d[i * 3 + n.source[c]!]! * n.scale[c]! + n.offset[c]!;
        out = o;
        break;
      }
      case 'conv2d':
      case 'depthwise2d': {
        const m = x as Map3;
        const o = map();
        const [kh, kw, ci, co] = n.kernelShape;
        for (let y = 0; y < oh!; y++)
          for (let xx = 0; xx < ow!; xx++)
            for (let c = 0; c < oc!; c++) {
              let s = n.bias ? n.bias[c]! : 0;
              for (let dy = 0; dy < kh; dy++)
                for (let dx = 0; dx < kw; dx++) {
                  const iy = y * n.strides + dy - n.pads[0];
                  const ix = xx * n.strides + dx - n.pads[2];
                  if (n.op === 'depthwise2d') s += at(m, iy, ix, c) * n.kernel[(dy * kw + dx) * ci + c]!;
                  else for (let i = 0; i < ci; i++) s += at(m, iy, ix, i) * n.kernel[((dy * kw + dx) * ci + i) * co! + c]!;
                }
              o.d[(y * ow! + xx) * oc! + c] = act(s, n.activation);
            }
        out = o;
        break;
      }
      case 'maxpool': {
        const m = x as Map3;
        const o = map();
        for (let y = 0; y < oh!; y++)
          for (let xx = 0; xx < ow!; xx++)
            for (let c = 0; c < oc!; c++) {
              let s = -Infinity;
              for (let dy = 0; dy < n.size; dy++)
                for (let dx = 0; dx < n.size; dx++) {
                  const iy = y * n.strides + dy;
                  const ix = xx * n.strides + dx;
                  if (iy < m.h && ix < m.w) s = Math.max(s, at(m, iy, ix, c));
                }
              o.d[(y * ow! + xx) * oc! + c] = s;
            }
        out = o;
        break;
      }
      case 'zeropad': {
        const m = x as Map3;
        const o = map();
        for (let y = 0; y < oh!; y++) for (let xx = 0; xx < ow!; xx++) for (let c = 0; c < oc!; c++) o.d[(y * ow! + xx) * oc! + c] = at(m, y - n.pads[0], xx - n.pads[2], c);
        out = o;
        break;
      }
      case 'gap': {
        const m = x as Map3;
        const o = new Float64Array(m.c);
        for (let i = 0; i < m.h * m.w; i++) for (let c = 0; c < m.c; c++) o[c]! += m.d[i * m.c + c]! / (m.h * m.w);
        out = o;
        break;
      }
      case 'concat': {
        const a = x as Map3;
        const b = vals.get(n.inputs[1]!) as Map3;
        const o = map();
        for (let i = 0; i < a.h * a.w; i++) {
          for (let c = 0; c < a.c; c++) o.d[i * oc! + c] = a.d[i * a.c + c]!;
          for (let c = 0; c < b.c; c++) o.d[i * oc! + a.c + c] = b.d[i * b.c + c]!;
        }
        out = o;
        break;
      }
      case 'add': {
        const a = x as Map3;
        const b = vals.get(n.inputs[1]!) as Map3;
        out = { ...a, d: a.d.map((v, i) => v + b.d[i]!) };
        break;
      }
      case 'flatten':
        out = x instanceof Float64Array ? x : Float64Array.from(x.d);
        break;
      case 'dense': {
        const v = x as Float64Array;
        const [fi, fo] = n.kernelShape;
        const z = Float64Array.from({ length: fo }, (_, o) => {
          let s = n.bias ? n.bias[o]! : 0;
          for (let i = 0; i < fi; i++) s += v[i]! * n.kernel[i * fo + o]!;
          return s;
        });
        if (n.activation === 'softmax') {
          const m = Math.max(...z);
          const e = z.map((t) => Math.exp(t - m));
          const sum = e.reduce((a, b) => a + b, 0);
          out = e.map((t) => t / sum);
        } else if (n.activation === 'sigmoid') out = z.map((t) => 1 / (1 + Math.exp(-t)));
        else out = z.map((t) => act(t, n.activation));
        break;
      }
      default:
        throw new Error(`no reference for ${n.op}`);
    }
    vals.set(n.name, out);
  }
  const last = vals.get(g.nodes[g.nodes.length - 1]!.name)!;
  return last as Float64Array;
}

function conv(name: string, input: string, shape: number[], k: number, ci: number, co: number, strides: number, pads: Pads, activation: 'linear' | 'relu' | 'relu6', seed: number): ExportNode {
  return { op: 'conv2d', name, inputs: [input], shape, kernel: values(k * k * ci * co, seed), kernelShape: [k, k, ci, co], bias: values(co, seed + 1, 0.1), strides, pads, activation };
}

/** 10×10 RGB → … → softmax over 3 classes. */
function smallGraph(): ExportGraph {
  const nodes: ExportNode[] = [
    { op: 'preprocess', name: 'preprocess', inputs: ['image'], shape: [10, 10, 3], source: [2, 1, 0], scale: [1 / 64, 1 / 64, 1 / 64], offset: [-2, -1.8, -1.9] },
    conv('c1', 'preprocess', [10, 10, 4], 3, 3, 4, 1, [1, 1, 1, 1], 'relu', 10), // 'same'
    { op: 'maxpool', name: 'p1', inputs: ['c1'], shape: [5, 5, 4], size: 3, strides: 2, pads: [0, 1, 0, 1], nonNegativeInput: true }, // ceil: 10 → 5 (floor: 4)
    conv('sq', 'p1', [5, 5, 2], 1, 4, 2, 1, [0, 0, 0, 0], 'relu', 20),
    conv('e1', 'sq', [5, 5, 3], 1, 2, 3, 1, [0, 0, 0, 0], 'relu', 30),
    conv('e3', 'sq', [5, 5, 3], 3, 2, 3, 1, [1, 1, 1, 1], 'relu', 40),
    { op: 'concat', name: 'cat', inputs: ['e1', 'e3'], shape: [5, 5, 6] },
    { op: 'depthwise2d', name: 'dw', inputs: ['cat'], shape: [3, 3, 6], kernel: values(54, 50), kernelShape: [3, 3, 6, 1], bias: values(6, 51, 0.1), strides: 2, pads: [1, 1, 1, 1], activation: 'relu6' },
    conv('pr', 'dw', [3, 3, 6], 1, 6, 6, 1, [0, 0, 0, 0], 'linear', 60),
    { op: 'add', name: 'res', inputs: ['dw', 'pr'], shape: [3, 3, 6] },
    { op: 'zeropad', name: 'zp', inputs: ['res'], shape: [4, 5, 6], pads: [0, 1, 1, 1] },
    conv('c2', 'zp', [2, 3, 5], 3, 6, 5, 1, [0, 0, 0, 0], 'relu6', 70), // 'valid'
    { op: 'flatten', name: 'flat', inputs: ['c2'], shape: [30] },
    { op: 'dense', name: 'd1', inputs: ['flat'], shape: [8], kernel: values(240, 80), kernelShape: [30, 8], bias: values(8, 81, 0.1), activation: 'relu' },
    { op: 'dense', name: 'd2', inputs: ['d1'], shape: [3], kernel: values(24, 90, 2), kernelShape: [8, 3], bias: values(3, 91, 0.1), activation: 'softmax' },
  ];
  return { name: 'small', inputShape: [10, 10, 3], nodes, metadata: { labels: '["a","b","c"]' } };
}

function pixels(n: number, size: number): Float32Array {
  return Float32Array.from(values(n * size * size * 3, 7, 1), (v) => Math.round((v + 1) * 127.5));
}

describe('export writers', () => {
  it('ONNX: onnxruntime-node computes the plain forward; the file reads back typed and in order', async () => {
    const g = smallGraph();
    const bytes = writeOnnxClassifier(g);
    const m = parseOnnx(bytes, 'small.onnx');
    expect(m.opset).toBe(13);
    expect(m.metadata['labels']).toBe('["a","b","c"]');
    expect(m.graph.outputs[0]).toMatchObject({ name: 'probabilities', shape: ['N', 3] });
    const x = pixels(2, 10);
    const s = await ort.InferenceSession.create(bytes);
    const y = (await s.run({ image: new ort.Tensor('float32', x, [2, 10, 10, 3]) }))['probabilities']!;
    await s.release();
    expect(y.dims).toEqual([2, 3]);
    for (let i = 0; i < 2; i++) {
      const want = reference(g, Float64Array.from(x.subarray(i * 300, (i + 1) * 300)));
      for (let c = 0; c < 3; c++) expect(Math.abs((y.data as Float32Array)[i * 3 + c]! - want[c]!)).toBeLessThan(1e-5);
    }
  });

  it('TF.js layers: tf.loadLayersModel computes the plain forward; our TF.js reader reads the weights back across shards', async () => {
    const g = smallGraph();
    const { modelJson, shards } = writeTfjsLayersModel(g, { shardBytes: 256 });
    expect(shards.length).toBeGreaterThan(3);
    expect(shards.map(([n]) => n)).toEqual(shards.map((_, i) => `group1-shard${i + 1}of${shards.length}.bin`));
    const manifest = modelJson['weightsManifest'] as { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
    const all = new Uint8Array(shards.reduce((a, [, b]) => a + b.length, 0));
    let o = 0;
    for (const [, b] of shards) {
      all.set(b, o);
      o += b.length;
    }
    const files = new Map(shards.map(([n, b]) => [n, b]));
    const back = await loadTfjsLayers(parseTfjsModelJson(JSON.stringify(modelJson)), files);
    const d2 = g.nodes[g.nodes.length - 1] as { kernel: Float32Array };
    expect(back.tensors.get('d2/kernel')?.shape).toEqual([8, 3]);
    expect(Array.from(back.tensors.get('d2/kernel')!.data as Float32Array)).toEqual(Array.from(d2.kernel));
    const model = await tf.loadLayersModel({ load: async () => ({ modelTopology: modelJson['modelTopology'] as object, weightSpecs: manifest[0]!.weights, weightData: all.buffer }) });
    const x = pixels(2, 10);
    const y = model.predict(tf.tensor4d(x, [2, 10, 10, 3])) as tf.Tensor;
    const got = await y.data();
    for (let i = 0; i < 2; i++) {
      const want = reference(g, Float64Array.from(x.subarray(i * 300, (i + 1) * 300)));
      for (let c = 0; c < 3; c++) expect(Math.abs(got[i * 3 + c]! - want[c]!)).toBeLessThan(1e-5);
    }
    model.dispose();
  });

  it('refuses what TF.js layers cannot express, naming the node', () => {
    const g = smallGraph();
    (g.nodes[2] as { nonNegativeInput: boolean }).nonNegativeInput = false;
    expect(() => writeTfjsLayersModel(g)).toThrow(/max pool 'p1' pads \(ceil mode\) an input that may be negative/);
    const bad = smallGraph();
    bad.nodes[3]!.inputs = ['nowhere'];
    expect(() => writeOnnxClassifier(bad)).toThrow(/node 'sq' reads 'nowhere' before it is made/);
  });
});
