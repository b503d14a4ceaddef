import type { Engine, Tensor } from '../../engine/index.js';
import {
  BCAST_ADD,
  BCAST_DIV,
  BCAST_DIV_GRAD_B,
  BCAST_MUL,
  BCAST_SUB,
  broadcastMap,
  broadcastShape,
  reductionGroups,
  sumTo,
  type BroadcastKernel,
} from '../../kernels/broadcast.js';
import { refBroadcastBinary, refBroadcastBinaryBackward } from '../../reference/broadcast.js';
import type { Rng } from '../../util/rng.js';
import { apply, type BackwardContext, type CaseInput, type OpCase, type OpDef, type SavedRef } from './op.js';

/*
 * Add / Sub / Mul / Div with numpy-style broadcasting on the PHYSICAL (NHWC) shapes: right-aligned, size-1 or missing
 * dimensions stretch ([N, 1, 1, C] × [N, H, W, C], [C] + [N, H, W, C], [1] · [N, K], equal shapes, both sides at once).
 * The backward sums each gradient back over the dimensions its input was broadcast along (any pattern of them: one
 * deterministic column-sum pass per group of consecutive broadcast dimensions).
 */

type NoAttrs = Record<string, never>;
const NONE: NoAttrs = {};

const reduces = (from: readonly number[], to: readonly number[]): boolean => reductionGroups(from, to).some((g) => g.reduced);

/** `t` (of the broadcast shape, owned here) summed to `shape`: a view of t when nothing is reduced. */
function reduceTo(e: Engine, t: Tensor, shape: readonly number[]): Tensor {
  const r = reduces(t.shape, shape) ? sumTo(e, t, shape) : t.reshape(shape);
  t.dispose();
  return r;
}

/** The broadcast shape of a binary op's inputs (from the backward's context). */
function outShape(name: string, { shapes }: BackwardContext<NoAttrs>): number[] {
  return broadcastShape(name, [shapes[0]!, shapes[1]!]);
}

interface BinarySpec {
  name: string;
  kernel: BroadcastKernel;
  save?: (need: readonly boolean[]) => readonly SavedRef[];
  backward: (ctx: BackwardContext<NoAttrs>, gy: Tensor, saved: readonly (Tensor | null)[]) => (Tensor | null)[];
  f: (a: number, b: number) => number;
  dfa: (a: number, b: number) => number;
  dfb: (a: number, b: number) => number;
  /** Values of the second input (default uniform in [−1, 1)). */
  genB?: (n: number, rng: Rng) => Float32Array;
}

/** Shape pairs every broadcast op is checked on; the first also checks each input's gradient alone. */
const PAIRS: readonly { a: readonly number[]; b: readonly number[]; label: string; constB?: boolean }[] = [
  { a: [2, 3, 4, 5], b: [2, 1, 1, 5], label: 'squeeze-excitation [2, 3, 4, 5] by [2, 1, 1, 5]' },
  { a: [2, 1, 1, 5], b: [2, 3, 4, 5], label: 'squeeze-excitation [2, 1, 1, 5] by [2, 3, 4, 5]' },
  { a: [2, 3, 4, 5], b: [5], label: 'per-channel constant [2, 3, 4, 5] by [5] (no gradient)', constB: true },
  { a: [7], b: [2, 3, 3, 7], label: 'per-channel [7] by [2, 3, 3, 7]' },
  { a: [1], b: [3, 7], label: 'scalar [1] by [3, 7]' },
  { a: [3, 7], b: [1], label: 'scalar [3, 7] by [1]' },
  { a: [3, 4, 5], b: [3, 4, 5], label: 'equal [3, 4, 5]' },
  { a: [3, 1, 5], b: [1, 4, 1], label: 'both sides [3, 1, 5] by [1, 4, 1]' },
  { a: [2, 3, 4, 5], b: [1, 3, 1, 5], label: 'alternating [2, 3, 4, 5] by [1, 3, 1, 5]' },
  { a: [4, 5], b: [3, 4, 5], label: 'missing axis [4, 5] by [3, 4, 5]' },
  { a: [2, 37, 37, 8], b: [2, 1, 1, 8], label: 'long reduction [2, 37, 37, 8] by [2, 1, 1, 8]' },
];

function binary(spec: BinarySpec): OpDef<NoAttrs> {
  const cases: OpCase<NoAttrs>[] = PAIRS.map(({ a, b, label, constB }) => {
    const inB: CaseInput = { shape: b, ...(spec.genB ? { gen: spec.genB } : {}), ...(constB ? { grad: false } : {}) };
    return { label, inputs: [{ shape: a }, inB], attrs: NONE };
  });
  return {
    name: spec.name,
    forward: (e, [a, b]) => ({ y: broadcastMap(e, spec.kernel, [a!, b!], broadcastShape(spec.name, [a!.shape, b!.shape])) }),
    ...(spec.save ? { save: spec.save } : {}),
    backward: spec.backward,
    reference: {
      forward: ([a, b]) => refBroadcastBinary(a!.data, a!.shape, b!.data, b!.shape, spec.f),
      backward: ([a, b], _, gy) => refBroadcastBinaryBackward(a!.data, a!.shape, b!.data, b!.shape, gy, spec.dfa, spec.dfb),
    },
    cases,
  };
}

/** Divisors kept away from zero: ±[0.5, 1.5). */
const divisor = (n: number, rng: Rng): Float32Array => Float32Array.from({ length: n }, () => (rng.uniform(0, 1) < 0.5 ? -1 : 1) * rng.uniform(0.5, 1.5));

/** a + b broadcast. Saves nothing. */
export const BROADCAST_ADD = binary({
  name: 'broadcastAdd',
  kernel: BCAST_ADD,
  backward: ({ engine, need: [needA, needB], shapes: [sa, sb] }, gy) => {
    const sumA = reduces(gy.shape, sa!);
    const sumB = reduces(gy.shape, sb!);
    // A second view of gy would let both gradients share one buffer (a leaf's .grad is accumulated in place): copy then.
    return [
      needA ? (sumA ? sumTo(engine, gy, sa!) : gy.reshape(sa!)) : null,
      needB ? (sumB || (needA && !sumA) ? sumTo(engine, gy, sb!) : gy.reshape(sb!)) : null,
    ];
  },
  f: (a, b) => a + b,
  dfa: () => 1,
  dfb: () => 1,
});

/** a − b broadcast. Saves nothing. */
export const BROADCAST_SUB = binary({
  name: 'broadcastSub',
  kernel: BCAST_SUB,
  backward: ({ engine, need: [needA, needB], shapes: [sa, sb] }, gy) => [
    needA ? (reduces(gy.shape, sa!) ? sumTo(engine, gy, sa!) : gy.reshape(sa!)) : null,
    needB ? sumTo(engine, gy, sb!, -1) : null,
  ],
  f: (a, b) => a - b,
  dfa: () => 1,
  dfb: () => -1,
});

/** a · b broadcast. Saves b for a's gradient and a for b's. */
export const BROADCAST_MUL = binary({
  name: 'broadcastMul',
  kernel: BCAST_MUL,
  save: ([needA, needB]) => [needB ? { input: 0 } : null, needA ? { input: 1 } : null],
  backward: (ctx, gy, [a, b]) => {
    const { engine: e, need: [needA, needB], shapes: [sa, sb] } = ctx;
    const shape = outShape('broadcastMul', ctx);
    return [
      needA ? reduceTo(e, broadcastMap(e, BCAST_MUL, [gy, b!], shape), sa!) : null,
      needB ? reduceTo(e, broadcastMap(e, BCAST_MUL, [gy, a!], shape), sb!) : null,
    ];
  },
  f: (a, b) => a * b,
  dfa: (_, b) => b,
  dfb: (a) => a,
});

/** a / b broadcast. Saves b for a's gradient (gy / b), a and b for b's (−gy · a / b²). */
export const BROADCAST_DIV = binary({
  name: 'broadcastDiv',
  kernel: BCAST_DIV,
  save: ([needA, needB]) => [needB ? { input: 0 } : null, needA || needB ? { input: 1 } : null],
  backward: (ctx, gy, [a, b]) => {
    const { engine: e, need: [needA, needB], shapes: [sa, sb] } = ctx;
    const shape = outShape('broadcastDiv', ctx);
    return [
      needA ? reduceTo(e, broadcastMap(e, BCAST_DIV, [gy, b!], shape), sa!) : null,
      needB ? reduceTo(e, broadcastMap(e, BCAST_DIV_GRAD_B, [gy, a!, b!], shape), sb!) : null,
    ];
  },
  f: (a, b) => a / b,
  dfa: (_, b) => 1 / b,
  dfb: (a, b) => -a / (b * b),
  genB: divisor,
});

/** a + b with numpy broadcasting on the physical shapes (right-aligned; size-1 or missing dimensions stretch). */
export const broadcastAdd = (a: Tensor, b: Tensor): Tensor => apply(BROADCAST_ADD, [a, b], NONE);
/** a − b with numpy broadcasting on the physical shapes. */
export const broadcastSub = (a: Tensor, b: Tensor): Tensor => apply(BROADCAST_SUB, [a, b], NONE);
/** a · b with numpy broadcasting on the physical shapes. */
export const broadcastMul = (a: Tensor, b: Tensor): Tensor => apply(BROADCAST_MUL, [a, b], NONE);
/** a / b with numpy broadcasting on the physical shapes. */
export const broadcastDiv = (a: Tensor, b: Tensor): Tensor => apply(BROADCAST_DIV, [a, b], NONE);
