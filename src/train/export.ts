// Export a run's trained classifier (base + head, as trained) to ONNX and to a TF.js layers model: the model is walked
// layer by layer into a format-neutral ExportGraph (src/formats/export-graph.ts; the run's preprocessing first, the
// head's sigmoid or softmax last), which the pure writers turn into bytes. Nothing here touches files: the result is
// the files' bytes by relative path (the CLI writes them into a folder atomically; the tab can zip them).
import { checkExportGraph, type ExportGraph, type ExportNode, type Pads } from '../formats/export-graph.js';
import { ONNX_EXPORT_OPSET, onnxOpsetOf, writeOnnxClassifier } from '../formats/onnx-writer.js';
import { writeTfjsLayersModel } from '../formats/tfjs-layers-writer.js';
import { Graph } from '../nn/graph.js';
import type { Layer } from '../nn/layer.js';
import { Conv2D, Dense, DepthwiseConv2D, Dropout, Fire, Flatten, GlobalAveragePooling2D, InvertedResidual, MaxPool2D, ZeroPadding2D } from '../nn/layers/index.js';
import { Sequential } from '../nn/sequential.js';
import { isOnnxModelRef, parseOnnxRef } from '../models/types.js';
import { CAFFE_BGR_MEAN, IMAGENET_MEAN, IMAGENET_STD, RESCALE, type PreprocessMode } from '../util/preprocess.js';
import { headOutputs, type RunConfig } from './config.js';
import type { JobEnv, RunHandle } from './job-env.js';
import { loadRunModel, openRun } from './jobs.js';

export type ExportFormat = 'onnx' | 'tfjs';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['onnx', 'tfjs'];
/** The TF.js version whose layers format the export targets (recorded in metadata.json as Teachable Machine does). */
export const TFJS_TARGET_VERSION = '4.22.0';

export const ONNX_FILE = 'model.onnx';
export const TFJS_DIR = 'tfjs';
export const EXPORT_README = 'README.txt';

/** What the export records about where the model came from. */
export interface ExportLineage {
  run: string;
  checkpointSha256: string;
  epoch: number;
}

/** The preprocessing of `mode` as one channel map on 0–255 RGB pixels. */
export function preprocessMap(mode: PreprocessMode): { source: [number, number, number]; scale: [number, number, number]; offset: [number, number, number] } {
  if (mode === 'rescale') return { source: [0, 1, 2], scale: [RESCALE, RESCALE, RESCALE], offset: [0, 0, 0] };
  if (mode === 'imagenet') {
    const s = IMAGENET_STD.map((d) => 1 / (255 * d)) as [number, number, number];
    const o = IMAGENET_MEAN.map((m, c) => -m / IMAGENET_STD[c]!) as [number, number, number];
    return { source: [0, 1, 2], scale: s, offset: o };
  }
  if (mode === 'caffe') return { source: [2, 1, 0], scale: [1, 1, 1], offset: CAFFE_BGR_MEAN.map((m) => -m) as [number, number, number] };
  throw new Error(`unknown preprocessing mode '${String(mode)}'`);
}

const safe = (name: string): string => name.replace(/[^A-Za-z0-9_]/g, '_');

/** Keras 'same' pads [top, bottom, left, right] of a k×k window at stride s over [h, w]. */
function samePads(h: number, w: number, k: number, s: number): Pads {
  const axis = (d: number): [number, number] => {
    const total = Math.max((Math.ceil(d / s) - 1) * s + k - d, 0);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  };
  const [t, b] = axis(h);
  const [l, r] = axis(w);
  return [t, b, l, r];
}

/**
 * The run's classifier as an ExportGraph: preprocessing, every layer of the base and the head (dropout left out: it
 * is the identity at inference), then the sigmoid (binary, [N, 1]) or softmax ([N, C]) that `predict` applies.
 * Layers the writers cannot express are refused naming the layer and its kind.
 */
export async function exportGraphOf(
  model: Sequential,
  config: Pick<RunConfig, 'name' | 'model' | 'input_size' | 'preprocess' | 'classes' | 'class_mode'> & { unfreeze?: string[] },
  lineage: ExportLineage,
  opts: { onnxSource?: Uint8Array } = {},
): Promise<ExportGraph> {
  const size = config.input_size;
  const nodes: ExportNode[] = [];
  const pending: Promise<void>[] = [];
  /** Whether a node's output is never negative (a ReLU or ReLU6 ends it, or it is a max / concat of such). */
  const nonNegative = new Set<string>();
  const read = (layer: Layer, local: string, into: (a: Float32Array) => void): void => {
    pending.push(layer.param(local).readF32().then(into));
  };
  const push = <T extends ExportNode>(n: T, nonNeg = false): string => {
    nodes.push(n);
    if (nonNeg) nonNegative.add(n.name);
    return n.name;
  };
  const shapeOf = (l: Layer): number[] => {
    if (!l.inputShape || !l.outputShape) throw new Error(`export: layer '${l.name}' is not built`);
    return l.outputShape;
  };

  const conv = (l: Conv2D, x: string): string => {
    const [h, w, ci] = l.inputShape!;
    const k = l.kernelSize;
    const node: ExportNode = {
      op: 'conv2d',
      name: safe(l.name),
      inputs: [x],
      shape: shapeOf(l),
      kernel: new Float32Array(0),
      kernelShape: [k, k, ci!, l.filters],
      bias: null,
      strides: l.strides,
      pads: l.padding === 'same' ? samePads(h!, w!, k, l.strides) : [0, 0, 0, 0],
      activation: l.activation,
    };
    read(l, 'kernel', (a) => (node.kernel = a));
    if (l.useBias) read(l, 'bias', (a) => (node.bias = a));
    return push(node, l.activation !== 'linear');
  };
  const depthwise = (l: DepthwiseConv2D, x: string): string => {
    const c = l.inputShape![2]!;
    const node: ExportNode = {
      op: 'depthwise2d',
      name: safe(l.name),
      inputs: [x],
      shape: shapeOf(l),
      kernel: new Float32Array(0),
      kernelShape: [3, 3, c, 1],
      bias: null,
      strides: l.strides,
      pads: [1, 1, 1, 1],
      activation: l.activation as 'linear' | 'relu' | 'relu6',
    };
    if (!['linear', 'relu', 'relu6'].includes(l.activation)) throw new Error(`export: depthwise conv '${l.name}' has activation '${l.activation}', which the export does not write`);
    read(l, 'depthwise_kernel', (a) => (node.kernel = a));
    if (l.useBias) read(l, 'bias', (a) => (node.bias = a));
    return push(node, l.activation !== 'linear');
  };

  const walk = (l: Layer, x: string): string => {
    if (l instanceof Graph) {
      const ops = [...new Set(l.nodes.map((n) => n.op))];
      if (!opts.onnxSource) {
        throw new Error(`export: the base '${l.name}' is an imported ONNX graph (ops ${ops.join(', ')}); it exports to ONNX only (--format onnx), from its source file`);
      }
      const trained = [...l.walk()].map((c) => c.name).filter((n) => config.unfreeze?.includes(n));
      if (trained.length) {
        throw new Error(`export: the imported ONNX base '${l.name}' was fine-tuned (${trained.slice(0, 3).join(', ')}${trained.length > 3 ? ', …' : ''}); exporting a fine-tuned ONNX base is not supported yet (a frozen one is: recipes 1 and 2)`);
      }
      return push({ op: 'onnx', name: safe(l.name), inputs: [x], shape: shapeOf(l), source: opts.onnxSource, output: l.output, ops });
    }
    if (l instanceof Sequential) {
      let h = x;
      for (const c of l.layers) h = walk(c, h);
      return h;
    }
    if (l instanceof Conv2D) return conv(l, x);
    if (l instanceof DepthwiseConv2D) return depthwise(l, x);
    if (l instanceof MaxPool2D) {
      const [h, w] = l.inputShape!;
      const [oh, ow] = shapeOf(l);
      const extra = (d: number, o: number): number => Math.max((o - 1) * l.strides + l.poolSize - d, 0);
      return push(
        { op: 'maxpool', name: safe(l.name), inputs: [x], shape: shapeOf(l), size: l.poolSize, strides: l.strides, pads: [0, extra(h!, oh!), 0, extra(w!, ow!)], nonNegativeInput: nonNegative.has(x) },
        nonNegative.has(x),
      );
    }
    if (l.kind === 'GlobalMaxPooling2D' && l.inputShape?.length === 3) return push({ op: 'gmp', name: safe(l.name), inputs: [x], shape: shapeOf(l) }, nonNegative.has(x));
    if ((l instanceof GlobalAveragePooling2D || l.kind === 'GlobalAveragePooling2D') && l.inputShape?.length === 3) return push({ op: 'gap', name: safe(l.name), inputs: [x], shape: shapeOf(l) }, nonNegative.has(x));
    if (l instanceof ZeroPadding2D) return push({ op: 'zeropad', name: safe(l.name), inputs: [x], shape: shapeOf(l), pads: [...l.pads] }, nonNegative.has(x));
    if (l instanceof Flatten) return push({ op: 'flatten', name: safe(l.name), inputs: [x], shape: shapeOf(l) }, nonNegative.has(x));
    if (l instanceof Dropout) return x;
    if (l instanceof Fire) {
      const s = conv(l.squeeze, x);
      const a = conv(l.expand1, s);
      const b = conv(l.expand3, s);
      return push({ op: 'concat', name: safe(`${l.name}/concat`), inputs: [a, b], shape: shapeOf(l) }, true);
    }
    if (l instanceof InvertedResidual) {
      let h = x;
      if (l.expand) h = conv(l.expand, h);
      h = depthwise(l.depthwise, h);
      h = conv(l.project, h);
      if (!l.hasResidual) return h;
      return push({ op: 'add', name: safe(`${l.name}_add`), inputs: [x, h], shape: shapeOf(l) });
    }
    if (l instanceof Dense) {
      const [fi] = l.inputShape!;
      const node: ExportNode = {
        op: 'dense',
        name: safe(l.name),
        inputs: [x],
        shape: shapeOf(l),
        kernel: new Float32Array(0),
        kernelShape: [fi!, l.units],
        bias: null,
        activation: l.activation,
      };
      read(l, 'kernel', (a) => (node.kernel = a));
      if (l.useBias) read(l, 'bias', (a) => (node.bias = a));
      return push(node, l.activation === 'relu');
    }
    throw new Error(`export: layer '${l.name}' is a ${l.kind}, which the ONNX / TF.js export cannot write yet`);
  };

  const pre = preprocessMap(config.preprocess);
  const first = push({ op: 'preprocess', name: 'preprocess', inputs: ['image'], shape: [size, size, 3], ...pre });
  walk(model, first);
  await Promise.all(pending);

  // The head's last Dense returns logits: fold in what `predict` applies to them.
  const last = nodes[nodes.length - 1]!;
  const units = headOutputs(config);
  if (last.op !== 'dense' || last.activation !== 'linear' || last.kernelShape[1] !== units) {
    throw new Error(`export: the model does not end in the head's Dense(${units}) returning logits (last layer: '${last.name}', ${last.op})`);
  }
  last.activation = units === 1 ? 'sigmoid' : 'softmax';
  const graph: ExportGraph = {
    name: safe(config.name),
    inputShape: [size, size, 3],
    nodes,
    metadata: {
      labels: JSON.stringify(config.classes),
      input_size: String(size),
      input: `image: float32 [N, ${size}, ${size}, 3], RGB pixels in 0-255 (NHWC); the preprocessing is inside the model`,
      output: units === 1 ? `probabilities: [N, 1], p(${config.classes[1]}) (sigmoid)` : `probabilities: [N, ${units}], softmax over labels`,
      preprocess: config.preprocess,
      class_mode: units === 1 ? 'binary' : 'categorical',
      backbone: config.model,
      run: lineage.run,
      checkpoint_sha256: lineage.checkpointSha256,
      checkpoint_epoch: String(lineage.epoch),
    },
  };
  checkExportGraph(graph);
  return graph;
}

export interface ExportJobOptions {
  /** The run (a name or location). */
  from: string;
  formats: readonly ExportFormat[];
  /** Recorded in metadata (default: now). */
  timeStamp?: string;
  /**
   * Reads a file's bytes: an imported ONNX base (config.model `PATH.onnx[#cut=…]`) is re-emitted from its source file
   * (ONNX only). Without it such a run is refused.
   */
  readFile?: (path: string) => Promise<Uint8Array>;
}

export interface ExportJobResult {
  run: RunHandle;
  config: RunConfig;
  checkpoint: { epoch: number; sha256: string };
  /** Relative path → bytes: model.onnx, tfjs/model.json, tfjs/group1-shard*of*.bin, tfjs/metadata.json, README.txt. */
  files: Map<string, Uint8Array>;
}

/** A run's classifier as ONNX and/or TF.js layers files (bytes only; nothing is written). */
export async function exportJob(env: JobEnv, o: ExportJobOptions): Promise<ExportJobResult> {
  const formats = [...new Set(o.formats)];
  if (formats.length === 0) throw new Error('choose at least one export format (onnx, tfjs)');
  for (const f of formats) if (!EXPORT_FORMATS.includes(f)) throw new Error(`unknown export format '${String(f)}'; choose onnx, tfjs or all`);
  const { run, config } = await openRun(env, o.from);
  let onnxSource: Uint8Array | undefined;
  if (isOnnxModelRef(config.model)) {
    if (formats.includes('tfjs')) {
      throw new Error(`the run's base is an imported ONNX network (${config.model}); TF.js layers cannot express an arbitrary ONNX graph: export it with --format onnx`);
    }
    if (!o.readFile) throw new Error(`the run's base is an imported ONNX network (${config.model}); its export needs the source file, which this environment cannot read`);
    onnxSource = await o.readFile(parseOnnxRef(config.model).path);
  }
  const { model, checkpoint } = await loadRunModel(env, { run, config });
  let graph: ExportGraph;
  try {
    graph = await exportGraphOf(model, config, { run: run.name, checkpointSha256: checkpoint.sha256, epoch: checkpoint.epoch }, onnxSource ? { onnxSource } : {});
  } finally {
    model.dispose();
  }
  const enc = new TextEncoder();
  const files = new Map<string, Uint8Array>();
  let opset = ONNX_EXPORT_OPSET;
  if (formats.includes('onnx')) {
    const bytes = writeOnnxClassifier(graph, { docString: `${config.model} classifier of run '${run.name}' (webgpu-transfer)` });
    // An imported base keeps its file's opset when that is later than 13.
    opset = onnxOpsetOf(bytes);
    files.set(ONNX_FILE, bytes);
  }
  if (formats.includes('tfjs')) {
    const { modelJson, shards } = writeTfjsLayersModel(graph);
    files.set(`${TFJS_DIR}/model.json`, enc.encode(JSON.stringify(modelJson)));
    for (const [name, bytes] of shards) files.set(`${TFJS_DIR}/${name}`, bytes);
    const metadata = {
      tfjsVersion: TFJS_TARGET_VERSION,
      packageName: 'webgpu-transfer',
      timeStamp: o.timeStamp ?? new Date().toISOString(),
      userMetadata: {},
      modelName: run.name,
      labels: config.classes,
      imageSize: config.input_size,
      // Beyond Teachable Machine's fields: what the model takes and where it came from.
      inputRange: [0, 255],
      preprocess: config.preprocess,
      preprocessInModel: true,
      output: graph.metadata['output'],
      backbone: config.model,
      run: run.name,
      checkpointSha256: checkpoint.sha256,
    };
    files.set(`${TFJS_DIR}/metadata.json`, enc.encode(`${JSON.stringify(metadata, null, 2)}\n`));
  }
  files.set(EXPORT_README, enc.encode(exportReadme(config, formats, opset)));
  return { run, config, checkpoint, files };
}

function exportReadme(config: RunConfig, formats: readonly ExportFormat[], opset: number): string {
  const s = config.input_size;
  const units = headOutputs(config);
  const out = units === 1 ? `[N, 1]: the probability of '${config.classes[1]}' (sigmoid; '${config.classes[0]}' is 1 - p)` : `[N, ${units}]: softmax over the labels`;
  const lines = [
    `Classifier exported by webgpu-transfer from run '${config.name}' (${config.model}, ${config.preprocess} preprocessing).`,
    '',
    `Input:  float32 [N, ${s}, ${s}, 3], RGB pixels in 0-255 (NHWC, not normalised: the ${config.preprocess} preprocessing is`,
    `        inside the model). Resize images to ${s}x${s} first (training used nearest-neighbour resizing).`,
    `Output: ${out}.`,
    `Labels (class index order): ${JSON.stringify(config.classes)}`,
    '',
  ];
  if (formats.includes('onnx')) {
    lines.push(
      `model.onnx (ONNX opset ${opset}; input 'image', output 'probabilities'; labels in its metadata_props):`,
      '',
      '  Python (onnxruntime):',
      '    import onnxruntime as ort, numpy as np',
      "    sess = ort.InferenceSession('model.onnx')",
      `    x = np.asarray(img.convert('RGB').resize((${s}, ${s}), 0), np.float32)[None]   # PIL image -> [1, ${s}, ${s}, 3]`,
      "    p = sess.run(['probabilities'], {'image': x})[0]",
      '',
      '  Node.js (onnxruntime-node):',
      "    const ort = require('onnxruntime-node');",
      "    const sess = await ort.InferenceSession.create('model.onnx');",
      `    const x = new ort.Tensor('float32', Float32Array.from(rgbBytes), [1, ${s}, ${s}, 3]);`,
      "    const p = (await sess.run({ image: x })).probabilities.data;",
      '',
    );
  }
  if (formats.includes('tfjs')) {
    lines.push(
      'tfjs/ (TensorFlow.js layers model; tfjs/metadata.json has Teachable Machine\'s fields: labels, imageSize, ...):',
      '',
      "    import * as tf from '@tensorflow/tfjs';",
      "    const model = await tf.loadLayersModel('tfjs/model.json');   // a URL, or tf.io.browserFiles([...])",
      `    const x = tf.browser.fromPixels(imgElement).resizeNearestNeighbor([${s}, ${s}]).toFloat().expandDims(0);`,
      '    const p = await model.predict(x).data();',
      '    // Unlike a Teachable Machine model, feed pixels in 0-255: do not scale them to [-1, 1].',
      '',
    );
  }
  return `${lines.join('\n')}\n`;
}
