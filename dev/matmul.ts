// Matmul kernel ladder: C[M,N] = A[M,K]·B[K,N], each variant checked against a float64 product and timed.
// Run: node dev/run.mjs matmul [M N K] [variant-filter]
import { writeFileSync } from 'node:fs';
import { Engine } from '../src/engine/index.js';
import { chooseTile, matmulCode, matmulPlan, tileGrid } from '../src/kernels/matmul.js';
import { randn, rate, relErr, time, type Timing } from './harness.js';

interface Variant {
  name: string;
  code: (M: number, N: number, K: number) => string;
  workgroups: (M: number, N: number, K: number) => [number, number];
}

const decl = `@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;`;

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

// 1: one output per invocation, 8×8 workgroups.
const naive: Variant = {
  name: '1 naive 1×1',
  code: (M, N, K) => `${decl}
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let n = gid.x; let m = gid.y;
  if (m >= ${M}u || n >= ${N}u) { return; }
  var acc = 0.0;
  for (var k = 0u; k < ${K}u; k++) { acc = fma(A[m * ${K}u + k], B[k * ${N}u + n], acc); }
  C[m * ${N}u + n] = acc;
}`,
  workgroups: (M, N) => [Math.ceil(N / 8), Math.ceil(M / 8)],
};

// 2: 4×4 block per invocation, each lane reads its own vec4 of A rows and of B (needs K, N multiples of 4).
const block4: Variant = {
  name: '2 4×4/lane vec4 (per-lane contiguous)',
  code: (M, N, K) => `@group(0) @binding(0) var<storage, read> A: array<vec4f>;
@group(0) @binding(1) var<storage, read> B: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> C: array<vec4f>;
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let n4 = gid.x; let m0 = gid.y * 4u;
  if (m0 >= ${M}u || n4 >= ${N / 4}u) { return; }
  var acc: array<vec4f, 4>;
  for (var k4 = 0u; k4 < ${K / 4}u; k4++) {
    var a: array<vec4f, 4>;
    for (var r = 0u; r < 4u; r++) { a[r] = A[min(m0 + r, ${M - 1}u) * ${K / 4}u + k4]; }
    let b0 = B[(k4 * 4u + 0u) * ${N / 4}u + n4];
    let b1 = B[(k4 * 4u + 1u) * ${N / 4}u + n4];
    let b2 = B[(k4 * 4u + 2u) * ${N / 4}u + n4];
    let b3 = B[(k4 * 4u + 3u) * ${N / 4}u + n4];
    for (var r = 0u; r < 4u; r++) { acc[r] = acc[r] + a[r].x * b0 + a[r].y * b1 + a[r].z * b2 + a[r].w * b3; }
  }
  for (var r = 0u; r < 4u; r++) { if (m0 + r < ${M}u) { C[(m0 + r) * ${N / 4}u + n4] = acc[r]; } }
}`,
  workgroups: (M, N) => [Math.ceil(N / 4 / 8), Math.ceil(M / 32)],
};

/** 3: 8 lanes along N (col = base + lane + 8j, coalesced), TM rows shared by the workgroup (uniform loads of A). */
function laneCols(TM: number, TN: number, avec: boolean, bvec: boolean): Variant {
  const L = 8;
  return {
    name: `${avec || bvec ? 4 : 3} lanes⇢N ${TM}×${TN}/lane${avec ? ' A:uniform vec4' : ''}${bvec ? ' B:coalesced vec4' : ''}`,
    code: (M, N, K) => {
      const rows = range(TM);
      const cols = range(TN);
      const colW = bvec ? 4 * L * TN : L * TN;
      const accDecl = rows.map((r) => cols.map((j) => `var c${r}_${j} = ${bvec ? 'vec4f()' : '0.0'};`).join(' ')).join('\n  ');
      const bDecl = bvec ? 'array<vec4f>' : 'array<f32>';
      const aDecl = avec ? 'array<vec4f>' : 'array<f32>';
      const rowIdx = rows.map((r) => `let ar${r} = min(row0 + ${r}u, ${M - 1}u) * ${avec ? K / 4 : K}u;`).join('\n  ');
      let body: string;
      if (avec) {
        const kk = range(4);
        const comps = ['x', 'y', 'z', 'w'];
        body = `for (var k4 = 0u; k4 < ${K / 4}u; k4++) {
    ${rows.map((r) => `let a${r} = A[ar${r} + k4];`).join(' ')}
    ${kk
      .map((q) =>
        cols.map((j) => `let b${q}_${j} = B[(k4 * 4u + ${q}u) * ${bvec ? N / 4 : N}u + bc${j}];`).join(' ') +
        '\n    ' +
        rows.map((r) => cols.map((j) => `c${r}_${j} = fma(${bvec ? `vec4f(a${r}.${comps[q]})` : `a${r}.${comps[q]}`}, b${q}_${j}, c${r}_${j});`).join(' ')).join('\n    '),
      )
      .join('\n    ')}
  }`;
      } else {
        body = `for (var k = 0u; k < ${K}u; k++) {
    ${rows.map((r) => `let a${r} = A[ar${r} + k];`).join(' ')}
    ${cols.map((j) => `let b${j} = B[k * ${bvec ? N / 4 : N}u + bc${j}];`).join(' ')}
    ${rows.map((r) => cols.map((j) => `c${r}_${j} = fma(${bvec ? `vec4f(a${r})` : `a${r}`}, b${j}, c${r}_${j});`).join(' ')).join('\n    ')}
  }`;
      }
      const nCols = bvec ? N / 4 : N;
      const store = rows
        .map((r) => cols.map((j) => `if (row0 + ${r}u < ${M}u && col0 + ${j * L}u < ${nCols}u) { C[(row0 + ${r}u) * ${nCols}u + col0 + ${j * L}u] = c${r}_${j}; }`).join('\n  '))
        .join('\n  ');
      return `@group(0) @binding(0) var<storage, read> A: ${aDecl};
@group(0) @binding(1) var<storage, read> B: ${bDecl};
@group(0) @binding(2) var<storage, read_write> C: ${bDecl};
@compute @workgroup_size(${L})
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let col0 = wid.x * ${colW / (bvec ? 4 : 1)}u + lid.x;
  let row0 = wid.y * ${TM}u;
  ${cols.map((j) => `let bc${j} = min(col0 + ${j * L}u, ${nCols - 1}u);`).join(' ')}
  ${rowIdx}
  ${accDecl}
  ${body}
  ${store}
}`;
    },
    workgroups: (M, N) => [Math.ceil(N / ((bvec ? 4 : 1) * L * TN)), Math.ceil(M / TM)],
  };
}

/** The kernel around variants 5 and 6: `inner` is the body of one 4-deep K chunk (B loads and multiply-adds). */
function broadcastAKernel(M: number, N: number, K: number, TM: number, TNv: number, inner: string): string {
  const L = 8;
  const K4 = K / 4;
  const N4 = N / 4;
  const groups = range(TM / L);
  const cols = range(TNv);
  const rows = range(TM);
  return `enable subgroups;
@group(0) @binding(0) var<storage, read> A: array<vec4f>;
@group(0) @binding(1) var<storage, read> B: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> C: array<vec4f>;
@compute @workgroup_size(${L})
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let lane = lid.x;
  let col0 = wid.x * ${L * TNv}u + lane;
  let row0 = wid.y * ${TM}u;
  ${cols.map((j) => `let bc${j} = min(col0 + ${j * L}u, ${N4 - 1}u);`).join(' ')}
  ${groups.map((g) => `let ar${g} = min(row0 + lane + ${g * L}u, ${M - 1}u) * ${K4}u;`).join(' ')}
  ${rows.map((r) => cols.map((j) => `var c${r}_${j} = vec4f();`).join(' ')).join('\n  ')}
  for (var k4 = 0u; k4 < ${K4}u; k4++) {
    ${groups.map((g) => `let a${g} = A[ar${g} + k4];`).join(' ')}
${inner}  }
  ${rows.map((r) => cols.map((j) => `if (row0 + ${r}u < ${M}u && col0 + ${j * L}u < ${N4}u) { C[(row0 + ${r}u) * ${N4}u + col0 + ${j * L}u] = c${r}_${j}; }`).join('\n  ')).join('\n  ')}
}`;
}

const COMPS = ['x', 'y', 'z', 'w'];

/**
 * 5: lanes⇢N, each lane owns TNv vec4 column groups (col4 = base + lane + 8j); the workgroup's TM rows of A are loaded
 * cooperatively (lane ℓ loads rows ℓ, ℓ+8, … as vec4 along K) and handed to every lane with subgroupBroadcast.
 */
function broadcastA(TM: number, TNv: number): Variant {
  const L = 8;
  return {
    name: `5 bcastA ${TM}×${4 * TNv}/lane`,
    code: (M, N, K) => {
      const cols = range(TNv);
      let inner = '';
      for (let q = 0; q < 4; q++) {
        inner += `    ${cols.map((j) => `let b${q}_${j} = B[(k4 * 4u + ${q}u) * ${N / 4}u + bc${j}];`).join(' ')}\n`;
        for (const r of range(TM)) {
          inner += `    { let a = subgroupBroadcast(a${Math.floor(r / L)}.${COMPS[q]}, ${r % L}u); ${cols.map((j) => `c${r}_${j} = fma(vec4f(a), b${q}_${j}, c${r}_${j});`).join(' ')} }\n`;
        }
      }
      return broadcastAKernel(M, N, K, TM, TNv, inner);
    },
    workgroups: (M, N) => [Math.ceil(N / (4 * L * TNv)), Math.ceil(M / TM)],
  };
}

/** 6: as 5, but the FMAs of a 4-deep K chunk are ordered row by row so each row's accumulators stay in registers. */
function broadcastARowOuter(TM: number, TNv: number): Variant {
  const L = 8;
  return {
    name: `6 bcastA rows-outer ${TM}×${4 * TNv}/lane`,
    code: (M, N, K) => {
      const cols = range(TNv);
      let inner = '';
      for (let q = 0; q < 4; q++) inner += `    ${cols.map((j) => `let b${q}_${j} = B[(k4 * 4u + ${q}u) * ${N / 4}u + bc${j}];`).join(' ')}\n`;
      for (const r of range(TM)) {
        inner += `    {\n`;
        for (let q = 0; q < 4; q++) {
          inner += `      { let a = vec4f(subgroupBroadcast(a${Math.floor(r / L)}.${COMPS[q]}, ${r % L}u)); ${cols.map((j) => `c${r}_${j} = fma(a, b${q}_${j}, c${r}_${j});`).join(' ')} }\n`;
        }
        inner += `    }\n`;
      }
      return broadcastAKernel(M, N, K, TM, TNv, inner);
    },
    workgroups: (M, N) => [Math.ceil(N / (4 * L * TNv)), Math.ceil(M / TM)],
  };
}

const variants: Variant[] = [
  naive,
  block4,
  laneCols(4, 2, false, false),
  laneCols(4, 4, false, false),
  laneCols(6, 2, false, false),
  laneCols(8, 2, false, false),
  laneCols(4, 2, true, false),
  laneCols(4, 4, true, false),
  laneCols(8, 2, true, false),
  laneCols(4, 1, false, true),
  laneCols(4, 2, false, true),
  laneCols(4, 1, true, true),
  laneCols(4, 2, true, true),
  broadcastA(8, 1),
  broadcastA(8, 2),
  broadcastA(16, 1),
  broadcastA(16, 2),
  broadcastA(24, 1),
  broadcastARowOuter(8, 1),
  broadcastARowOuter(8, 2),
  broadcastARowOuter(16, 1),
  broadcastARowOuter(16, 2),
  broadcastARowOuter(32, 1),
  broadcastARowOuter(32, 2),
];

/** 7: the production generator (src/kernels/matmul.ts) with the tile it picks for this shape. */
function production(e: Engine): Variant {
  return {
    name: '7 src/kernels/matmul.ts',
    code: (M, N, K) => matmulCode(matmulPlan(chooseTile(e, M, M * N * K), { M, N, K }, false, false), { M, N, K }, false, false),
    workgroups: (M, N, K) => tileGrid(chooseTile(e, M, M * N * K), M, N),
  };
}

const args = process.argv.slice(2);
const [M, N, K] = args.length >= 3 ? args.slice(0, 3).map(Number) : [1024, 1024, 1024];
const filter = args[3];
const e = await Engine.create();
variants.push(production(e));
console.log(`${e.info.description} — matmul ${M}×${K}·${K}×${N}`);
const a = randn(M! * K!, 1);
const b = randn(K! * N!, 2);
const ref = new Float64Array(M! * N!);
for (let m = 0; m < M!; m++)
  for (let k = 0; k < K!; k++) {
    const av = a[m * K! + k]!;
    for (let n = 0; n < N!; n++) ref[m * N! + n] += av * b[k * N! + n]!;
  }
const ta = e.upload(a, [M!, K!]);
const tb = e.upload(b, [K!, N!]);
const tc = e.empty([M!, N!]);
const flop = 2 * M! * N! * K!;
// ROUNDS=n interleaves the variants n times and keeps each one's best, to see through other load on the machine.
const rounds = Number(process.env.ROUNDS ?? 1);
const best = new Map<string, { t: Timing; err: number }>();
for (let round = 0; round < rounds; round++) {
  for (const v of variants) {
    if (filter && !v.name.startsWith(filter)) continue;
    e.write(tc, new Float32Array(M! * N!).fill(NaN));
    const code = v.code(M!, N!, K!);
    if (process.env.DUMP) writeFileSync(`.cache/${v.name.replace(/[^A-Za-z0-9]+/g, '_')}.wgsl`, code);
    const run = () => e.run({ name: v.name, code, bindings: [ta, tb, tc], workgroups: v.workgroups(M!, N!, K!) });
    run();
    const err = relErr(await tc.readF32(), ref);
    const t = await time(e, run, 3, rounds > 1 ? 1 : 2);
    const prev = best.get(v.name);
    best.set(v.name, { err, t: prev ? { min: Math.min(prev.t.min, t.min), median: t.median, cpu: Math.min(prev.t.cpu, t.cpu) } : t });
  }
}
for (const [name, { t, err }] of best) console.log(`${name.padEnd(44)} err ${err.toExponential(1)} ${rate(flop, t)}`);
e.destroy();
process.exit(0);
