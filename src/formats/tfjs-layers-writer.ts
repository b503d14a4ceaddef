// An ExportGraph (export-graph.ts) as a TensorFlow.js layers model: model.json (a functional "Model" topology, so
// branches — fire modules' concatenation, inverted residuals' add — are expressed with inbound_nodes) and the weights
// in `group1-shardKofN.bin` files of at most 4 MB, in manifest order (the layout tfjs-layers.ts reads back).
//
// Only layers that tf.loadLayersModel deserialises (tfjs-layers 4) are used: InputLayer, Conv2D, DepthwiseConv2D,
// ZeroPadding2D, MaxPooling2D, GlobalAveragePooling2D, Concatenate, Add, Flatten, Dense; activations relu, relu6,
// sigmoid, softmax, linear. The run's preprocessing (rescale / ImageNet mean-std / caffe's BGR and mean) is a fixed
// 1×1 Conv2D named `preprocess` at the start, so the model takes RGB pixels in 0–255 like the ONNX file (TF.js 4's
// layers have no Rescaling or Normalization layer to deserialise, and a Lambda cannot be saved).
import { checkExportGraph, EXPORT_INPUT, type ExportGraph, type ExportNode, type Pads } from './export-graph.js';

export const TFJS_SHARD_BYTES = 4 * 1024 * 1024;

export interface TfjsLayersFiles {
  /** model.json's object (JSON.stringify it). */
  modelJson: Record<string, unknown>;
  /** Shard file name → bytes, in order. */
  shards: [string, Uint8Array][];
}

type Json = Record<string, unknown>;

/** Keras 'same' padding of one axis: [before, after]. */
function samePads(size: number, k: number, s: number): [number, number] {
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + k - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

export function writeTfjsLayersModel(g: ExportGraph, opts: { generatedBy?: string; shardBytes?: number } = {}): TfjsLayersFiles {
  checkExportGraph(g);
  const layers: Json[] = [];
  const weights: { name: string; shape: number[]; dtype: 'float32'; data: Float32Array }[] = [];
  const shapes = new Map<string, readonly number[]>([[EXPORT_INPUT, g.inputShape]]);
  const names = new Set<string>([EXPORT_INPUT]);

  layers.push({
    class_name: 'InputLayer',
    config: { batch_input_shape: [null, ...g.inputShape], dtype: 'float32', sparse: false, name: EXPORT_INPUT },
    name: EXPORT_INPUT,
    inbound_nodes: [],
  });
  const add = (className: string, name: string, inputs: string[], config: Json, w: [string, number[], Float32Array][] = []): string => {
    if (names.has(name)) throw new Error(`TF.js export: two layers are named '${name}'`);
    names.add(name);
    layers.push({
      class_name: className,
      config: { name, trainable: true, dtype: 'float32', ...config },
      name,
      inbound_nodes: [inputs.map((i) => [i, 0, 0, {}])],
    });
    for (const [local, shape, data] of w) weights.push({ name: `${name}/${local}`, shape, dtype: 'float32', data });
    return name;
  };
  /** Zero padding before a 'valid' op, or the op's own 'same' when the pads are Keras' 'same'. */
  const padding = (n: ExportNode, input: string, pads: Pads, k: number, s: number): { input: string; padding: 'valid' | 'same' } => {
    const [t, b, l, r] = pads;
    if (t === 0 && b === 0 && l === 0 && r === 0) return { input, padding: 'valid' };
    const [h, w] = shapes.get(input)!;
    const [st, sb] = samePads(h!, k, s);
    const [sl, sr] = samePads(w!, k, s);
    if (st === t && sb === b && sl === l && sr === r) return { input, padding: 'same' };
    const p = add('ZeroPadding2D', `${n.name}_pad`, [input], { padding: [[t, b], [l, r]], data_format: 'channels_last' });
    shapes.set(p, [h! + t + b, w! + l + r, shapes.get(input)![2]!]);
    return { input: p, padding: 'valid' };
  };

  for (const n of g.nodes) {
    const x = n.inputs[0]!;
    switch (n.op) {
      case 'preprocess': {
        const k = new Float32Array(9); // HWIO [1, 1, 3, 3]
        for (let o = 0; o < 3; o++) k[n.source[o]! * 3 + o] = n.scale[o]!;
        add('Conv2D', n.name, [x], conv2dConfig(3, 1, 1, 'valid', 'linear', true), [
          ['kernel', [1, 1, 3, 3], k],
          ['bias', [3], Float32Array.from(n.offset)],
        ]);
        break;
      }
      case 'conv2d': {
        const [kh, kw, ci, co] = n.kernelShape;
        if (kh !== kw) throw new Error(`TF.js export: conv '${n.name}' has a ${kh}×${kw} kernel; only square kernels are written`);
        const p = padding(n, x, n.pads, kh, n.strides);
        const w: [string, number[], Float32Array][] = [['kernel', [kh, kw, ci, co], n.kernel]];
        if (n.bias) w.push(['bias', [co], n.bias]);
        add('Conv2D', n.name, [p.input], conv2dConfig(co, kh, n.strides, p.padding, n.activation, n.bias !== null), w);
        break;
      }
      case 'depthwise2d': {
        const [kh, kw, c] = n.kernelShape;
        if (kh !== kw) throw new Error(`TF.js export: depthwise conv '${n.name}' has a ${kh}×${kw} kernel; only square kernels are written`);
        const p = padding(n, x, n.pads, kh, n.strides);
        const w: [string, number[], Float32Array][] = [['depthwise_kernel', [kh, kw, c, 1], n.kernel]];
        if (n.bias) w.push(['bias', [c], n.bias]);
        add(
          'DepthwiseConv2D',
          n.name,
          [p.input],
          {
            kernel_size: [kh, kw],
            strides: [n.strides, n.strides],
            padding: p.padding,
            depth_multiplier: 1,
            data_format: 'channels_last',
            dilation_rate: [1, 1],
            activation: n.activation,
            use_bias: n.bias !== null,
          },
          w,
        );
        break;
      }
      case 'maxpool': {
        const [t, b, l, r] = n.pads;
        let input = x;
        if (t || b || l || r) {
          // TF.js pools pad nothing but 'same'; a ceil-mode pool's extra bottom/right cells are zeros here, which is
          // exact only because its input is never negative (it comes out of a ReLU).
          if (!n.nonNegativeInput) throw new Error(`TF.js export: max pool '${n.name}' pads (ceil mode) an input that may be negative; TF.js layers cannot express it`);
          const [h, w, c] = shapes.get(x)!;
          input = add('ZeroPadding2D', `${n.name}_pad`, [x], { padding: [[t, b], [l, r]], data_format: 'channels_last' });
          shapes.set(input, [h! + t + b, w! + l + r, c!]);
        }
        add('MaxPooling2D', n.name, [input], { pool_size: [n.size, n.size], strides: [n.strides, n.strides], padding: 'valid', data_format: 'channels_last' });
        break;
      }
      case 'zeropad': {
        const [t, b, l, r] = n.pads;
        add('ZeroPadding2D', n.name, [x], { padding: [[t, b], [l, r]], data_format: 'channels_last' });
        break;
      }
      case 'gap':
        add('GlobalAveragePooling2D', n.name, [x], { data_format: 'channels_last' });
        break;
      case 'gmp':
        add('GlobalMaxPooling2D', n.name, [x], { data_format: 'channels_last' });
        break;
      case 'onnx':
        throw new Error(`TF.js export: the base '${n.name}' is an imported ONNX graph (ops ${n.ops.join(', ')}), which TF.js layers cannot express; export it with --format onnx`);
      case 'concat':
        add('Concatenate', n.name, n.inputs, { axis: -1 });
        break;
      case 'add':
        add('Add', n.name, n.inputs, {});
        break;
      case 'flatten':
        add('Flatten', n.name, [x], { data_format: 'channels_last' });
        break;
      case 'dense': {
        const [fi, fo] = n.kernelShape;
        const w: [string, number[], Float32Array][] = [['kernel', [fi, fo], n.kernel]];
        if (n.bias) w.push(['bias', [fo], n.bias]);
        add('Dense', n.name, [x], { units: fo, activation: n.activation, use_bias: n.bias !== null, kernel_initializer: glorot(), bias_initializer: zerosInit() }, w);
        break;
      }
    }
    shapes.set(n.name, n.shape);
  }

  const last = g.nodes[g.nodes.length - 1]!.name;
  // Weights back to back, cut into shards.
  const total = weights.reduce((a, w) => a + w.data.byteLength, 0);
  const all = new Uint8Array(total);
  let at = 0;
  for (const w of weights) {
    all.set(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength), at);
    at += w.data.byteLength;
  }
  const per = opts.shardBytes ?? TFJS_SHARD_BYTES;
  const count = Math.max(1, Math.ceil(total / per));
  const shards: [string, Uint8Array][] = [];
  for (let i = 0; i < count; i++) shards.push([`group1-shard${i + 1}of${count}.bin`, all.slice(i * per, Math.min(total, (i + 1) * per))]);

  const modelJson = {
    format: 'layers-model',
    generatedBy: opts.generatedBy ?? 'webgpu-transfer',
    convertedBy: null,
    modelTopology: {
      class_name: 'Model',
      config: { name: g.name, layers, input_layers: [[EXPORT_INPUT, 0, 0]], output_layers: [[last, 0, 0]] },
      keras_version: 'tfjs-layers',
      backend: 'tensor_flow.js',
    },
    weightsManifest: [{ paths: shards.map(([name]) => name), weights: weights.map(({ name, shape, dtype }) => ({ name, shape, dtype })) }],
  };
  return { modelJson, shards };
}

function glorot(): Json {
  return { class_name: 'GlorotUniform', config: { seed: null } };
}
function zerosInit(): Json {
  return { class_name: 'Zeros', config: {} };
}

function conv2dConfig(filters: number, k: number, s: number, padding: 'valid' | 'same', activation: string, useBias: boolean): Json {
  return {
    filters,
    kernel_size: [k, k],
    strides: [s, s],
    padding,
    data_format: 'channels_last',
    dilation_rate: [1, 1],
    activation,
    use_bias: useBias,
    kernel_initializer: glorot(),
    bias_initializer: zerosInit(),
  };
}
