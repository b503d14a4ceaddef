/**
 * Grad-CAM (Selvaraju et al. 2017): where in an image a convnet finds a class. The gradient of the class score with
 * respect to a convolutional feature map A (the chosen layer's output), averaged over the map's positions, weighs
 * A's channels; the ReLU of that weighted sum is the heatmap, upsampled to the input's size.
 *
 * Everything runs on the GPU with the engine's autograd: the model runs up to the chosen layer recording nothing
 * (every parameter is treated as frozen for the pass, so no weight gradient is computed or touched), that layer's
 * output becomes a leaf that requires a gradient, the rest of the model records onto the tape, and one backward
 * from the chosen logits gives ∂score/∂A. The tape is left empty and the model's weights, gradients and `trainable`
 * flags are as they were.
 */
import type { Tensor } from '../engine/tensor.js';
import { channelMeans, resizeBilinear, weightedChannelSumRelu } from '../kernels/gradcam.js';
import { INFERENCE, type ForwardContext, type Layer } from './layer.js';
import { Graph } from './graph.js';
import { Sequential } from './sequential.js';

export interface GradCamOptions {
  /** The layer whose output is explained (any layer with a spatial [H, W, C] output); default `gradCamDefaultLayer`. */
  layer?: string;
  /**
   * The class to explain, for every image or per image; default each image's predicted class. With one logit (a
   * sigmoid head) class 1 is the logit and class 0 its negative; with K logits (softmax) class k is logit k.
   */
  classIndex?: number | readonly number[];
  /** Forward context (default inference: no dropout). */
  ctx?: ForwardContext;
}

export interface GradCamResult {
  layer: string;
  /** The model's output [N, K] (K = 1 for a sigmoid head), row-major. */
  logits: Float32Array;
  /** K: logits per image. */
  outputs: number;
  /** The class each heatmap explains. */
  classIndex: number[];
  /** Per image the heatmap at the layer's spatial size (height × width, row-major), ReLU'd, not normalised. */
  heatmaps: Float32Array[];
  height: number;
  width: number;
  /** Per image the heatmap resized bilinearly to the input's size (inputHeight × inputWidth). */
  upsampled: Float32Array[];
  inputHeight: number;
  inputWidth: number;
}

/** Layers `model` can be explained at, in execution order: every layer reachable through nested Sequentials whose output is a spatial map. */
export function gradCamLayers(model: Sequential): Layer[] {
  const out: Layer[] = [];
  const visit = (seq: Sequential): void => {
    for (const l of seq.layers) {
      if (l instanceof Sequential) visit(l);
      else if (l instanceof Graph) out.push(...graphConvLayers(l));
      else if (l.outputShape?.length === 3) out.push(l);
    }
  };
  visit(model);
  return out;
}

/**
 * The last spatial layer that has weights — the last convolutional block of a backbone: `block5_conv3` for VGG16,
 * `fire9` for SqueezeNet 1.1, `Conv_1` (the last 1×1 convolution) for MobileNetV2.
 */
export function gradCamDefaultLayer(model: Sequential): string {
  const layers = gradCamLayers(model);
  const withWeights = layers.filter((l) => l.countParams() > 0);
  const chosen = withWeights[withWeights.length - 1] ?? layers[layers.length - 1];
  if (!chosen) throw new Error(`model '${model.name}' has no layer with a spatial output to explain`);
  return chosen.name;
}

function resolveLayer(model: Sequential, name: string | undefined): Layer {
  const layers = gradCamLayers(model);
  const wanted = name ?? gradCamDefaultLayer(model);
  const l = layers.find((x) => x.name === wanted);
  if (!l) throw new Error(`unknown layer '${wanted}' for Grad-CAM; layers with a spatial output: ${layers.map((x) => x.name).join(', ')}`);
  return l;
}

/** The convolutions of a graph model with a spatial output, in execution order (each explained at its output). */
function graphConvLayers(g: Graph): Layer[] {
  return g.convLayers().filter((l) => l.outputShape?.length === 3);
}

/** Runs a graph whose node `target` owns, replacing that node's output by `hook(output)`. */
function graphHooked(g: Graph, x: Tensor, target: Layer, ctx: ForwardContext, hook: (t: Tensor) => Tensor): Tensor {
  const node = g.nodes.find((n) => n.layer === target)!;
  return g.run(new Map([[g.inputs[0]!.name, x]]), ctx, [g.output], { at: { tensor: node.outputs[0]!, fn: hook } })[0]!;
}

/** Runs `seq`, replacing the output of `target` (wherever it is nested) by `hook(output)`; `keep` is never disposed here. */
function forwardHooked(seq: Sequential, x: Tensor, target: Layer, ctx: ForwardContext, state: { hook: (t: Tensor) => Tensor; leaf: Tensor | null }): Tensor {
  let h = x;
  for (const l of seq.layers) {
    const inside = l !== target && [...l.walk()].includes(target);
    let next =
      inside && l instanceof Sequential
        ? forwardHooked(l, h, target, ctx, state)
        : inside && l instanceof Graph
          ? graphHooked(l, h, target, ctx, state.hook)
          : l.forward(h, ctx);
    if (l === target) {
      const leaf = state.hook(next);
      if (next !== leaf && next !== h) next.dispose();
      next = leaf;
    }
    if (h !== x && next !== h && h !== state.leaf) h.dispose();
    h = next;
  }
  return h;
}

function chooseClasses(logits: Float32Array, n: number, k: number, want: GradCamOptions['classIndex']): number[] {
  const classes = k === 1 ? 2 : k;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let c: number;
    if (want === undefined) {
      if (k === 1) c = logits[i]! > 0 ? 1 : 0;
      else {
        c = 0;
        for (let j = 1; j < k; j++) if (logits[i * k + j]! > logits[i * k + c]!) c = j;
      }
    } else c = typeof want === 'number' ? want : want[i]!;
    if (!Number.isInteger(c) || c < 0 || c >= classes) throw new Error(`Grad-CAM: class index ${c} for image ${i} is not one of 0…${classes - 1}`);
    out.push(c);
  }
  return out;
}

/**
 * Grad-CAM heatmaps for a batch `images` [N, H, W, C] (already preprocessed as the model expects) through `model`
 * (a Sequential whose output is the logits [N, K]).
 */
export async function gradCam(model: Sequential, images: Tensor, opts: GradCamOptions = {}): Promise<GradCamResult> {
  const e = images.engine;
  if (!model.built || !model.inputShape) throw new Error(`model '${model.name}' must be built before Grad-CAM`);
  if (images.shape.length !== 4) throw new Error(`Grad-CAM: images must be [N, H, W, C], got [${images.shape.join(', ')}]`);
  if (Array.isArray(opts.classIndex) && opts.classIndex.length !== images.shape[0]) {
    throw new Error(`Grad-CAM: ${opts.classIndex.length} class indices for ${images.shape[0]} images`);
  }
  const target = resolveLayer(model, opts.layer);
  e.tape.prune();
  if (e.tape.length > 0) throw new Error(`Grad-CAM: the autograd tape holds ${e.tape.length} pending records (a forward pass waiting for its backward); run Grad-CAM outside a training step`);
  const [h, w, c] = target.outputShape as [number, number, number];
  const n = images.shape[0]!;
  const [inH, inW] = [images.shape[1]!, images.shape[2]!];
  const params = model.params();
  const flags = params.map((p) => p.requiresGrad);
  for (const p of params) p.requiresGrad = false;
  try {
    return await e.tidyAsync(async () => {
      const state = {
        leaf: null as Tensor | null,
        hook(out: Tensor): Tensor {
          // A fresh tensor (the layer's own output, unless it passed its input through) becomes the leaf.
          const leaf = out === images ? e.tidy(() => out.reshape(out.shape)) : out;
          leaf.requiresGrad = true;
          state.leaf = leaf;
          return leaf;
        },
      };
      const logits = forwardHooked(model, images, target, opts.ctx ?? INFERENCE, state);
      const leaf = state.leaf!;
      if (!logits.requiresGrad) throw new Error(`Grad-CAM: the output of model '${model.name}' does not depend on layer '${target.name}'`);
      if (logits.shape.length !== 2 || logits.shape[0] !== n) throw new Error(`Grad-CAM: model '${model.name}' returns [${logits.shape.join(', ')}], expected logits [${n}, K]`);
      const k = logits.shape[1]!;
      const z = await logits.readF32();
      const classIndex = chooseClasses(z, n, k, opts.classIndex);
      // The seed picks each image's score: ±1 on its logit (sigmoid head) or 1 on its class's logit (softmax head).
      const seed = new Float32Array(n * k);
      classIndex.forEach((cls, i) => {
        if (k === 1) seed[i] = cls === 1 ? 1 : -1;
        else seed[i * k + cls] = 1;
      });
      e.tape.backward(logits, e.upload(seed, [n, k]));
      const grad = leaf.grad;
      leaf.grad = null;
      if (!grad) throw new Error(`Grad-CAM: no gradient reached layer '${target.name}'`);
      try {
        const alpha = channelMeans(e, grad, n, h * w, c);
        const cam = weightedChannelSumRelu(e, leaf, alpha, n, h * w, c);
        const up = resizeBilinear(e, cam.reshape([n, h, w]), inH, inW);
        const [camHost, upHost] = await Promise.all([cam.readF32(), up.readF32()]);
        return {
          layer: target.name,
          logits: z,
          outputs: k,
          classIndex,
          heatmaps: Array.from({ length: n }, (_, i) => camHost.slice(i * h * w, (i + 1) * h * w)),
          height: h,
          width: w,
          upsampled: Array.from({ length: n }, (_, i) => upHost.slice(i * inH * inW, (i + 1) * inH * inW)),
          inputHeight: inH,
          inputWidth: inW,
        };
      } finally {
        grad.dispose();
      }
    });
  } finally {
    e.tape.clear(); // empty before we started; nothing of this pass stays on it, even after an error
    params.forEach((p, i) => (p.requiresGrad = flags[i]!));
  }
}
