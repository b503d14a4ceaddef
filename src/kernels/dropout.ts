import type { Engine, Tensor } from '../engine/index.js';
import { entry1d, f32, flatIndex, grid } from './common.js';

/**
 * Inverted dropout from a counter-based hash of (seed, step, element index): the backward recomputes the very
 * same mask, so no mask buffer is kept. Seed and step are read from a u32 tensor [seed, step] (one pipeline for every
 * step; a captured step rewrites the tensor before each replay); the rate is baked in. src/reference/dropout.ts implements the identical hash in uint32 TypeScript.
 */

const WG = 64;

/** Keep iff the top 24 bits of the hash are ≥ this threshold: P(keep) = 1 − threshold / 2^24. */
export function dropoutThreshold(rate: number): number {
  if (!(rate >= 0 && rate < 1)) throw new Error(`dropout: rate must be in [0, 1), got ${rate}`);
  return Math.round(rate * 16777216);
}

/** PCG-style integer hash (Jarzynski & Olano, "Hash Functions for GPU Rendering", 2020). */
export const PCG_HASH_WGSL = `fn pcg_hash(v: u32) -> u32 {
  let s = v * 747796405u + 2891336453u;
  let w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
  return (w >> 22u) ^ w;
}
fn dropout_bits(seed: u32, step: u32, i: u32) -> u32 {
  let k1 = pcg_hash(seed);
  let k2 = pcg_hash(step ^ pcg_hash(seed ^ 0x9e3779b9u));
  return pcg_hash(pcg_hash(i + k1) + k2);
}`;

function dropoutCode(n: number, rate: number): string {
  const threshold = dropoutThreshold(rate);
  return `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> P: array<u32>;
${PCG_HASH_WGSL}
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${n}u) { return; }
  let keep = (dropout_bits(P[0], P[1], i) >> 8u) >= ${threshold}u;
  out[i] = select(0.0, x[i] * ${f32(1 / (1 - rate))}, keep);
}`;
}

/** The [seed, step] tensor the dropout kernels read. */
export function dropoutSeeds(e: Engine, seed: number, step: number): Tensor {
  return e.upload(new Uint32Array([seed >>> 0, step >>> 0]), [2], 'u32');
}

function run(e: Engine, name: string, x: Tensor, rate: number, seeds: Tensor, out?: Tensor): Tensor {
  dropoutThreshold(rate); // validates the rate
  if (seeds.size !== 2 || seeds.dtype !== 'u32') throw new Error(`${name}: seeds must be a u32 tensor [seed, step], got [${seeds.shape.join(', ')}] ${seeds.dtype}`);
  const y = out ?? e.empty(x.shape, 'f32', name);
  if (y.size !== x.size) throw new Error(`${name}: output has ${y.size} elements, input ${x.size}`);
  const n = x.size;
  e.run({ name, key: `dropout:${n},${rate}`, code: () => dropoutCode(n, rate), bindings: [x, y, seeds], workgroups: grid(n, WG) });
  return y;
}

/** y = x · mask / (1 − rate), the mask drawn from `seeds` = [seed, step] (see dropoutSeeds). */
export function dropoutForward(e: Engine, x: Tensor, rate: number, seeds: Tensor, out?: Tensor): Tensor {
  return run(e, 'dropout_fwd', x, rate, seeds, out);
}

/** gx = gy · mask / (1 − rate) with the forward's mask, recomputed from the same seeds. */
export function dropoutBackward(e: Engine, gy: Tensor, rate: number, seeds: Tensor, out?: Tensor): Tensor {
  return run(e, 'dropout_bwd', gy, rate, seeds, out);
}
