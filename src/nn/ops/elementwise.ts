import type { Engine, Tensor } from '../../engine/index.js';
import {
  addForward,
  clipBackward,
  clipForward,
  copyTensor,
  hardSigmoidBackward,
  hardSigmoidForward,
  hardSwishBackward,
  hardSwishForward,
  leakyReluBackward,
  leakyReluForward,
  relu6Backward,
  relu6Forward,
  reluBackward,
  reluForward,
  sigmoidBackward,
  sigmoidForward,
} from '../../kernels/elementwise.js';
import {
  refAdd,
  refClip,
  refClipBackward,
  refHardSigmoid,
  refHardSigmoidBackward,
  refHardSwish,
  refHardSwishBackward,
  refLeakyRelu,
  refLeakyReluBackward,
  refRelu,
  refReluBackward,
  refSigmoid,
  refSigmoidBackward,
} from '../../reference/elementwise.js';
import { relu6GradRef, relu6Ref } from '../../reference/relu6.js';
import { apply, type CaseInput, type OpCase, type OpDef, type RefTensor } from './op.js';

/** Shapes every elementwise op is checked on: a rank-4 map, odd sizes, a vector, more elements than one workgroup row. */
const SHAPES: readonly (readonly number[])[] = [[3, 7, 5, 6], [5], [1, 9, 9, 33], [2, 37, 37, 8]];

function unaryCases<A>(attrs: A, lo = -4, hi = 4): OpCase<A>[] {
  const input = (shape: readonly number[]): CaseInput => ({ shape, gen: (n, rng) => Float32Array.from({ length: n }, () => rng.uniform(lo, hi)) });
  return SHAPES.map((shape) => ({ label: `[${shape.join(', ')}]`, inputs: [input(shape)], attrs }));
}

/**
 * An elementwise op of one input whose backward reads either its input or its output. The reference backward is
 * always a function of the input (so finite differences can check it).
 */
function unary<A>(spec: {
  name: string;
  forward: (e: Engine, x: Tensor, attrs: A) => Tensor;
  backward: (e: Engine, saved: Tensor, gy: Tensor, attrs: A) => Tensor;
  saves: 'input' | 'output';
  ref: (x: Float64Array, attrs: A) => Float64Array;
  refBackward: (x: Float64Array, gy: Float64Array, attrs: A) => Float64Array;
  cases: OpCase<A>[];
}): OpDef<A> {
  return {
    name: spec.name,
    forward: (e, [x], attrs) => ({ y: spec.forward(e, x!, attrs) }),
    save: () => [spec.saves === 'input' ? { input: 0 } : 'output'],
    backward: ({ engine, attrs }, gy, [s]) => [spec.backward(engine, s!, gy, attrs)],
    reference: {
      forward: ([x], attrs) => ({ data: spec.ref(x!.data, attrs), shape: x!.shape }),
      backward: ([x], attrs, gy) => [spec.refBackward(x!.data, gy, attrs)],
    },
    cases: spec.cases,
  };
}

type NoAttrs = Record<string, never>;
const NONE: NoAttrs = {};

export const RELU = unary<NoAttrs>({
  name: 'relu',
  forward: (e, x) => reluForward(e, x),
  backward: (e, x, gy) => reluBackward(e, x, gy),
  saves: 'input',
  ref: (x) => refRelu(x),
  refBackward: (x, gy) => refReluBackward(x, gy),
  cases: unaryCases(NONE),
});

export const SIGMOID = unary<NoAttrs>({
  name: 'sigmoid',
  forward: (e, x) => sigmoidForward(e, x),
  backward: (e, y, gy) => sigmoidBackward(e, y, gy),
  saves: 'output',
  ref: (x) => refSigmoid(x),
  refBackward: (x, gy) => refSigmoidBackward(x, gy),
  // Far into both tails: the kernel must not overflow where the logistic saturates.
  cases: unaryCases(NONE, -30, 30),
});

export const RELU6 = unary<NoAttrs>({
  name: 'relu6',
  forward: (e, x) => relu6Forward(e, x),
  backward: (e, y, gy) => relu6Backward(e, gy, y),
  saves: 'output',
  ref: (x) => relu6Ref(x),
  refBackward: (x, gy) => relu6GradRef(x, gy),
  cases: unaryCases(NONE, -3, 9),
});

export const HARD_SWISH = unary<NoAttrs>({
  name: 'hardSwish',
  forward: (e, x) => hardSwishForward(e, x),
  backward: (e, x, gy) => hardSwishBackward(e, x, gy),
  saves: 'input',
  ref: (x) => refHardSwish(x),
  refBackward: (x, gy) => refHardSwishBackward(x, gy),
  cases: unaryCases(NONE, -5, 5),
});

export interface LeakyReluAttrs {
  alpha: number;
}

export const LEAKY_RELU = unary<LeakyReluAttrs>({
  name: 'leakyRelu',
  forward: (e, x, { alpha }) => leakyReluForward(e, x, alpha),
  backward: (e, x, gy, { alpha }) => leakyReluBackward(e, x, gy, alpha),
  saves: 'input',
  ref: (x, { alpha }) => refLeakyRelu(x, alpha),
  refBackward: (x, gy, { alpha }) => refLeakyReluBackward(x, gy, alpha),
  cases: [...unaryCases({ alpha: 0.01 }), ...unaryCases({ alpha: 0.2 }).slice(0, 1)],
});

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** a + b for tensors of the same shape. Reads no tensor data in its backward: saves nothing. */
export const ADD: OpDef<NoAttrs> = {
  name: 'add',
  forward: (e, [a, b]) => {
    if (!sameShape(a!.shape, b!.shape)) throw new Error(`add: shapes [${a!.shape.join(', ')}] and [${b!.shape.join(', ')}] differ`);
    return { y: addForward(e, a!, b!) };
  },
  backward: ({ engine, need: [needA, needB], shapes: [shape] }, gy) => [
    needA ? gy.reshape(shape!) : null,
    // A second alias of gy would let both inputs' gradients share one buffer (and a leaf's .grad is accumulated in place).
    needB ? (needA ? copyTensor(engine, gy, shape!) : gy.reshape(shape!)) : null,
  ],
  reference: {
    forward: ([a, b]): RefTensor => ({ data: refAdd(a!.data, b!.data), shape: a!.shape }),
    backward: (_, __, gy) => [Float64Array.from(gy), Float64Array.from(gy)],
  },
  cases: SHAPES.map((shape) => ({ label: `[${shape.join(', ')}]`, inputs: [{ shape }, { shape }], attrs: NONE })),
};

export const relu = (x: Tensor): Tensor => apply(RELU, [x], NONE);
export const sigmoid = (x: Tensor): Tensor => apply(SIGMOID, [x], NONE);
/** min(max(x, 0), 6), differentiable (slope 1 strictly inside (0, 6)). */
export const relu6 = (x: Tensor): Tensor => apply(RELU6, [x], NONE);
/** x · relu6(x + 3) / 6. */
export const hardSwish = (x: Tensor): Tensor => apply(HARD_SWISH, [x], NONE);
export const leakyRelu = (x: Tensor, alpha = 0.01): Tensor => apply(LEAKY_RELU, [x], { alpha });
/** a + b for tensors of the same shape. */
export const add = (a: Tensor, b: Tensor): Tensor => apply(ADD, [a, b], NONE);

export interface HardSigmoidAttrs {
  alpha: number;
  beta: number;
}

/** ONNX HardSigmoid: max(0, min(1, alpha · x + beta)); gradient alpha strictly inside the ramp. */
export const HARD_SIGMOID = unary<HardSigmoidAttrs>({
  name: 'hardSigmoid',
  forward: (e, x, { alpha, beta }) => hardSigmoidForward(e, x, alpha, beta),
  backward: (e, x, gy, { alpha, beta }) => hardSigmoidBackward(e, x, gy, alpha, beta),
  saves: 'input',
  ref: (x, { alpha, beta }) => refHardSigmoid(x, alpha, beta),
  refBackward: (x, gy, { alpha, beta }) => refHardSigmoidBackward(x, gy, alpha, beta),
  // ONNX's defaults, PyTorch's Hardsigmoid (alpha 1/6), and a falling ramp.
  cases: [...unaryCases({ alpha: 0.2, beta: 0.5 }), ...unaryCases({ alpha: 1 / 6, beta: 0.5 }, -5, 5).slice(0, 2), ...unaryCases({ alpha: -0.3, beta: 0.1 }).slice(0, 1)],
});

export interface ClipAttrs {
  /** Absent (null): no lower bound. */
  min: number | null;
  /** Absent (null): no upper bound. */
  max: number | null;
}

/** ONNX Clip: min(max(x, min), max) with either bound optional; gradient 1 strictly inside. */
export const CLIP = unary<ClipAttrs>({
  name: 'clip',
  forward: (e, x, { min, max }) => clipForward(e, x, min, max),
  backward: (e, x, gy, { min, max }) => clipBackward(e, x, gy, min, max),
  saves: 'input',
  ref: (x, { min, max }) => refClip(x, min, max),
  refBackward: (x, gy, { min, max }) => refClipBackward(x, gy, min, max),
  cases: [
    ...unaryCases({ min: -1, max: 1.5 }, -3, 3),
    ...unaryCases({ min: 0.25, max: null }, -3, 3).slice(0, 1),
    ...unaryCases({ min: null, max: 0.5 }, -3, 3).slice(0, 1),
    ...unaryCases({ min: null, max: null }, -3, 3).slice(0, 1),
    ...unaryCases({ min: 0, max: 6 }, -3, 9).slice(2, 3),
  ].map((c) => ({ ...c, label: `${c.label} min ${c.attrs.min ?? 'none'} max ${c.attrs.max ?? 'none'}` })),
});

/** max(0, min(1, alpha · x + beta)) (ONNX defaults alpha 0.2, beta 0.5; PyTorch's Hardsigmoid is alpha 1/6). */
export const hardSigmoid = (x: Tensor, alpha = 0.2, beta = 0.5): Tensor => apply(HARD_SIGMOID, [x], { alpha, beta });
/** min(max(x, min), max); a null (or omitted) bound is absent. */
export const clip = (x: Tensor, min: number | null = null, max: number | null = null): Tensor => apply(CLIP, [x], { min, max });
