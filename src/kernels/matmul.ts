/**
 * The GEMM family: matrix products C = op(A)·op(B) (+ bias, ReLU), and the lanes kernel that runs every GEMM
 * described by a GemmSpec (gemm-spec.ts: these products and the implicit-GEMM convolutions of conv2d.ts), beside
 * the workgroup-memory kernel of gemm-tiled.ts that reads the same descriptions (`gemmCall` builds either).
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
import { activate, bindingDecls, bufferDecl, denseOperand, storeIndex, type GemmActivation, type GemmOperand, type GemmSpec, type TapVars } from './gemm-spec.js';
import { tiledGemmCode, tiledWorkgroups } from './gemm-tiled.js';
import { runGemm, TILED_CONFIGS, type GemmVariant } from './gemm-variant.js';

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
  /**
   * Subgroups per workgroup (default 1), each with its own tile: fewer, larger workgroups for the same code. Assumes
   * subgroup g of a workgroup holds local invocations g·L … g·L + L − 1 (true of SwiftShader's and llvmpipe's SIMD).
   */
  groups?: number;
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
  return `${t.L}x${t.TM}x${t.TNv}${t.bcast ? 'b' : ''}${t.loopEpilogue ? 'l' : ''}${(t.groups ?? 1) > 1 ? `g${t.groups}` : ''}`;
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
 * Tile for an output with `rows` rows and `macs` multiply-adds in all: `maxRows` rows per workgroup
 * (16 or 32 are the fastest here, dev/NOTES.md; 32 compiles 2-3× slower), fewer for short outputs, and 8 for small
 * products, where compiling a bigger unrolled kernel (seconds on llvmpipe) would cost more than it saves.
 * With 4-lane subgroups (SwiftShader) a large product puts 4 subgroups in a workgroup (fewer, larger workgroups for
 * the same code) and, given `cols` ≥ 32 output columns (the forward convolutions pass theirs), 2 column groups per
 * lane: MobileNetV2's forward there 15% less CPU than with one-subgroup 16 × 16 tiles (dev/tab-ab.mjs), the
 * pipelines compiling no slower in all.
 */
export function chooseTile(e: Engine, rows: number, macs: number, maxRows = 16, cols = 0): GemmTile {
  const { bcast, L } = adapterLanes(e);
  const big = macs >= 2 ** 22;
  const want = big ? maxRows : 8;
  const full = Math.max(L, want - (want % L));
  const TM = Math.min(full, Math.ceil(rows / L) * L);
  if (bcast && L === 4 && big) return { L, TM, TNv: cols >= 32 && TM <= 16 ? 2 : 1, bcast, groups: 4 };
  return { L, TM, TNv: 1, bcast };
}

// ------------------------------------------------------------------ the lanes kernel, from a GemmSpec

/** Number of per-lane A registers per K chunk (vec4 each; in 'm' mode one per k of the chunk). */
function aSlots(p: GemmPlan): number {
  const { L, TM, bcast } = p.tile;
  if (p.a === 'k') return bcast ? TM / L : TM;
  return bcast ? Math.ceil(TM / (4 * L)) : Math.ceil(TM / 4);
}

/**
 * Row (relative to the tile's first row) that A slot `s` of this lane holds: in 'k' mode the slot is one row
 * (4 consecutive k); in 'm' mode the first of 4 consecutive rows (one k).
 */
function aSlotRow(p: GemmPlan, s: number): string {
  const { L, bcast } = p.tile;
  if (p.a === 'k') return bcast ? `(lane + ${L * s}u)` : `${s}u`;
  return bcast ? `(4u * lane + ${4 * L * s}u)` : `${4 * s}u`;
}

/** Name of the A register of slot `s` (and chunk position `q` in 'm' mode). */
function aReg(p: GemmPlan, s: number, q: number): string {
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
function colOffset(p: GemmPlan, j: number, c: number): string {
  const L = p.tile.L;
  return p.b === 'n' ? `(${4 * L * j + c}u + 4u * lane)` : `(${L * (4 * j + c)}u + lane)`;
}

/** Tile width in columns. */
export function tileCols(t: GemmTile): number {
  return 4 * t.TNv * t.L;
}

/** The accumulator of tile row r, column group j. */
function acc(p: GemmPlan, r: number | string, j: number): string {
  return p.tile.loopEpilogue ? `acc[${typeof r === 'number' ? r * p.tile.TNv + j : `${r} * ${p.tile.TNv}u + ${j}u`}]` : `acc_${r}_${j}`;
}

function accDecls(p: GemmPlan): string {
  if (p.tile.loopEpilogue) return `var acc: array<vec4f, ${p.tile.TM * p.tile.TNv}>;`;
  return range(p.tile.TM)
    .map((r) => range(p.tile.TNv).map((j) => `var acc_${r}_${j} = vec4f(0.0);`).join(' '))
    .join('\n  ');
}

/**
 * The multiply-adds of one K chunk. Expects `b_${q}_${j}` (vec4, B[k+q] at this lane's group-j columns) for 'n'
 * mode, or `vb_${jj}` (vec4 along K for column jj) for 'k' mode, and the A registers.
 */
function fmaChunk(p: GemmPlan): string {
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

/** Kernel header: the enable line, and an entry point giving `lane` and a flat workgroup index `wg`. */
function gemmEntry(t: GemmTile): { enable: string; entry: string } {
  const G = t.groups ?? 1;
  const enable = t.bcast ? 'enable subgroups;\n' : '';
  if (G > 1) {
    // A subgroup's `wg` is uniform across it (one subgroup per L consecutive invocations), which WGSL cannot see.
    const uniform = t.bcast ? 'diagnostic(off, subgroup_uniformity);\n' : '';
    const lane = t.bcast ? '@builtin(subgroup_invocation_id) lane: u32, ' : '';
    return {
      enable: enable + uniform,
      entry: `@compute @workgroup_size(${t.L * G})
fn main(${lane}@builtin(local_invocation_index) lidx: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${t.bcast ? '' : `let lane = lidx % ${t.L}u;\n  `}let wg = (wid.x + wid.y * nwg.x) * ${G}u + lidx / ${t.L}u;`,
    };
  }
  const lane = t.bcast ? '@builtin(subgroup_invocation_id) lane: u32' : '@builtin(local_invocation_index) lane: u32';
  return {
    enable,
    entry: `@compute @workgroup_size(${t.L})
fn main(${lane}, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let wg = wid.x + wid.y * nwg.x;`,
  };
}

/** The lanes kernel's operand modes: A along k or m, B along n or k. */
export function specPlan(tile: GemmTile, s: GemmSpec): GemmPlan {
  return { tile, a: s.a.along === 'k' ? 'k' : 'm', b: s.b.along === 'x' ? 'n' : 'k', aVec: s.a.vec, bVec: s.b.vec };
}

/** Row tiles of the lanes kernel: per tap when the rows are taps × channels (a row tile never straddles two taps). */
function rowBlocks(t: GemmTile, s: Pick<GemmSpec, 'M' | 'taps'>): number {
  return s.taps?.axis === 'm' ? s.taps.KH * s.taps.KW * Math.ceil(s.taps.inner / t.TM) : Math.ceil(s.M / t.TM);
}

/** The lanes kernel's workgroups: one per tile of each product, as a grid within the per-dimension limit. */
export function lanesWorkgroups(t: GemmTile, s: Pick<GemmSpec, 'M' | 'N' | 'batch' | 'taps'>): [number, number] {
  return grid(Math.ceil((s.batch * rowBlocks(t, s) * Math.ceil(s.N / tileCols(t))) / (t.groups ?? 1)), 1);
}

/** `let name = v;`, or with the element's validity: the index zeroed where it is not valid (never read there). */
function located(name: string, at: { ok?: string; base: string }): string {
  return at.ok ? `let ok${name} = ${at.ok}; let ${name} = select(0u, ${at.base}, ok${name});` : `let ${name} = ${at.base};`;
}

/**
 * The lanes GEMM (see the top of this file) of a GemmSpec. K advances 4 at a time; with taps on K, in a loop over
 * the taps and then 4 channels at a time (each tap's last chunk padded with zeros); with taps on M, each workgroup
 * takes its tap from its row tile.
 */
export function lanesGemmCode(tile: GemmTile, s: GemmSpec): string {
  const p = specPlan(tile, s);
  const { a: A, b: B } = s;
  const kTaps = s.taps?.axis === 'k' ? s.taps : null;
  const mTaps = s.taps?.axis === 'm' ? s.taps : null;
  if (mTaps && A.along === 'k') throw new Error('lanes GEMM: rows of taps need A contiguous along them');
  // Extents of the inner indices (a tapped axis's channels), and the tap in scope for each operand.
  const kExt = kTaps?.inner ?? s.K;
  const mExt = mTaps?.inner ?? s.M;
  const tapA = s.taps ? { ky: 'ky', kx: 'kx' } : null;
  const tapB = kTaps ? { ky: 'ky', kx: 'kx' } : null;
  const tail = kExt % 4 !== 0;
  const colBlocks = Math.ceil(s.N / tileCols(tile));
  const tiles = rowBlocks(tile, s) * colBlocks;
  const c = s.c;
  const vecOut = p.b === 'n' && s.N % 4 === 0 && c.rowStride % 4 === 0 && (c.offset ?? 0) % 4 === 0;
  const decls = [bufferDecl(A.name, A.vec), bufferDecl(B.name, B.vec)];
  if (c.bias) decls.push(bufferDecl('bias', vecOut));
  decls.push(bufferDecl('out', vecOut, 'read_write'));

  const head: string[] = [];
  const w = s.batch > 1 ? 'wt' : 'wg';
  if (s.batch > 1) head.push(`let b = wg / ${tiles}u; let wt = wg % ${tiles}u;`);
  if (mTaps) {
    const blocks = Math.ceil(mTaps.inner / tile.TM);
    head.push(
      `let rb = ${w} / ${colBlocks}u; let tap = rb / ${blocks}u; let ky = tap / ${mTaps.KW}u; let kx = tap % ${mTaps.KW}u;`,
      `let m0 = (rb % ${blocks}u) * ${tile.TM}u; let row0 = tap * ${mTaps.inner}u + m0;`,
    );
  } else head.push(`let row0 = (${w} / ${colBlocks}u) * ${tile.TM}u; let m0 = row0;`);
  head.push(`let col0 = (${w} % ${colBlocks}u) * ${tileCols(tile)}u;`);

  // Operands whose outer index is the row / column (contiguous along k): located once per workgroup, or per tap.
  const setup: string[] = [];
  const perTap: string[] = [];
  const place = (o: string, op: GemmOperand, sfx: string, tap: TapVars | null) => {
    if (op.pre) setup.push(op.pre(o, sfx));
    const at = op.at(o, sfx, tap);
    (kTaps ? perTap : setup).push(`${at.lines ? `${at.lines} ` : ''}${located(`base${sfx}`, at)}`);
    return at.ok ? `okbase${sfx}` : null;
  };
  const aOk: (string | null)[] = [];
  for (let i = 0; i < aSlots(p); i++) {
    if (p.a === 'k') {
      setup.push(`let am_${i} = min(m0 + ${aSlotRow(p, i)}, ${mExt - 1}u);`);
      aOk.push(place(`am_${i}`, A, `_a${i}`, tapA));
    } else setup.push(A.vec ? `let am_${i} = min(m0 + ${aSlotRow(p, i)}, ${mExt - 4}u);` : `let am_${i} = m0 + ${aSlotRow(p, i)};`);
  }
  const bOk: (string | null)[] = [];
  if (p.b === 'k') {
    for (let jj = 0; jj < 4 * tile.TNv; jj++) {
      setup.push(`let bn_${jj} = min(col0 + ${colOffset(p, Math.floor(jj / 4), jj % 4)}, ${s.N - 1}u);`);
      bOk.push(place(`bn_${jj}`, B, `_b${jj}`, tapB));
    }
  } else {
    for (let j = 0; j < tile.TNv; j++) {
      if (B.vec) setup.push(`let bn_${j} = min(col0 + ${colOffset(p, j, 0)}, ${s.N - 4}u);`);
      else setup.push(range(4).map((q) => `let bn_${j}_${q} = min(col0 + ${colOffset(p, j, q)}, ${s.N - 1}u);`).join(' '));
    }
  }

  // The loads of one chunk (k … k + 3 of the inner depth).
  const loads: string[] = [];
  // Operands contiguous along k: 4 consecutive k from their row's (column's) base; past the inner extent, 0 for A.
  const alongK = (buf: string, vec: boolean, base: string, ok: string | null, zeroTail: boolean): string => {
    let v: string;
    if (vec) v = `${buf}4[(${base} + k) / 4u]`;
    else {
      const el = (q: number) => {
        const x = `${buf}[${base} + min(k + ${q}u, ${kExt - 1}u)]`;
        return zeroTail && tail ? `select(0.0, ${x}, k + ${q}u < ${kExt}u)` : x;
      };
      v = `vec4f(${range(4).map(el).join(', ')})`;
    }
    return ok ? `select(vec4f(0.0), ${v}, ${ok})` : v;
  };
  if (p.a === 'k') for (let i = 0; i < aSlots(p); i++) loads.push(`let va_${i} = ${alongK(A.name, A.vec, `base_a${i}`, aOk[i]!, true)};`);
  // Operands contiguous along x: 4 consecutive rows (columns) from `c0`, clamped to `ext` (or `c0_q` per column).
  const alongX = (op: GemmOperand, base: string, c0: string, ext: number | null) =>
    op.vec
      ? `${op.name}4[(${base} + ${c0}) / 4u]`
      : `vec4f(${range(4).map((q) => `${op.name}[${base} + ${ext === null ? `${c0}_${q}` : `min(${c0} + ${q}u, ${ext - 1}u)`}]`).join(', ')})`;
  if (p.a === 'm' || p.b === 'n') {
    // Operands whose outer index is k: located per k of the chunk.
    for (let q = 0; q < 4; q++) {
      loads.push(`let kq_${q} = ${tail ? `min(k + ${q}u, ${kExt - 1}u)` : `k + ${q}u`};`);
      const perK = (op: GemmOperand, sfx: string, tap: TapVars | null, zeroTail: boolean) => {
        if (op.pre) loads.push(op.pre(`kq_${q}`, sfx));
        const at = op.at(`kq_${q}`, sfx, tap);
        loads.push(`${at.lines ? `${at.lines} ` : ''}${located(`base${sfx}`, at)}`);
        const conds = [...(at.ok ? [`okbase${sfx}`] : []), ...(zeroTail && tail ? [`k + ${q}u < ${kExt}u`] : [])];
        return conds.length ? conds.join(' && ') : null;
      };
      if (p.a === 'm') {
        const ok = perK(A, `_aq${q}`, tapA, true);
        for (let i = 0; i < aSlots(p); i++) {
          const v = alongX(A, `base_aq${q}`, `am_${i}`, mExt);
          loads.push(`let ${aReg(p, i, q)} = ${ok ? `select(vec4f(0.0), ${v}, ${ok})` : v};`);
        }
      }
      if (p.b === 'n') {
        const ok = perK(B, `_bq${q}`, tapB, false);
        for (let j = 0; j < tile.TNv; j++) {
          const v = alongX(B, `base_bq${q}`, `bn_${j}`, null);
          loads.push(`let b_${q}_${j} = ${ok ? `select(vec4f(0.0), ${v}, ${ok})` : v};`);
        }
      }
    }
  }
  if (p.b === 'k') for (let jj = 0; jj < 4 * tile.TNv; jj++) loads.push(`let vb_${jj} = ${alongK(B.name, B.vec, `base_b${jj}`, bOk[jj]!, false)};`);

  const chunk = `for (var k = 0u; k < ${kExt}u; k += 4u) {
    ${loads.join('\n    ')}
    ${fmaChunk(p)}
  }`;
  const kLoop = kTaps
    ? `for (var ky = 0u; ky < ${kTaps.KH}u; ky++) {
    for (var kx = 0u; kx < ${kTaps.KW}u; kx++) {
      ${perTap.join('\n      ')}
      ${chunk}
    }
  }`
    : chunk;
  const { enable, entry } = gemmEntry(tile);
  return `${enable}${bindingDecls(decls)}
${entry}
  if (wg >= ${s.batch * tiles}u) { return; }
  ${head.join('\n  ')}
  ${setup.join('\n  ')}
  ${accDecls(p)}
  ${kLoop}
  ${epilogue(p, {
    N: s.N,
    col0: 'col0',
    row: (r) => ({ guard: `m0 + ${r} < ${mExt}u`, base: storeIndex(s, `(row0 + ${r})`, '') }),
    bias: c.bias ? (vecOut ? 'bias4' : 'bias') : null,
    act: c.act,
    vecOut,
  })}
}`;
}

interface EpilogueSpec {
  /** Output columns (N). */
  N: number;
  /** WGSL u32 expression of the tile's first column. */
  col0: string;
  /** For tile row r (a WGSL u32 expression): a bool guard and the flat float offset of the row's first element. */
  row: (r: string) => { guard: string; base: string };
  /** Name of a bias binding (array<vec4f> when vecOut, else array<f32>), or null. */
  bias: string | null;
  act: GemmActivation;
  /** Store as vec4 (needs 'n' mode, N % 4 == 0 and the output bound as array<vec4f> named `out4`). */
  vecOut: boolean;
}

/** Adds bias, applies the activation and stores the accumulators (output binding `out` or `out4`). */
function epilogue(p: GemmPlan, s: EpilogueSpec): string {
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
      v = activate(s.act, v, 'vec4f');
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

/**
 * The kernel call of one GEMM in variant `v`: the lanes kernel (its tile from `tile()`) or a workgroup-memory tile
 * (gemm-tiled.ts), both generated from the same spec. `key` names everything the spec depends on; the variant and
 * the tile are added here.
 */
export function gemmCall(v: GemmVariant, name: string, key: string, spec: GemmSpec, tile: () => GemmTile, bindings: Tensor[]): KernelCall {
  const colon = key.indexOf(':');
  if (v === 'lanes') {
    const t = tile();
    return { name, key: `${key},${tileKey(t)}`, code: () => lanesGemmCode(t, spec), bindings, workgroups: lanesWorkgroups(t, spec) };
  }
  const cfg = TILED_CONFIGS[v];
  return { name, key: `${key.slice(0, colon)}_${v}${key.slice(colon)}`, code: () => tiledGemmCode(cfg, spec), bindings, workgroups: tiledWorkgroups(cfg, spec) };
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

/** The GEMM of a (batched) matmul: A [M,K] or [K,M], B [K,N] or [N,K], C [M,N], each one of `batch` slices. */
export function matmulSpec(d: MatmulDims, transA: boolean, transB: boolean, bias: boolean, relu: boolean): GemmSpec {
  const { M, N, K } = d;
  const batch = d.batch ?? 1;
  const sliced = (size: number) => (batch > 1 ? size : undefined);
  return {
    M,
    N,
    K,
    batch,
    a: denseOperand('A', transA ? 'x' : 'k', transA ? M : K, sliced(M * K)),
    b: denseOperand('B', transB ? 'k' : 'x', transB ? K : N, sliced(K * N)),
    c: { rowStride: N, batchStride: M * N, bias, act: relu ? 'relu' : 'linear' },
  };
}

export function matmulPlan(tile: GemmTile, d: MatmulDims, transA: boolean, transB: boolean): GemmPlan {
  return specPlan(tile, matmulSpec(d, transA, transB, false, false));
}

/** The lanes kernel of a matmul with this plan's tile and operand modes. */
export function matmulCode(p: GemmPlan, d: MatmulDims, hasBias: boolean, relu: boolean): string {
  return lanesGemmCode(p.tile, matmulSpec(d, p.a === 'm', p.b === 'k', hasBias, relu));
}

/** Number of workgroups for a tile over rows × cols, as a grid within the per-dimension limit. */
export function tileGrid(t: GemmTile, rows: number, cols: number): [number, number] {
  return grid(Math.ceil(rows / t.TM) * Math.ceil(cols / tileCols(t)), 1);
}

const MATMUL_NAMES = ['matmul', 'matmul_tA', 'matmul_tB', 'matmul_tA_tB'] as const;

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
  const key = `matmul:${d.M},${d.N},${d.K},1,${transA ? 1 : 0}${transB ? 1 : 0}${bias ? 1 : 0}${relu ? 1 : 0}`;
  const spec = matmulSpec(d, transA, transB, bias !== null, relu);
  runGemm(e, { family: 'matmul', M: d.M, N: d.N, K: d.K, batch: 1 }, bias ? [a, b, bias, out] : [a, b, out], (v: GemmVariant, bs) =>
    gemmCall(v, name, key, spec, () => chooseTile(e, d.M, d.M * d.N * d.K), bs),
  );
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
  const spec = matmulSpec(d, false, false, false, false);
  runGemm(e, { family: 'batched_matmul', M, N: d.N, K, batch: S }, [a, b, c], (v: GemmVariant, bs) =>
    gemmCall(v, 'batched_matmul', `matmul:${M},${d.N},${K},${S},0000`, spec, () => chooseTile(e, M, S * M * d.N * K), bs),
  );
  return c;
}

// ------------------------------------------------------------------ ReLU mask and column sums (bias gradients)

const SUM_ROWS = 256;

/**
 * For a gradient gy [M, C] of a layer whose output y went through ReLU: `masked` = gy·(y > 0) (when `y` is given and
 * `want.masked`; through ReLU6 when `want.relu6`: gy·(0 < y < 6)), and `sums` = column sums of the (masked) gradient, i.e. the bias gradient (when `wantSums`).
 * Columns are spread over lanes (vec4 when C % 4 == 0) and rows over workgroups in blocks of 256, whose partial sums
 * a second pass adds up.
 */
export function reluMaskColumnSums(
  e: Engine,
  gy: Tensor,
  y: Tensor | null,
  want: { masked: boolean; sums: boolean; relu6?: boolean },
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
    const live = want.relu6 ? `(y[i] > ${ty}(0.0)) & (y[i] < ${ty}(6.0))` : `y[i] > ${ty}(0.0)`;
    const g = y ? `select(${ty}(0.0), gy[i], ${live})` : 'gy[i]';
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
    key: `relu_mask_colsum:${M},${C},${y ? (want.relu6 ? 6 : 1) : 0}${doMask ? 1 : 0}${want.sums ? 1 : 0}`,
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
