/**
 * The GEMM built for GPUs: a workgroup of 64–256 invocations owns a BM × BN tile of C, stages BK-deep slices of A and
 * B in workgroup memory (every invocation loads a share), then each invocation accumulates an RM × RN register
 * sub-tile. Rows and columns of an invocation's sub-tile are interleaved (row ty + r·TY, column tx + c·TX), so
 * neighbouring invocations read neighbouring workgroup-memory words and store neighbouring outputs.
 *
 * The generator is operand-agnostic: it reads a GemmSpec (gemm-spec.ts, the description the lanes kernel of
 * matmul.ts reads too) through WGSL functions it builds from it, `loadA(b, m, k)`, `loadB(b, k, n)` (indices always
 * in range; `loadA4`/`loadB4`: four consecutive elements along a contiguous index whose extent is a multiple of 4,
 * so a tile is staged with vec4 loads where the tile's share per invocation divides evenly) and `storeC(b, m, n, v)`
 * (bias, activation, channel slices), so one kernel serves the plain and batched matmul and the three implicit-GEMM
 * convolutions. It needs no subgroups. gemm-variant.ts chooses between it and the lanes kernel.
 */
import { activate, bindingDecls, bufferDecl, storeIndex, type GemmOperand, type GemmSpec } from './gemm-spec.js';

export interface TiledConfig {
  /** Rows and columns of C per workgroup, and the K depth staged per step. */
  BM: number;
  BN: number;
  BK: number;
  /** Rows and columns of C per invocation: the workgroup is (BN / RN) × (BM / RM) invocations. */
  RM: number;
  RN: number;
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

export function tiledGemmCode(c: TiledConfig, s: GemmSpec): string {
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
  const decls = [bufferDecl(s.a.name, s.a.vec), bufferDecl(s.b.name, s.b.vec), ...(s.c.bias ? [bufferDecl('bias', false)] : []), bufferDecl('out', false, 'read_write')];
  let v = s.c.bias ? 'v + bias[n]' : 'v';
  v = activate(s.c.act, v, 'f32');
  return `${bindingDecls(decls)}
${loadFunction('A', s.a, s)}
${loadFunction('B', s.b, s)}
fn storeC(b: u32, m: u32, n: u32, v: f32) { out[${storeIndex(s, 'm', 'n')}] = ${v}; }
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
    ${stageCode({ arr: 'As', fn: 'loadA', span: c.BM, extent: s.M, K: s.K, BK: c.BK, threads, alongK: s.a.along === 'k', vec: s.a.vec, kFirst: false, origin: 'row0' })}
    ${stageCode({ arr: 'Bs', fn: 'loadB', span: c.BN, extent: s.N, K: s.K, BK: c.BK, threads, alongK: s.b.along === 'k', vec: s.b.vec, kFirst: true, origin: 'col0' })}
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
 * `fn loadA(b, m, k) -> f32` (or loadB(b, k, n)) from the operand's description and, when it is `vec`, `loadA4`
 * (four consecutive elements along the contiguous index; the buffer is bound as array<vec4f>). A tapped axis is split
 * into its tap and inner index first.
 */
function loadFunction(X: 'A' | 'B', op: GemmOperand, s: GemmSpec): string {
  const t = s.taps;
  const x = X === 'A' ? 'm' : 'n';
  const lines: string[] = [];
  let k = 'k';
  let xi = x;
  let tap: { ky: string; kx: string } | null = null;
  if (t && (t.axis === 'k' || X === 'A')) {
    const split = t.axis === 'k' ? 'k' : 'm';
    lines.push(`let tap = ${split} / ${t.inner}u; let ${split}i = ${split} % ${t.inner}u; let kx = tap % ${t.KW}u; let ky = tap / ${t.KW}u;`);
    if (split === 'k') k = 'ki';
    else xi = 'mi';
    tap = { ky: 'ky', kx: 'kx' };
  }
  const [o, c] = op.along === 'k' ? [xi, k] : [k, xi];
  if (op.pre) lines.push(op.pre(o, '_'));
  const at = op.at(o, '_', tap);
  if (at.lines) lines.push(at.lines);
  const body = (zero: string) => `${lines.join('\n  ')}${at.ok ? `\n  if (!(${at.ok})) { return ${zero}; }` : ''}
  let idx = ${at.base} + ${c};`;
  const params = X === 'A' ? 'm: u32, k: u32' : 'k: u32, n: u32';
  const scalar = `fn load${X}(b: u32, ${params}) -> f32 {
  ${body('0.0')}
  return ${op.vec ? `${op.name}4[idx / 4u][idx % 4u]` : `${op.name}[idx]`};
}`;
  if (!op.vec) return scalar;
  return `${scalar}
fn load${X}4(b: u32, ${params}) -> vec4f {
  ${body('vec4f(0.0)')}
  return ${op.name}4[idx / 4u];
}`;
}

export function tiledWorkgroups(c: TiledConfig, s: { M: number; N: number; batch: number }): [number, number, number] {
  return [Math.ceil(s.N / c.BN), Math.ceil(s.M / c.BM), s.batch];
}
