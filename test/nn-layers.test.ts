import { describe, expect, it } from 'vitest';
import type { Engine, Tensor } from '../src/engine/index.js';
import type { NamedArrays } from '../src/formats/types.js';
import { zeroPadBackward, zeroPadForward } from '../src/kernels/pad.js';
import type { ForwardContext, Layer } from '../src/nn/layer.js';
import { Fire, InvertedResidual } from '../src/nn/layers/index.js';
import { Sequential } from '../src/nn/sequential.js';
import { refConcatChannels } from '../src/reference/concat.js';
import { depthwiseForward } from '../src/reference/depthwise.js';
import { refAdd } from '../src/reference/elementwise.js';
import { refZeroPad, refZeroPadBackward } from '../src/reference/pad.js';
import { relu6Ref } from '../src/reference/relu6.js';
import { Rng } from '../src/util/rng.js';
import { conv, type Act } from './helpers/model-reference.js';
import { dot, expectClose, FWD_TOL, GRAD_TOL, numericGrad, poisoned, randomArray } from './helpers/small-ops.js';
import { testEngine } from './helpers/engine.js';

const TRAIN: ForwardContext = { training: true, step: 0, seed: 0 };

/** Builds `layer` for `inputShape` (without batch) and gives every parameter random values (biases included). */
function randomised(e: Engine, layer: Layer, inputShape: number[], seed: number): { model: Sequential; weights: NamedArrays } {
  const model = new Sequential('m', [layer]);
  model.build(inputShape, { engine: e, rng: new Rng(seed) });
  const weights: NamedArrays = new Map();
  let k = 0;
  for (const [name, shape] of model.weightShapes()) weights.set(name, { shape, data: randomArray(shape.reduce((a, d) => a * d, 1), seed * 100 + k++, -1, 1) });
  model.setWeights(weights);
  return { model, weights };
}

function get(w: NamedArrays, name: string): Float64Array {
  return Float64Array.from(w.get(name)!.data as Float32Array);
}

/** Runs the layer on x with a gradient seed gy; returns y and the gradients of x and of the named parameters. */
async function gpuForwardBackward(e: Engine, model: Sequential, x: Float32Array, xShape: number[], gy: Float32Array, names: string[]) {
  const tx = e.upload(x, xShape);
  tx.requiresGrad = true;
  const y = model.forward(tx, TRAIN);
  const tgy = e.upload(gy, y.shape);
  e.tape.backward(y, tgy);
  const params = new Map(model.namedParams());
  const out = {
    y: await y.readF32(),
    yShape: [...y.shape],
    gx: await tx.grad!.readF32(),
    grads: new Map<string, Float32Array>(),
  };
  for (const n of names) out.grads.set(n, await params.get(n)!.grad!.readF32());
  for (const t of [tx, tx.grad, y, tgy] as (Tensor | null)[]) t?.dispose();
  for (const p of model.params()) {
    p.grad?.dispose();
    p.grad = null;
  }
  return out;
}

describe('zero padding', () => {
  it('pads and crops like the reference (odd sizes, batch 3, asymmetric pads)', async () => {
    const e = await testEngine();
    const shape = [3, 5, 4, 3];
    const pads = [1, 2, 0, 3] as const;
    const x = randomArray(180, 1);
    const tx = e.upload(x, shape);
    const ref = refZeroPad(x, shape, pads);
    const y = zeroPadForward(e, tx, pads, poisoned(e, ref.shape));
    expectClose(await y.readF32(), ref.y, FWD_TOL, 'zero pad');
    const gy = randomArray(ref.y.length, 2);
    const tgy = e.upload(gy, ref.shape);
    const gx = zeroPadBackward(e, tgy, shape, pads, poisoned(e, shape));
    expectClose(await gx.readF32(), refZeroPadBackward(gy, shape, pads), GRAD_TOL, 'zero pad backward');
    for (const t of [tx, y, tgy, gx]) t.dispose();
  });
});

describe('composite layers against float64 references', () => {
  it('Fire: squeeze → [expand1x1 | expand3x3] with ReLU, forward and gradients (x, expand3x3 kernel)', async () => {
    const e = await testEngine();
    const xShape = [2, 6, 5, 6];
    const { model, weights } = randomised(e, new Fire('fire2', { squeeze: 3, expand1x1: 4, expand3x3: 5 }), xShape.slice(1), 3);
    const ref = (x: Float64Array, w3: Float64Array): Act => {
      const s = conv({ x, shape: xShape }, get(weights, 'fire2/squeeze1x1/kernel'), [1, 1, 6, 3], get(weights, 'fire2/squeeze1x1/bias'), 1, 'same', true);
      const a = conv(s, get(weights, 'fire2/expand1x1/kernel'), [1, 1, 3, 4], get(weights, 'fire2/expand1x1/bias'), 1, 'same', true);
      const b = conv(s, w3, [3, 3, 3, 5], get(weights, 'fire2/expand3x3/bias'), 1, 'same', true);
      return { x: refConcatChannels([a.x, b.x], [4, 5], 2 * 6 * 5), shape: [2, 6, 5, 9] };
    };
    const x = randomArray(360, 4, -2, 2);
    const x64 = Float64Array.from(x);
    const w3 = get(weights, 'fire2/expand3x3/kernel');
    const expected = ref(x64, w3);
    const gy = randomArray(expected.x.length, 5);
    const got = await gpuForwardBackward(e, model, x, xShape, gy, ['fire2/expand3x3/kernel']);
    expect(got.yShape).toEqual(expected.shape);
    expectClose(got.y, expected.x, FWD_TOL, 'fire forward');
    expectClose(got.gx, numericGrad((v) => dot(ref(v, w3).x, gy), x64), GRAD_TOL, 'fire dx');
    expectClose(got.grads.get('fire2/expand3x3/kernel')!, numericGrad((v) => dot(ref(x64, v).x, gy), w3), GRAD_TOL, 'fire d expand3x3');
    model.dispose();
  });

  it('Fire without gradients: both expand convs write their halves of one output (no concat pass), same values', async () => {
    const e = await testEngine();
    const xShape = [2, 7, 6, 8];
    const { model, weights } = randomised(e, new Fire('fire3', { squeeze: 16, expand1x1: 8, expand3x3: 12 }), xShape.slice(1), 7);
    const x = randomArray(2 * 7 * 6 * 8, 8, -2, 2);
    const s = conv({ x: Float64Array.from(x), shape: xShape }, get(weights, 'fire3/squeeze1x1/kernel'), [1, 1, 8, 16], get(weights, 'fire3/squeeze1x1/bias'), 1, 'same', true);
    const a = conv(s, get(weights, 'fire3/expand1x1/kernel'), [1, 1, 16, 8], get(weights, 'fire3/expand1x1/bias'), 1, 'same', true);
    const b = conv(s, get(weights, 'fire3/expand3x3/kernel'), [3, 3, 16, 12], get(weights, 'fire3/expand3x3/bias'), 1, 'same', true);
    const expected = refConcatChannels([a.x, b.x], [8, 12], 2 * 7 * 6);
    model.freeze();
    const tx = e.upload(x, xShape);
    const concats = (): number => [...e.stats.dispatches].filter(([k]) => k.startsWith('concat')).reduce((n, [, c]) => n + c, 0);
    const before = concats();
    const y = e.noGrad(() => model.forward(tx, TRAIN));
    expect(y.shape).toEqual([2, 7, 6, 20]);
    expect(concats()).toBe(before);
    expectClose(await y.readF32(), expected, FWD_TOL, 'fire forward without gradients');
    for (const t of [tx, y]) t.dispose();
    model.dispose();
  });

  it('InvertedResidual with the residual add: forward and gradients (x, expand, depthwise, project)', async () => {
    const e = await testEngine();
    const xShape = [2, 5, 7, 4];
    const block = new InvertedResidual('block_2', { expandChannels: 12, outChannels: 4, strides: 1 });
    const { model, weights } = randomised(e, block, xShape.slice(1), 6);
    expect(block.hasResidual).toBe(true);
    const ref = (x: Float64Array, ke: Float64Array, kd: Float64Array, kp: Float64Array): Float64Array => {
      let h = conv({ x, shape: xShape }, ke, [1, 1, 4, 12], get(weights, 'block_2_expand/bias'), 1, 'same', false);
      h = { x: relu6Ref(h.x), shape: h.shape };
      const d = depthwiseForward(h.x, h.shape, kd, get(weights, 'block_2_depthwise/bias'), { stride: 1, activation: 'relu6' });
      const p = conv({ x: d.y, shape: d.shape }, kp, [1, 1, 12, 4], get(weights, 'block_2_project/bias'), 1, 'same', false);
      return refAdd(x, p.x);
    };
    const names = ['block_2_expand/kernel', 'block_2_depthwise/depthwise_kernel', 'block_2_project/kernel'];
    const [ke, kd, kp] = names.map((n) => get(weights, n)) as [Float64Array, Float64Array, Float64Array];
    const x = randomArray(2 * 5 * 7 * 4, 7, -3, 3);
    const x64 = Float64Array.from(x);
    const gy = randomArray(x.length, 8);
    const got = await gpuForwardBackward(e, model, x, xShape, gy, names);
    expect(got.yShape).toEqual(xShape);
    expectClose(got.y, ref(x64, ke, kd, kp), FWD_TOL, 'block forward');
    expectClose(got.gx, numericGrad((v) => dot(ref(v, ke, kd, kp), gy), x64), GRAD_TOL, 'block dx');
    expectClose(got.grads.get(names[0]!)!, numericGrad((v) => dot(ref(x64, v, kd, kp), gy), ke), GRAD_TOL, 'block d expand');
    expectClose(got.grads.get(names[1]!)!, numericGrad((v) => dot(ref(x64, ke, v, kp), gy), kd), GRAD_TOL, 'block d depthwise');
    expectClose(got.grads.get(names[2]!)!, numericGrad((v) => dot(ref(x64, ke, kd, v), gy), kp), GRAD_TOL, 'block d project');
    model.dispose();
  });

  it('InvertedResidual with stride 2 has no residual and halves the size (rounding up)', async () => {
    const e = await testEngine();
    const block = new InvertedResidual('block_3', { expandChannels: 8, outChannels: 6, strides: 2 });
    const { model, weights } = randomised(e, block, [7, 6, 4], 9);
    expect(block.hasResidual).toBe(false);
    expect(model.outputShape).toEqual([4, 3, 6]);
    const x = randomArray(7 * 6 * 4, 10, -3, 3);
    const tx = e.upload(x, [1, 7, 6, 4]);
    const y = e.noGrad(() => model.forward(tx, TRAIN));
    let h = conv({ x: Float64Array.from(x), shape: [1, 7, 6, 4] }, get(weights, 'block_3_expand/kernel'), [1, 1, 4, 8], get(weights, 'block_3_expand/bias'), 1, 'same', false);
    const d = depthwiseForward(relu6Ref(h.x), h.shape, get(weights, 'block_3_depthwise/depthwise_kernel'), get(weights, 'block_3_depthwise/bias'), { stride: 2, activation: 'relu6' });
    h = conv({ x: d.y, shape: d.shape }, get(weights, 'block_3_project/kernel'), [1, 1, 8, 6], get(weights, 'block_3_project/bias'), 1, 'same', false);
    expectClose(await y.readF32(), h.x, FWD_TOL, 'stride-2 block');
    for (const t of [tx, y]) t.dispose();
    model.dispose();
  });
});
