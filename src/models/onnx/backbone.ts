/**
 * Any ImageNet CNN in an ONNX file as a backbone: the imported graph cut at the classifier's input (or `cut`), a
 * spatial cut pooled like Keras' `pooling=` ('avg' default, 'max' or 'none'), in a Sequential like the built-in bases.
 */
import type { Engine } from '../../engine/engine.js';
import type { Tensor } from '../../engine/tensor.js';
import type { OnnxModel } from '../../formats/onnx.js';
import { defaultCut } from '../../formats/onnx-info.js';
import { importOnnx } from '../../formats/onnx/import.js';
import { OnnxImportError } from '../../formats/onnx/ops.js';
import * as F from '../../nn/functional/index.js';
import type { Graph } from '../../nn/graph.js';
import { Layer, shapeText, type ForwardContext } from '../../nn/layer.js';
import { GlobalAveragePooling2D } from '../../nn/layers/pooling.js';
import { Sequential } from '../../nn/sequential.js';
import { Rng } from '../../util/rng.js';
import type { Backbone, OnnxModelRef, WeightsStatus } from '../types.js';
import { onnxGraph } from './build.js';

export type FeaturePooling = 'avg' | 'max' | 'none';
export const FEATURE_POOLINGS: readonly FeaturePooling[] = ['avg', 'max', 'none'];

export interface OnnxBackboneOptions {
  /** Square input size when the file's spatial size is symbolic (default 224), or to override it. */
  inputSize?: number;
  /** The tensor the base ends at (default: the classifier's input, see `defaultCut`). */
  cut?: string;
  /** How a spatial cut becomes a feature vector (default 'avg'). */
  pool?: FeaturePooling;
  /** Where the file came from (shown in the weights status). */
  source?: string;
}

/** Global max pooling of an NHWC map → [N, C]. */
class GlobalMaxPooling2D extends Layer {
  readonly kind = 'GlobalMaxPooling2D';

  computeOutputShape(input: readonly number[]): number[] {
    if (input.length !== 3) throw new Error(`GlobalMaxPooling2D '${this.name}': expects (H, W, C) inputs, got ${shapeText(input)}`);
    return [input[2]!];
  }

  forward(x: Tensor, _ctx: ForwardContext): Tensor {
    const [n, h, w, c] = x.shape as [number, number, number, number];
    const y = F.maxPool2d(x, { kernel: [h, w], strides: [h, w], pads: [0, 0, 0, 0], ceilMode: false });
    const v = y.reshape([n, c]);
    y.dispose();
    return v;
  }
}

/** The static spatial size of the model's image input, when the file fixes it. */
function staticInputSize(model: OnnxModel): number | undefined {
  const shape = model.graph.inputs.find((i) => !model.graph.initializers.has(i.name))?.shape;
  const [h, w] = [shape?.[2], shape?.[3]];
  return typeof h === 'number' && h === w ? h : undefined;
}

/** The graph's convolution layers in execution order (what `--unfreeze K` counts from the end). */
export function convLayerNames(graph: Graph): string[] {
  return graph.convLayers().map((l) => l.name);
}

/** The layers of every node from the one that writes `tensor` on, in execution order (`--trainable-from`). */
export function layersFrom(graph: Graph, tensor: string): string[] {
  const start = graph.nodes.findIndex((n) => n.outputs.includes(tensor));
  if (start < 0) throw new Error(`--trainable-from ${tensor}: no node of the base writes that tensor`);
  return graph.nodes.slice(start).flatMap((n) => (n.layer ? [n.layer.name] : []));
}

export function createOnnxBackbone(e: Engine, ref: OnnxModelRef, model: OnnxModel, o: OnnxBackboneOptions = {}): Backbone {
  const inputSize = o.inputSize ?? staticInputSize(model) ?? 224;
  const pool = o.pool ?? 'avg';
  if (!FEATURE_POOLINGS.includes(pool)) throw new Error(`--pool ${String(pool)}: choose one of ${FEATURE_POOLINGS.join(', ')}`);
  const imported = importOnnx(model, { inputSize });
  if (imported.inputs.length !== 1) throw new OnnxImportError(`${ref}: a base has one image input; this model has ${imported.inputs.map((i) => i.name).join(', ')}`);
  const inputShape = imported.inputs[0]!.shape;
  if (inputShape.length !== 4 || inputShape[1] !== 3) throw new OnnxImportError(`${ref}: the input '${imported.inputs[0]!.name}' is ${JSON.stringify(inputShape)}, not an RGB image [N, 3, H, W]`);
  const cut = o.cut ?? defaultCut(imported)?.tensor;
  if (!cut) throw new OnnxImportError(`${ref}: no classifier input found to cut at; choose the base's last tensor with --cut TENSOR (see \`webgpu-transfer onnx info\`)`);
  const { graph: base, resolve } = onnxGraph(e, model, { inputSize, outputs: [cut], name: 'onnx_base' });
  const spatial = base.outputShape!.length === 3;
  const layers: Layer[] = [base];
  if (spatial && pool === 'avg') layers.push(new GlobalAveragePooling2D('onnx_avg_pool'));
  if (spatial && pool === 'max') layers.push(new GlobalMaxPooling2D('onnx_max_pool'));
  const seq = new Sequential('onnx', layers, { kind: 'OnnxBase' });
  // The graph arrives built (its weights are the file's); the pooling layers have no parameters.
  const shape = seq.build([inputSize, inputSize, 3], { engine: e, rng: new Rng(0) });
  const convs = convLayerNames(base);
  const params = seq.countParams();
  return {
    name: ref,
    model: seq,
    inputSize,
    featureShape: shape,
    defaultInputSize: staticInputSize(model) ?? 224,
    defaultPreprocess: 'imagenet',
    topLayerNames: convs.slice(-3),
    layersToTrain({ lastConvs, from }) {
      if (from !== undefined) {
        let tensor: string;
        try {
          tensor = resolve(from);
        } catch {
          throw new Error(`--trainable-from ${from}: the model has no such tensor (see \`webgpu-transfer onnx info --graph\`)`);
        }
        return layersFrom(base, tensor);
      }
      const k = lastConvs ?? 3;
      if (!Number.isInteger(k) || k < 1 || k > convs.length) throw new Error(`--unfreeze ${k}: the base has ${convs.length} convolutions; give 1 to ${convs.length}`);
      return convs.slice(-k);
    },
    defaultWeightsPath: ref,
    loadWeights(): WeightsStatus {
      return { pretrained: true, source: o.source ?? ref, parameters: params };
    },
  };
}
