/**
 * Which GEMM kernel serves a product: 'lanes' (matmul.ts: one subgroup per workgroup, no workgroup memory — the
 * fastest on CPU fallback adapters such as lavapipe) or a workgroup-memory tile (gemm-tiled.ts, 64–256 invocations —
 * built for GPUs). Order of precedence: a forced variant (tests, benchmarks), the per-adapter tuning cache (the
 * winner of timed candidates per shape class, see tuner.ts), then the heuristic:
 * - a software (fallback) adapter: 'lanes';
 * - otherwise the tiled kernel: 64×64 tiles (256 invocations) when the output has at least 64 rows and 64 columns,
 *   else 32×32 (64 invocations; fewer idle ones on thin products).
 * The tuner times, on a GPU, only candidates of at least 32 invocations (`gemmCandidates`). The choices live in the
 * engine's `gemm` state slot.
 */
import type { Engine } from '../engine/engine.js';
import { stateSlot } from '../engine/kernel-state.js';
import type { KernelCall } from '../engine/engine.js';
import type { Tensor } from '../engine/tensor.js';
import type { TiledConfig } from './gemm-tiled.js';

export const TILED_CONFIGS = {
  't64x64': { BM: 64, BN: 64, BK: 16, RM: 4, RN: 4 },
  't32x64': { BM: 32, BN: 64, BK: 16, RM: 4, RN: 4 },
  't32x32': { BM: 32, BN: 32, BK: 16, RM: 4, RN: 4 },
  't128x64': { BM: 128, BN: 64, BK: 8, RM: 8, RN: 4 },
} as const satisfies Record<string, TiledConfig>;

export type TiledVariant = keyof typeof TILED_CONFIGS;
export type GemmVariant = 'lanes' | TiledVariant;
export const GEMM_VARIANTS: readonly GemmVariant[] = ['lanes', ...(Object.keys(TILED_CONFIGS) as TiledVariant[])];

export function isGemmVariant(v: string): v is GemmVariant {
  return (GEMM_VARIANTS as readonly string[]).includes(v);
}

/** What a GEMM computes, for choosing and tuning its kernel. */
export interface GemmShape {
  family: 'matmul' | 'batched_matmul' | 'conv2d_fwd' | 'conv2d_grad_input' | 'conv2d_grad_filter';
  M: number;
  N: number;
  K: number;
  batch: number;
}

const bucket = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

/** Products whose M, N and K round up to the same powers of two share a kernel choice. */
export function shapeClass(s: GemmShape): string {
  return `${s.family}:${bucket(s.M)}x${bucket(s.N)}x${bucket(s.K)}${s.batch > 1 ? `x${bucket(s.batch)}` : ''}`;
}

/** One GEMM as the tuner sees it: re-dispatchable with any variant on tensors of the recorded shapes. */
export interface GemmProbe {
  shape: GemmShape;
  shapeClass: string;
  /** The operands as recorded (their shapes and dtypes; the tuner allocates its own). */
  bindings: { shape: readonly number[]; dtype: Tensor['dtype'] }[];
  /** The kernel call of `variant` on `bindings` (tensors of the recorded shapes, in order). */
  call(variant: GemmVariant, bindings: Tensor[]): KernelCall;
}

interface GemmState {
  forced: GemmVariant | null;
  cache: Map<string, GemmVariant>;
  probes: GemmProbe[] | null;
}

const GEMM_STATE = stateSlot<GemmState>('gemm', () => ({ forced: null, cache: new Map(), probes: null }));

const stateOf = (e: Engine): GemmState => e.state(GEMM_STATE);

/** Forces one variant for every GEMM of this engine (null: back to tuning cache and heuristic). */
export function forceGemmVariant(e: Engine, v: GemmVariant | null): void {
  stateOf(e).forced = v;
}

/** The tuned winners by shape class (replaces what was there). */
export function setGemmTuning(e: Engine, winners: ReadonlyMap<string, GemmVariant>): void {
  stateOf(e).cache = new Map(winners);
}

export function gemmTuning(e: Engine): ReadonlyMap<string, GemmVariant> {
  return stateOf(e).cache;
}

/** Records every GEMM dispatched until `stopGemmProbes` (they still run), for the tuner. */
export function startGemmProbes(e: Engine): void {
  stateOf(e).probes = [];
}

export function stopGemmProbes(e: Engine): GemmProbe[] {
  const s = stateOf(e);
  const out = s.probes ?? [];
  s.probes = null;
  return out;
}

/** The heuristic choice (no forced variant, no cache entry). */
export function heuristicVariant(e: Engine, s: GemmShape): GemmVariant {
  if (e.info.isFallbackAdapter) return 'lanes';
  return s.M >= 64 && s.N >= 64 ? 't64x64' : 't32x32';
}

export function chooseGemmVariant(e: Engine, s: GemmShape): GemmVariant {
  const st = stateOf(e);
  return st.forced ?? (st.cache.size ? st.cache.get(shapeClass(s)) : undefined) ?? heuristicVariant(e, s);
}

/**
 * The variants worth timing on this adapter: every one on a fallback adapter; on a GPU only those whose workgroups
 * have at least 32 invocations ('lanes' only where the subgroup size is fixed at ≥ 32).
 */
export function gemmCandidates(e: Engine, laneWidth: number): GemmVariant[] {
  if (e.info.isFallbackAdapter || laneWidth >= 32) return [...GEMM_VARIANTS];
  return GEMM_VARIANTS.filter((v) => v !== 'lanes');
}

/**
 * Dispatches a GEMM: the chosen variant's call on `bindings`; while probing, also records how to dispatch it with
 * another variant.
 */
export function runGemm(e: Engine, shape: GemmShape, bindings: Tensor[], call: (variant: GemmVariant, bindings: Tensor[]) => KernelCall): void {
  const st = stateOf(e);
  st.probes?.push({ shape, shapeClass: shapeClass(shape), bindings: bindings.map((t) => ({ shape: [...t.shape], dtype: t.dtype })), call });
  e.run(call(chooseGemmVariant(e, shape), bindings));
}
