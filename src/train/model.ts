import type { Engine, Tensor } from '../engine/index.js';
import type { ForwardContext, Layer } from '../nn/layer.js';
import { Dense, Dropout, Flatten } from '../nn/layers/index.js';
import { Sequential } from '../nn/sequential.js';
import { Rng } from '../util/rng.js';
import { mixSeed, STREAM } from './seeds.js';

export const HEAD_UNITS = 256;
export const HEAD_DROPOUT = 0.5;

/**
 * The book's classifier head on top of features of `featureShape`: [Flatten] → Dense(256, relu) → [Dropout(0.5)] →
 * Dense(1). The last layer returns the logit; the sigmoid is folded into the loss (BCE from logits, as Keras computes
 * it for a sigmoid output) and applied by `predict`. With `outputs` C > 1 (categorical) it ends in Dense(C) and the
 * softmax is folded into the loss the same way.
 */
export function headLayers(featureShape: readonly number[], opts: { dropout: boolean; outputs?: number }): Layer[] {
  const layers: Layer[] = [];
  if (featureShape.length > 1) layers.push(new Flatten('flatten'));
  layers.push(new Dense('dense_1', { units: HEAD_UNITS, activation: 'relu' }));
  if (opts.dropout) layers.push(new Dropout('dropout_1', HEAD_DROPOUT));
  layers.push(new Dense('dense_2', { units: opts.outputs ?? 1, activation: 'linear' }));
  return layers;
}

/** Recipe 1's model: the head alone, trained on extracted features. */
export function buildFeatureHead(e: Engine, featureShape: readonly number[], seed: number, outputs = 1): Sequential {
  const model = new Sequential('head', headLayers(featureShape, { dropout: true, outputs }));
  model.build(featureShape, { engine: e, rng: new Rng(mixSeed(seed, STREAM.init)) });
  return model;
}

/**
 * Recipes 2 and 3: the (built) base, then the head — without dropout as in the book's recipe 2, or with it to carry
 * a recipe-1 head (trained on features) onto images.
 */
export function buildTransferModel(e: Engine, base: Sequential, inputSize: number, seed: number, opts: { dropout?: boolean; outputs?: number } = {}): Sequential {
  const model = new Sequential('model', [base, ...headLayers(base.outputShape!, { dropout: opts.dropout ?? false, outputs: opts.outputs ?? 1 })]);
  model.build([inputSize, inputSize, 3], { engine: e, rng: new Rng(mixSeed(seed, STREAM.init)) });
  return model;
}

/** What the layers see: dropout masks drawn from (seed, epoch) and the step. */
export function layerContext(ctx: ForwardContext): ForwardContext {
  // Getters, so a captured training step sees each replay's epoch and step (see Engine.capture).
  return {
    training: ctx.training,
    get seed() {
      return mixSeed(ctx.seed, STREAM.dropout, ctx.epoch ?? 0);
    },
    get step() {
      return ctx.step;
    },
  };
}

/** Runs the model and returns the logits [N, 1] (binary) or [N, C]. */
export function forwardLogits(model: Sequential, x: Tensor, ctx: ForwardContext): Tensor {
  return model.forward(x, layerContext(ctx));
}
