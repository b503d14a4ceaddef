/**
 * The GEMM built for GPUs: a workgroup of 64–256 invocations owns a BM × BN tile of C, stages BK-deep slices of A and
 * B in workgroup memory (every invocation loads a share), then each invocation accumulates an RM × RN register
 * sub-tile. Rows and columns of an invocation's sub-tile are interleaved (row ty + r·TY, column tx + c·TX), so
 * neighbouring invocations read neighbouring workgroup-memory words and store neighbouring outputs.
 *
 * The generator is operand-agnostic: callers give WGSL functions `loadA(b, m, k)`, `loadB(b, k, n)` (indices are
 * always in range) and `storeC(b, m, n, v)` (bias, ReLU and channel-slice epilogues live there), so one kernel
 * serves the plain and batched matmul and the three implicit-GEMM convolutions. It needs no subgroups. The lavapipe
 * kernels (matmul.ts: one subgroup per workgroup, no workgroup memory) stay beside it; gemm-variant.ts chooses.
 */

export interface TiledConfig {
  /** Rows and columns of C per workgroup, and the K depth staged per step. */
  BM: number;
  BN: number;
  BK: number;
  /** Rows and columns of C per invocation: the workgroup is (BN / RN) × (BM / RM) invocations. */
  RM: number;
  RN: number;
}

export interface TiledGemmSpec {
  M: number;
  N: number;
  K: number;
  /** Independent products (workgroup z); `b` in the load/store functions. */
  batch: number;
  /** The binding declarations (@group(0) @binding(i) …) the functions below use. */
  bindings: string;
  /** WGSL: `fn loadA(b: u32, m: u32, k: u32) -> f32`, `fn loadB(b: u32, k: u32, n: u32) -> f32`, `fn storeC(b: u32, m: u32, n: u32, v: f32)`. */
  functions: string;
  /**
   * Which index of an operand is contiguous in memory, so that neighbouring invocations load neighbouring words
   * (coalesced): A along k (default) or m, B along n (default) or k.
   */
  aAlongK?: boolean;
  bAlongN?: boolean;
  /**
   * The functions also include `fn loadA4(b: u32, m: u32, k: u32) -> vec4f` (resp. `loadB4(b, k, n)`): four
   * consecutive elements along the operand's contiguous index from (m, k), whose extent is a multiple of 4 — so a
   * tile is staged with vec4 loads (used when the tile's share per invocation divides evenly, else scalar loads).
   */
  aVec4?: boolean;
  bVec4?: boolean;
}

const COMPONENTS = ['x', 'y', 'z', 'w'] as const;

/** WGSL staging one operand's BK-deep slice into workgroup memory (`As[k·BM + m]` / `Bs[k·BN + n]`). */
function stageCode(o: {
  arr: 'As' | 'Bs';
  fn: 'loadA' | 'loadB';
  /** Rows of the tile along the non-K index (BM or BN) and that index's extent and name. */
  span: number;
  extent: number;
  K: number;
  BK: number;
  threads: number;
  alongK: boolean;
  vec: boolean;
  /** Argument order of the load function: A takes (m, k), B takes (k, n). */
  kFirst: boolean;
  origin: string;
}): string {
  const { arr, span, extent, K, BK, threads } = o;
  const args = (x: string, k: string) => (o.kFirst ? `${k}, ${x}` : `${x}, ${k}`);
  const total = span * BK;
  const vec = o.vec && (total / 4) % threads === 0;
  if (!vec) {
    const loads = total / threads;
    const split = o.alongK ? `let kk = e % ${BK}u; let xx = e / ${BK}u;` : `let xx = e % ${span}u; let kk = e / ${span}u;`;
    return `for (var i = 0u; i < ${loads}u; i++) {
      let e = tid + i * ${threads}u;
      ${split}
      let x = ${o.origin} + xx; let k = k0 + kk;
      ${arr}[kk * ${span}u + xx] = select(0.0, ${o.fn}(b, ${args(`min(x, ${extent - 1}u)`, `min(k, ${K - 1}u)`)}), x < ${extent}u && k < ${K}u);
    }`;
  }
  const loads = total / 4 / threads;
  if (o.alongK) {
    return `for (var i = 0u; i < ${loads}u; i++) {
      let e = tid + i * ${threads}u;
      let kq = e % ${BK / 4}u; let xx = e / ${BK / 4}u;
      let x = ${o.origin} + xx; let k = k0 + 4u * kq;
      let v = select(vec4f(0.0), ${o.fn}4(b, ${args(`min(x, ${extent - 1}u)`, `min(k, ${K - 4}u)`)}), x < ${extent}u && k < ${K}u);
      ${COMPONENTS.map((c, q) => `${arr}[(4u * kq + ${q}u) * ${span}u + xx] = v.${c};`).join(' ')}
    }`;
  }
  return `for (var i = 0u; i < ${loads}u; i++) {
      let e = tid + i * ${threads}u;
      let xq = e % ${span / 4}u; let kk = e / ${span / 4}u;
      let x = ${o.origin} + 4u * xq; let k = k0 + kk;
      let v = select(vec4f(0.0), ${o.fn}4(b, ${args(`min(x, ${extent - 4}u)`, `min(k, ${K - 1}u)`)}), x < ${extent}u && k < ${K}u);
      ${COMPONENTS.map((c, q) => `${arr}[kk * ${span}u + 4u * xq + ${q}u] = v.${c};`).join(' ')}
    }`;
}

export function tiledGemmCode(c: TiledConfig, s: TiledGemmSpec): string {
  const TX = c.BN / c.RN;
  const TY = c.BM / c.RM;
  const threads = TX * TY;
  const aLoads = (c.BM * c.BK) / threads;
  const bLoads = (c.BK * c.BN) / threads;
  if (!Number.isInteger(TX) || !Number.isInteger(TY) || !Number.isInteger(aLoads) || !Number.isInteger(bLoads)) {
    throw new Error(`tiled GEMM: config ${JSON.stringify(c)} does not divide evenly`);
  }
  const rows = Array.from({ length: c.RM }, (_, r) => r);
  const cols = Array.from({ length: c.RN }, (_, j) => j);
  return `${s.bindings}
${s.functions}
var<workgroup> As: array<f32, ${c.BK * c.BM}>;
var<workgroup> Bs: array<f32, ${c.BK * c.BN}>;
@compute @workgroup_size(${TX}, ${TY})
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let b = wid.z;
  let row0 = wid.y * ${c.BM}u;
  let col0 = wid.x * ${c.BN}u;
  let tid = lid.y * ${TX}u + lid.x;
  var acc: array<f32, ${c.RM * c.RN}>;
  for (var k0 = 0u; k0 < ${s.K}u; k0 += ${c.BK}u) {
    ${stageCode({ arr: 'As', fn: 'loadA', span: c.BM, extent: s.M, K: s.K, BK: c.BK, threads, alongK: s.aAlongK ?? true, vec: s.aVec4 ?? false, kFirst: false, origin: 'row0' })}
    ${stageCode({ arr: 'Bs', fn: 'loadB', span: c.BN, extent: s.N, K: s.K, BK: c.BK, threads, alongK: !(s.bAlongN ?? true), vec: s.bVec4 ?? false, kFirst: true, origin: 'col0' })}
    workgroupBarrier();
    for (var kk = 0u; kk < ${c.BK}u; kk++) {
      ${rows.map((r) => `let a${r} = As[kk * ${c.BM}u + lid.y + ${r * TY}u];`).join(' ')}
      ${cols.map((j) => `let b${j} = Bs[kk * ${c.BN}u + lid.x + ${j * TX}u];`).join(' ')}
      ${rows.map((r) => cols.map((j) => `acc[${r * c.RN + j}] = fma(a${r}, b${j}, acc[${r * c.RN + j}]);`).join(' ')).join('\n      ')}
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < ${c.RM}u; r++) {
    let m = row0 + lid.y + r * ${TY}u;
    if (m >= ${s.M}u) { break; }
    for (var j = 0u; j < ${c.RN}u; j++) {
      let n = col0 + lid.x + j * ${TX}u;
      if (n < ${s.N}u) { storeC(b, m, n, acc[r * ${c.RN}u + j]); }
    }
  }
}`;
}

/**
 * A load function for `functions`: its scalar form (`load<X>`) and, when `vec`, also its vec4 form (`load<X>4`,
 * four consecutive elements; the buffer is then bound as `<buf>4: array<vec4f>`). `body(zero)` computes `idx` (the
 * flat index of the element, or of the first of the four) and may return `zero` early (e.g. outside the image).
 */
export function tiledLoad(X: 'A' | 'B', params: string, buf: string, vec: boolean, body: (zero: string) => string): string {
  const scalar = `fn load${X}(b: u32, ${params}) -> f32 {
  ${body('0.0')}
  return ${vec ? `${buf}4[idx / 4u][idx % 4u]` : `${buf}[idx]`};
}`;
  if (!vec) return scalar;
  return `${scalar}
fn load${X}4(b: u32, ${params}) -> vec4f {
  ${body('vec4f(0.0)')}
  return ${buf}4[idx / 4u];
}`;
}

export function tiledWorkgroups(c: TiledConfig, s: { M: number; N: number; batch: number }): [number, number, number] {
  return [Math.ceil(s.N / c.BN), Math.ceil(s.M / c.BM), s.batch];
}
