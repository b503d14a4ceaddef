/**
 * The GEMM family: matrix products C = op(A)·op(B) (+ bias, ReLU), and the code generator that the implicit-GEMM
 * convolutions in conv2d.ts share.
 *
 * Why the kernels look the way they do (measured on lavapipe, see dev/NOTES.md): llvmpipe runs each invocation as
 * one SIMD lane and turns every storage-buffer load whose address is not a compile-time constant into a loop over
 * the lanes with a bounds check per element (~10 instructions per float), while arithmetic runs 8 lanes at a time.
 * So the kernels minimise loaded floats per multiply-add:
 * - a workgroup is one subgroup of L lanes and owns a TM × (4·TNv·L) tile of C;
 * - each lane loads only the B values of its own columns (4·TNv of them per k, as vec4s), and the TM rows of A are
 *   loaded once per workgroup, spread over the lanes, then handed to every lane with subgroupBroadcast (cheap: a
 *   register shuffle); every loaded B float then feeds TM multiply-adds and every A float 4·TNv·L of them;
 * - K advances in chunks of 4 and the multiply-adds of a chunk are ordered row by row, so one row's accumulators
 *   stay in registers while the chunk's B values are read from the stack.
 * Without the `subgroups` feature (or with a variable subgroup size) each lane loads the A rows itself (slower, same
 * results). Shapes and tiles are constants in the generated WGSL.
 */
import type { Engine } from '../engine/engine.js';
import type { Tensor } from '../engine/tensor.js';
import type { KernelCall } from '../engine/engine.js';
import { stateSlot } from '../engine/kernel-state.js';
import { grid, range } from './common.js';
import { tiledGemmCode, tiledLoad, tiledWorkgroups } from './gemm-tiled.js';
import { runGemm, TILED_CONFIGS, type GemmVariant, type TiledVariant } from './gemm-variant.js';

/** How one workgroup covers its tile of the output. */
export interface GemmTile {
  /** Lanes per workgroup (the subgroup size when `bcast`). */
  L: number;
  /** Rows of C per workgroup (a multiple of L). */
  TM: number;
  /** vec4 column groups per lane: the workgroup covers 4·TNv·L columns. */
  TNv: number;
  /** Share A rows through subgroupBroadcast (needs the `subgroups` feature and a fixed subgroup size). */
  bcast: boolean;
  /** Accumulators in one array and the stores as a loop over rows (much less code to compile) instead of unrolled. */
  loopEpilogue?: boolean;
}

/** A is read along K (rows stored [.., K] contiguous) or along M (stored [K, M]); likewise B along N or K. */
export type AMode = 'k' | 'm';
export type BMode = 'n' | 'k';

export interface GemmPlan {
  tile: GemmTile;
  a: AMode;
  b: BMode;
  /** Whether the operand's contiguous direction is a multiple of 4 (vec4 loads) or not (scalar loads). */
  aVec: boolean;
  bVec: boolean;
}

const COMP = ['x', 'y', 'z', 'w'] as const;

/** The pipeline-cache key part of a tile, e.g. `32x16x1b` (lanes × rows × column groups, b: broadcast, l: loop epilogue). */
export function tileKey(t: GemmTile): string {
  return `${t.L}x${t.TM}x${t.TNv}${t.bcast ? 'b' : ''}${t.loopEpilogue ? 'l' : ''}`;
}

/** The pipeline-cache key part of a plan: the tile, the operand modes and their vec4-ness. */
export function planKey(p: GemmPlan): string {
  return `${tileKey(p.tile)},${p.a}${p.b}${p.aVec ? 1 : 0}${p.bVec ? 1 : 0}`;
}

interface AdapterLanes {
  bcast: boolean;
  L: number;
}

/** The adapter's lanes, and whether a test forces the per-lane loads (`forceNoSubgroups`). */
const LANES = stateSlot<{ adapter: AdapterLanes; forced: AdapterLanes | null }>('gemm-lanes', (e) => {
  const info = e.adapter.info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
  const min = info.subgroupMinSize ?? 0;
  const max = info.subgroupMaxSize ?? 0;
  const ok = e.device.features.has('subgroups') && min > 0 && min === max && min <= 64;
  return { adapter: ok ? { bcast: true, L: min } : { bcast: false, L: 8 }, forced: null };
});

/**
 * Makes the lavapipe GEMMs of this engine load A rows per lane instead of sharing them with subgroupBroadcast, as
 * on an adapter without the `subgroups` feature or a fixed subgroup size (tests; `false` restores the adapter's).
 */
export function forceNoSubgroups(e: Engine, on: boolean): void {
  e.state(LANES).forced = on ? { bcast: false, L: 8 } : null;
}

/** Subgroup broadcast needs the feature and one fixed subgroup size (the workgroup is exactly one subgroup). */
export function adapterLanes(e: Engine): AdapterLanes {
  const s = e.state(LANES);
  return s.forced ?? s.adapter;
}

/**
 * Tile for an output with `rows` rows and `macs` multiply-adds in all: `maxRows` rows per workgroup (16 or 32 are
 * the fastest here, dev/NOTES.md; 32 compiles 2-3× slower), fewer for short outputs, and 8 for small products,
 * where compiling a bigger unrolled kernel (seconds on llvmpipe) would cost more than it saves.
 */
export function chooseTile(e: Engine, rows: number, macs: number, maxRows = 16): GemmTile {
  const { bcast, L } = adapterLanes(e);
  const want = macs < 2 ** 22 ? 8 : maxRows;
  const full = Math.max(L, want - (want % L));
  const TM = Math.min(full, Math.ceil(rows / L) * L);
  return { L, TM, TNv: 1, bcast };
}

// ------------------------------------------------------------------ code generation shared with conv2d.ts

/** Number of per-lane A registers per K chunk (vec4 each; in 'm' mode one per k of the chunk). */
export function aSlots(p: GemmPlan): number {
  const { L, TM, bcast } = p.tile;
  if (p.a === 'k') return bcast ? TM / L : TM;
  return bcast ? Math.ceil(TM / (4 * L)) : Math.ceil(TM / 4);
}

/**
 * Row (relative to the tile's first row) that A slot `s` of this lane holds: in 'k' mode the slot is one row
 * (4 consecutive k); in 'm' mode the first of 4 consecutive rows (one k).
 */
export function aSlotRow(p: GemmPlan, s: number): string {
  const { L, bcast } = p.tile;
  if (p.a === 'k') return bcast ? `(lane + ${L * s}u)` : `${s}u`;
  return bcast ? `(4u * lane + ${4 * L * s}u)` : `${4 * s}u`;
}

/** Name of the A register of slot `s` (and chunk position `q` in 'm' mode). */
export function aReg(p: GemmPlan, s: number, q: number): string {
  return p.a === 'k' ? `va_${s}` : `va_${q}_${s}`;
}

/** The value A[row r of the tile, k + q] as seen by every lane. */
function aValue(p: GemmPlan, r: number, q: number): string {
  const { L, bcast } = p.tile;
  if (p.a === 'k') {
    const s = bcast ? Math.floor(r / L) : r;
    const v = `va_${s}.${COMP[q]}`;
    return bcast ? `subgroupBroadcast(${v}, ${r % L}u)` : v;
  }
  const s = bcast ? Math.floor(r / (4 * L)) : Math.floor(r / 4);
  const v = `va_${q}_${s}.${COMP[r % 4]}`;
  return bcast ? `subgroupBroadcast(${v}, ${Math.floor((r % (4 * L)) / 4)}u)` : v;
}

/**
 * Column (relative to the tile's first column) of component `c` of this lane's accumulator group `j`: in 'n' mode a
 * lane owns 4 adjacent columns per group (B read as vec4 along N); in 'k' mode columns L apart (B read along K).
 */
export function colOffset(p: GemmPlan, j: number, c: number): string {
  const L = p.tile.L;
  return p.b === 'n' ? `(${4 * L * j + c}u + 4u * lane)` : `(${L * (4 * j + c)}u + lane)`;
}

/** Tile width in columns. */
export function tileCols(t: GemmTile): number {
  return 4 * t.TNv * t.L;
}

/** Number of per-lane B registers a chunk loads in 'k' mode (one vec4 along K per column). */
export function bColsPerLane(p: GemmPlan): number {
  return 4 * p.tile.TNv;
}

/** The accumulator of tile row r, column group j. */
function acc(p: GemmPlan, r: number | string, j: number): string {
  return p.tile.loopEpilogue ? `acc[${typeof r === 'number' ? r * p.tile.TNv + j : `${r} * ${p.tile.TNv}u + ${j}u`}]` : `acc_${r}_${j}`;
}

export function accDecls(p: GemmPlan): string {
  if (p.tile.loopEpilogue) return `var acc: array<vec4f, ${p.tile.TM * p.tile.TNv}>;`;
  return range(p.tile.TM)
    .map((r) => range(p.tile.TNv).map((j) => `var acc_${r}_${j} = vec4f(0.0);`).join(' '))
    .join('\n  ');
}

/**
 * The multiply-adds of one K chunk. Expects `b_${q}_${j}` (vec4, B[k+q] at this lane's group-j columns) for 'n'
 * mode, or `vb_${jj}` (vec4 along K for column jj) for 'k' mode, and the A registers.
 */
export function fmaChunk(p: GemmPlan): string {
  const { TM, TNv } = p.tile;
  const lines: string[] = [];
  if (p.b === 'k') {
    for (let q = 0; q < 4; q++) {
      for (let j = 0; j < TNv; j++) {
        lines.push(`let b_${q}_${j} = vec4f(${range(4).map((c) => `vb_${4 * j + c}.${COMP[q]}`).join(', ')});`);
      }
    }
  }
  for (let r = 0; r < TM; r++) {
    for (let q = 0; q < 4; q++) {
      lines.push(`{ let a = vec4f(${aValue(p, r, q)}); ${range(TNv).map((j) => `${acc(p, r, j)} = fma(a, b_${q}_${j}, ${acc(p, r, j)});`).join(' ')} }`);
    }
  }
  return lines.join('\n    ');
}

/** Bindings in order: each [name, access, element type]. */
export function bindingDecls(decls: [string, 'read' | 'read_write', string][]): string {
  return decls.map(([name, access, ty], i) => `@group(0) @binding(${i}) var<storage, ${access}> ${name}: array<${ty}>;`).join('\n');
}

/** Kernel header: the enable line, and an entry point giving `lane` and a flat workgroup index `wg`. */
export function gemmEntry(t: GemmTile): { enable: string; entry: string } {
  const lane = t.bcast ? '@builtin(subgroup_invocation_id) lane: u32' : '@builtin(local_invocation_index) lane: u32';
  return {
    enable: t.bcast ? 'enable subgroups;\n' : '',
    entry: `@compute @workgroup_size(${t.L})
fn main(${lane}, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let wg = wid.x + wid.y * nwg.x;`,
  };
}

export interface EpilogueSpec {
  /** Output columns (N); the output is stored row-major with row stride `N` unless `rowBase` says otherwise. */
  N: number;
  /** WGSL u32 expression of the tile's first column. */
  col0: string;
  /** For tile row r (a WGSL u32 expression): a bool guard and the flat float offset of the row's first element. */
  row: (r: string) => { guard: string; base: string };
  /** Name of a bias binding (array<vec4f> when vecOut, else array<f32>), or null. */
  bias: string | null;
  relu: boolean;
  /** Store as vec4 (needs 'n' mode, N % 4 == 0 and the output bound as array<vec4f> named `out4`). */
  vecOut: boolean;
}

/** Adds bias, applies ReLU and stores the accumulators (output binding `out` or `out4`). */
export function epilogue(p: GemmPlan, s: EpilogueSpec): string {
  const { TM, TNv } = p.tile;
  const lines: string[] = [];
  for (let j = 0; j < TNv; j++) {
    lines.push(range(4).map((c) => `let col_${j}_${c} = ${s.col0} + ${colOffset(p, j, c)};`).join(' '));
    if (s.bias) {
      if (s.vecOut) lines.push(`let bias_${j} = ${s.bias}[min(col_${j}_0, ${s.N - 4}u) / 4u];`);
      else lines.push(`let bias_${j} = vec4f(${range(4).map((c) => `${s.bias}[min(col_${j}_${c}, ${s.N - 1}u)]`).join(', ')});`);
    }
  }
  const loop = p.tile.loopEpilogue ?? false;
  for (let r = 0; r < (loop ? 1 : TM); r++) {
    const rr = loop ? 'r' : `${r}u`;
    const { guard, base } = s.row(rr);
    const body: string[] = [];
    for (let j = 0; j < TNv; j++) {
      let v = acc(p, loop ? 'r' : r, j);
      if (s.bias) v = `(${v} + bias_${j})`;
      if (s.relu) v = `max(${v}, vec4f(0.0))`;
      if (s.vecOut) {
        body.push(`if (col_${j}_0 < ${s.N}u) { out4[(ob + col_${j}_0) / 4u] = ${v}; }`);
      } else {
        body.push(`{ let v = ${v}; ${range(4).map((c) => `if (col_${j}_${c} < ${s.N}u) { out[ob + col_${j}_${c}] = v.${COMP[c]}; }`).join(' ')} }`);
      }
    }
    const stmt = `if (${guard}) { let ob = ${base}; ${body.join(' ')} }`;
    lines.push(loop ? `for (var r = 0u; r < ${TM}u; r++) { ${stmt} }` : stmt);
  }
  return lines.join('\n  ');
}

// ------------------------------------------------------------------ matmul

export interface MatmulOptions {
  /** A is stored [K, M] (use Aᵀ). */
  transA?: boolean;
  /** B is stored [N, K] (use Bᵀ). */
  transB?: boolean;
  /** Added to every row: [N]. */
  bias?: Tensor | null;
  relu?: boolean;
  /** Write into this tensor ([M, N]) instead of a new one. */
  out?: Tensor;
}

export interface MatmulDims {
  M: number;
  N: number;
  K: number;
  /** Independent products stacked along a leading dimension of A, B and C (default 1). */
  batch?: number;
}

export function matmulDims(a: readonly number[], b: readonly number[], transA: boolean, transB: boolean): MatmulDims {
  if (a.length !== 2 || b.length !== 2) throw new Error(`matmul: operands must be 2-D, got [${a.join(', ')}] and [${b.join(', ')}]`);
  const [M, Ka] = transA ? [a[1]!, a[0]!] : [a[0]!, a[1]!];
  const [Kb, N] = transB ? [b[1]!, b[0]!] : [b[0]!, b[1]!];
  if (Ka !== Kb) throw new Error(`matmul: inner dimensions differ: [${a.join(', ')}]${transA ? 'ᵀ' : ''} · [${b.join(', ')}]${transB ? 'ᵀ' : ''}`);
  if (M < 1 || N < 1 || Ka < 1) throw new Error(`matmul: empty operand [${a.join(', ')}] · [${b.join(', ')}]`);
  return { M, N, K: Ka };
}

export function matmulPlan(tile: GemmTile, d: MatmulDims, transA: boolean, transB: boolean): GemmPlan {
  const a: AMode = transA ? 'm' : 'k';
  const b: BMode = transB ? 'k' : 'n';
  return { tile, a, b, aVec: (a === 'k' ? d.K : d.M) % 4 === 0, bVec: (b === 'n' ? d.N : d.K) % 4 === 0 };
}

/** WGSL that loads this chunk's A registers for a plain matrix: A[M,K] ('k') or A[K,M] ('m'); `k` is the chunk start. */
function matmulLoadA(p: GemmPlan, d: MatmulDims): string {
  const { M, K } = d;
  const o = (d.batch ?? 1) > 1 ? 'aOff + ' : '';
  const tailK = K % 4 !== 0;
  const lines: string[] = [];
  for (let s = 0; s < aSlots(p); s++) {
    if (p.a === 'k') {
      if (p.aVec) lines.push(`let va_${s} = A4[${o}ar_${s} + k / 4u];`);
      else {
        const el = (q: number) => (tailK ? `select(0.0, A[${o}ar_${s} + min(k + ${q}u, ${K - 1}u)], k + ${q}u < ${K}u)` : `A[${o}ar_${s} + k + ${q}u]`);
        lines.push(`let va_${s} = vec4f(${range(4).map(el).join(', ')});`);
      }
    } else {
      for (let q = 0; q < 4; q++) {
        const krow = tailK ? `min(k + ${q}u, ${K - 1}u)` : `(k + ${q}u)`;
        let v = p.aVec ? `A4[${o}${krow} * ${M / 4}u + ar_${s} / 4u]` : `vec4f(${range(4).map((c) => `A[${o}${krow} * ${M}u + min(ar_${s} + ${c}u, ${M - 1}u)]`).join(', ')})`;
        if (tailK) v = `select(vec4f(0.0), ${v}, k + ${q}u < ${K}u)`;
        lines.push(`let va_${q}_${s} = ${v};`);
      }
    }
  }
  return lines.join('\n    ');
}

/** WGSL that loads this chunk's B registers: B[K,N] ('n', as b_q_j) or B[N,K] ('k', as vb_jj). */
function matmulLoadB(p: GemmPlan, d: MatmulDims): string {
  const { N, K } = d;
  const o = (d.batch ?? 1) > 1 ? 'bOff + ' : '';
  const lines: string[] = [];
  const kq = (q: number) => (K % 4 !== 0 ? `min(k + ${q}u, ${K - 1}u)` : `(k + ${q}u)`);
  if (p.b === 'n') {
    for (let q = 0; q < 4; q++) {
      for (let j = 0; j < p.tile.TNv; j++) {
        if (p.bVec) lines.push(`let b_${q}_${j} = B4[${o}${kq(q)} * ${N / 4}u + bc_${j}_0 / 4u];`);
        else lines.push(`let b_${q}_${j} = vec4f(${range(4).map((c) => `B[${o}${kq(q)} * ${N}u + bc_${j}_${c}]`).join(', ')});`);
      }
    }
  } else {
    for (let jj = 0; jj < bColsPerLane(p); jj++) {
      if (p.bVec) lines.push(`let vb_${jj} = B4[${o}bc_${jj} * ${K / 4}u + k / 4u];`);
      else lines.push(`let vb_${jj} = vec4f(${range(4).map((q) => `B[${o}bc_${jj} * ${K}u + ${kq(q)}]`).join(', ')});`);
    }
  }
  return lines.join('\n    ');
}

export function matmulCode(p: GemmPlan, d: MatmulDims, hasBias: boolean, relu: boolean): string {
  const { M, N, K } = d;
  const t = p.tile;
  const rowBlocks = Math.ceil(M / t.TM);
  const colBlocks = Math.ceil(N / tileCols(t));
  const vecOut = p.b === 'n' && N % 4 === 0;
  const decls: [string, 'read' | 'read_write', string][] = [
    [p.aVec ? 'A4' : 'A', 'read', p.aVec ? 'vec4f' : 'f32'],
    [p.bVec ? 'B4' : 'B', 'read', p.bVec ? 'vec4f' : 'f32'],
  ];
  if (hasBias) decls.push([vecOut ? 'bias4' : 'bias', 'read', vecOut ? 'vec4f' : 'f32']);
  decls.push([vecOut ? 'out4' : 'out', 'read_write', vecOut ? 'vec4f' : 'f32']);
  const { enable, entry } = gemmEntry(t);
  const setup: string[] = [];
  for (let s = 0; s < aSlots(p); s++) {
    const row = `row0 + ${aSlotRow(p, s)}`;
    if (p.a === 'k') setup.push(`let ar_${s} = min(${row}, ${M - 1}u) * ${p.aVec ? K / 4 : K}u;`);
    else setup.push(`let ar_${s} = min(${row}, ${p.aVec ? M - 4 : M - 1}u);`);
  }
  if (p.b === 'n') {
    for (let j = 0; j < t.TNv; j++) {
      if (p.bVec) setup.push(`let bc_${j}_0 = min(col0 + ${colOffset(p, j, 0)}, ${N - 4}u);`);
      else for (let c = 0; c < 4; c++) setup.push(`let bc_${j}_${c} = min(col0 + ${colOffset(p, j, c)}, ${N - 1}u);`);
    }
  } else {
    for (let jj = 0; jj < bColsPerLane(p); jj++) setup.push(`let bc_${jj} = min(col0 + ${colOffset(p, Math.floor(jj / 4), jj % 4)}, ${N - 1}u);`);
  }
  const batch = d.batch ?? 1;
  const tiles = rowBlocks * colBlocks;
  // Batched: the flat workgroup index picks the slice first; each operand's slice starts `slice · its size` in.
  const sliced =
    batch > 1
      ? `let slice = wg / ${tiles}u; let wt = wg % ${tiles}u;
  let aOff = slice * ${(M * K) / (p.aVec ? 4 : 1)}u; let bOff = slice * ${(K * N) / (p.bVec ? 4 : 1)}u; let cOff = slice * ${M * N}u;`
      : '';
  const w = batch > 1 ? 'wt' : 'wg';
  return `${enable}${bindingDecls(decls)}
${entry}
  if (wg >= ${batch * tiles}u) { return; }${sliced ? `\n  ${sliced}` : ''}
  let row0 = (${w} / ${colBlocks}u) * ${t.TM}u;
  let col0 = (${w} % ${colBlocks}u) * ${tileCols(t)}u;
  ${setup.join('\n  ')}
  ${accDecls(p)}
  for (var k = 0u; k < ${K}u; k += 4u) {
    ${matmulLoadA(p, d)}
    ${matmulLoadB(p, d)}
    ${fmaChunk(p)}
  }
  ${epilogue(p, {
    N,
    col0: 'col0',
    row: (r) => ({ guard: `row0 + ${r} < ${M}u`, base: `${batch > 1 ? 'cOff + ' : ''}(row0 + ${r}) * ${N}u` }),
    bias: hasBias ? (vecOut ? 'bias4' : 'bias') : null,
    relu,
    vecOut,
  })}
}`;
}

/** Number of workgroups for a tile over rows × cols, as a grid within the per-dimension limit. */
export function tileGrid(t: GemmTile, rows: number, cols: number): [number, number] {
  return grid(Math.ceil(rows / t.TM) * Math.ceil(cols / tileCols(t)), 1);
}

const MATMUL_NAMES = ['matmul', 'matmul_tA', 'matmul_tB', 'matmul_tA_tB'] as const;

/** The workgroup-memory kernel (gemm-tiled.ts) for a plain or batched matmul; vec4 staging where rows allow it. */
function tiledMatmulCall(name: string, v: TiledVariant, d: MatmulDims, transA: boolean, transB: boolean, hasBias: boolean, relu: boolean, bindings: Tensor[]): KernelCall {
  const { M, N, K } = d;
  const batch = d.batch ?? 1;
  const cfg = TILED_CONFIGS[v];
  // The contiguous index of each operand, and whether its extent allows vec4 loads.
  const aVec = (transA ? M : K) % 4 === 0;
  const bVec = (transB ? K : N) % 4 === 0;
  const aIdx = `b * ${M * K}u + ${transA ? `k * ${M}u + m` : `m * ${K}u + k`}`;
  const bIdx = `b * ${K * N}u + ${transB ? `n * ${K}u + k` : `k * ${N}u + n`}`;
  const code = (): string => {
    const decls: [string, 'read' | 'read_write', string][] = [aVec ? ['A4', 'read', 'vec4f'] : ['A', 'read', 'f32'], bVec ? ['B4', 'read', 'vec4f'] : ['B', 'read', 'f32']];
    if (hasBias) decls.push(['bias', 'read', 'f32']);
    decls.push(['out', 'read_write', 'f32']);
    let v2 = hasBias ? 'v + bias[n]' : 'v';
    if (relu) v2 = `max(${v2}, 0.0)`;
    return tiledGemmCode(cfg, {
      M,
      N,
      K,
      batch,
      aAlongK: !transA,
      bAlongN: !transB,
      aVec4: aVec,
      bVec4: bVec,
      bindings: bindingDecls(decls),
      functions: `${tiledLoad('A', 'm: u32, k: u32', 'A', aVec, () => `let idx = ${aIdx};`)}
${tiledLoad('B', 'k: u32, n: u32', 'B', bVec, () => `let idx = ${bIdx};`)}
fn storeC(b: u32, m: u32, n: u32, v: f32) { out[b * ${M * N}u + m * ${N}u + n] = ${v2}; }`,
    });
  };
  return { name, key: `matmul_${v}:${M},${N},${K},${batch},${transA ? 1 : 0}${transB ? 1 : 0}${hasBias ? 1 : 0}${relu ? 1 : 0}`, code, bindings, workgroups: tiledWorkgroups(cfg, { M, N, batch }) };
}

/** C = op(A)·op(B) (+ bias) (ReLU). A is [M,K] ([K,M] with transA), B is [K,N] ([N,K] with transB); C is [M,N]. */
export function matmulForward(e: Engine, a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  const d = matmulDims(a.shape, b.shape, transA, transB);
  const bias = opts.bias ?? null;
  if (bias && (bias.size !== d.N || bias.rank !== 1)) throw new Error(`matmul: bias must be [${d.N}], got [${bias.shape.join(', ')}]`);
  if (opts.out && (opts.out.rank !== 2 || opts.out.shape[0] !== d.M || opts.out.shape[1] !== d.N)) {
    throw new Error(`matmul: output must be [${d.M}, ${d.N}], got [${opts.out.shape.join(', ')}]`);
  }
  const out = opts.out ?? e.empty([d.M, d.N], 'f32', 'matmul');
  const relu = opts.relu ?? false;
  const name = MATMUL_NAMES[(transA ? 1 : 0) + (transB ? 2 : 0)]!;
  runGemm(e, { family: 'matmul', M: d.M, N: d.N, K: d.K, batch: 1 }, bias ? [a, b, bias, out] : [a, b, out], (v: GemmVariant, bs) => {
    if (v !== 'lanes') return tiledMatmulCall(name, v, d, transA, transB, bias !== null, relu, bs);
    const tile = chooseTile(e, d.M, d.M * d.N * d.K);
    const p = matmulPlan(tile, d, transA, transB);
    return {
      name,
      key: `matmul:${d.M},${d.N},${d.K},1,${planKey(p)},${bias !== null ? 1 : 0}${relu ? 1 : 0}`,
      code: () => matmulCode(p, d, bias !== null, relu),
      bindings: bs,
      workgroups: tileGrid(tile, d.M, d.N),
    };
  });
  return out;
}

/** C[s] = A[s]·B[s] for every slice s: A [S, M, K], B [S, K, N] → C [S, M, N], one dispatch. */
export function batchedMatmul(e: Engine, a: Tensor, b: Tensor, out?: Tensor): Tensor {
  if (a.rank !== 3 || b.rank !== 3 || a.shape[0] !== b.shape[0]) {
    throw new Error(`batched matmul: operands must be [S, M, K] and [S, K, N], got [${a.shape.join(', ')}] and [${b.shape.join(', ')}]`);
  }
  const [S, M, K] = a.shape as [number, number, number];
  const d: MatmulDims = { ...matmulDims([M, K], [b.shape[1]!, b.shape[2]!], false, false), batch: S };
  const shape = [S, M, d.N];
  if (out && (out.rank !== 3 || out.shape.some((x, i) => x !== shape[i]))) {
    throw new Error(`batched matmul: output must be [${shape.join(', ')}], got [${out.shape.join(', ')}]`);
  }
  const c = out ?? e.empty(shape, 'f32', 'batched_matmul');
  runGemm(e, { family: 'batched_matmul', M, N: d.N, K, batch: S }, [a, b, c], (v: GemmVariant, bs) => {
    if (v !== 'lanes') return tiledMatmulCall('batched_matmul', v, d, false, false, false, false, bs);
    const tile = chooseTile(e, M, S * M * d.N * K);
    const p = matmulPlan(tile, d, false, false);
    const tiles = Math.ceil(M / tile.TM) * Math.ceil(d.N / tileCols(tile));
    return { name: 'batched_matmul', key: `matmul:${M},${d.N},${K},${S},${planKey(p)},00`, code: () => matmulCode(p, d, false, false), bindings: bs, workgroups: grid(S * tiles, 1) };
  });
  return c;
}

// ------------------------------------------------------------------ ReLU mask and column sums (bias gradients)

const SUM_ROWS = 256;

/**
 * For a gradient gy [M, C] of a layer whose output y went through ReLU: `masked` = gy·(y > 0) (when `y` is given and
 * `wantMasked`), and `sums` = column sums of the (masked) gradient, i.e. the bias gradient (when `wantSums`).
 * Columns are spread over lanes (vec4 when C % 4 == 0) and rows over workgroups in blocks of 256, whose partial sums
 * a second pass adds up.
 */
export function reluMaskColumnSums(
  e: Engine,
  gy: Tensor,
  y: Tensor | null,
  want: { masked: boolean; sums: boolean },
): { masked: Tensor | null; sums: Tensor | null } {
  const C = gy.shape[gy.rank - 1]!;
  const M = gy.size / C;
  const doMask = y !== null && want.masked;
  if (!doMask && !want.sums) return { masked: null, sums: null };
  if (y && y.size !== gy.size) throw new Error(`relu mask: y has ${y.size} elements, gy ${gy.size}`);
  const v = C % 4 === 0 ? 4 : 1;
  const ty = v === 4 ? 'vec4f' : 'f32';
  const Cv = C / v;
  const WG = 64;
  const colGroups = Math.ceil(Cv / WG);
  const rowBlocks = Math.ceil(M / SUM_ROWS);
  const masked = doMask ? e.empty(gy.shape, 'f32', 'relu_mask') : null;
  const partial = want.sums ? e.empty([rowBlocks, C], 'f32', 'colsum_partial') : null;
  const code = (): string => {
    const decls: [string, 'read' | 'read_write', string][] = [['gy', 'read', ty]];
    if (y) decls.push(['y', 'read', ty]);
    if (doMask) decls.push(['masked', 'read_write', ty]);
    if (want.sums) decls.push(['partial', 'read_write', ty]);
    const g = y ? `select(${ty}(0.0), gy[i], y[i] > ${ty}(0.0))` : 'gy[i]';
    return `${bindingDecls(decls)}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  let block = gid.y;
  if (c >= ${Cv}u) { return; }
  let r1 = min(block * ${SUM_ROWS}u + ${SUM_ROWS}u, ${M}u);
  var s = ${ty}(0.0);
  for (var r = block * ${SUM_ROWS}u; r < r1; r++) {
    let i = r * ${Cv}u + c;
    let g = ${g};
    ${doMask ? 'masked[i] = g;' : ''}
    s += g;
  }
  ${want.sums ? 'partial[block * ' + Cv + 'u + c] = s;' : '_ = s;'}
}`;
  };
  const bindings = [gy, ...(y ? [y] : []), ...(masked ? [masked] : []), ...(partial ? [partial] : [])];
  e.run({
    name: doMask ? (want.sums ? 'relu_mask_colsum' : 'relu_mask') : 'colsum',
    key: `relu_mask_colsum:${M},${C},${y ? 1 : 0}${doMask ? 1 : 0}${want.sums ? 1 : 0}`,
    code,
    bindings,
    workgroups: [colGroups, rowBlocks],
  });
  if (!partial) return { masked, sums: null };
  if (rowBlocks === 1) {
    const sums = partial.reshape([C]);
    partial.dispose();
    return { masked, sums };
  }
  const sums = e.empty([C], 'f32', 'colsum');
  e.run({
    name: 'colsum_final',
    key: `colsum_final:${C},${rowBlocks}`,
    code: () => `${bindingDecls([
      ['partial', 'read', ty],
      ['sums', 'read_write', ty],
    ])}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= ${Cv}u) { return; }
  var s = ${ty}(0.0);
  for (var b = 0u; b < ${rowBlocks}u; b++) { s += partial[b * ${Cv}u + c]; }
  sums[c] = s;
}`,
    bindings: [partial, sums],
    workgroups: [colGroups],
  });
  partial.dispose();
  return { masked, sums };
}
