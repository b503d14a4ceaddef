import { describe, expect, it } from 'vitest';
import { batchedMatmul, forceNoSubgroups, matmulForward } from '../src/kernels/matmul.js';
import { chooseGemmVariant, forceGemmVariant, GEMM_VARIANTS, gemmCandidates, heuristicVariant, shapeClass } from '../src/kernels/gemm-variant.js';
import { refMatmul } from '../src/reference/matmul.js';
import { expectClose, FWD_TOL, poisoned, randomArray } from './helpers/small-ops.js';
import { testEngine } from './helpers/engine.js';
import { Engine } from '../src/engine/index.js';

// Awkward sizes: 1, odd, not a multiple of any tile (513 > 8 tiles of 64), K shorter and longer than one staged slice.
const shapes: [number, number, number][] = [
  [1, 1, 1],
  [3, 5, 7],
  [65, 33, 17],
  [513, 3, 40],
  [7, 513, 129],
  // Multiples of 4: the tiles are staged with vec4 loads (A along m, B along n; then both along k).
  [64, 36, 20],
  [36, 64, 24],
];

describe('GEMM variants against the float64 reference', () => {
  for (const v of GEMM_VARIANTS) {
    it(`${v}: matmul with transposes, bias and ReLU; batched matmul`, async () => {
      const e = await testEngine();
      forceGemmVariant(e, v);
      try {
        // Each shape with one transpose combination (every combination once over the shapes): pipelines compile
        // slowly on a software adapter.
        const combos = [[false, false], [true, false], [false, true], [true, true]] as const;
        for (const [i, [M, N, K]] of shapes.entries()) {
          for (const [transA, transB] of v === 'lanes' ? combos : [combos[i % 4]!]) {
            const a = randomArray(M * K, 10 * i + 1);
            const b = randomArray(K * N, 10 * i + 2);
            const bias = randomArray(N, 10 * i + 3);
            const relu = (i + (transA ? 1 : 0)) % 2 === 0;
            const ta = e.upload(a, transA ? [K, M] : [M, K]);
            const tb = e.upload(b, transB ? [N, K] : [K, N]);
            const tbias = e.upload(bias, [N]);
            const out = poisoned(e, [M, N]);
            matmulForward(e, ta, tb, { transA, transB, bias: tbias, relu, out });
            const ref = refMatmul(a, b, M, N, K, transA, transB).map((x, j) => {
              const y = x + bias[j % N]!;
              return relu ? Math.max(y, 0) : y;
            });
            expectClose(await out.readF32(), ref, FWD_TOL, `${v} ${M}×${N}×${K} tA=${transA} tB=${transB} relu=${relu}`);
            for (const t of [ta, tb, tbias, out]) t.dispose();
          }
        }
        const [S, M, N, K] = [5, 13, 36, 9];
        const a = randomArray(S * M * K, 91);
        const b = randomArray(S * K * N, 92);
        const ta = e.upload(a, [S, M, K]);
        const tb = e.upload(b, [S, K, N]);
        const c = batchedMatmul(e, ta, tb, poisoned(e, [S, M, N]));
        const ref = new Float64Array(S * M * N);
        for (let s = 0; s < S; s++) ref.set(refMatmul(a.subarray(s * M * K, (s + 1) * M * K), b.subarray(s * K * N, (s + 1) * K * N), M, N, K), s * M * N);
        expectClose(await c.readF32(), ref, FWD_TOL, `${v} batched`);
        for (const t of [ta, tb, c]) t.dispose();
      } finally {
        forceGemmVariant(e, null);
      }
    });
  }

  it('lanes without subgroups (A loaded per lane, 8-lane workgroups): matmul and batched matmul', async () => {
    const e = await testEngine();
    forceGemmVariant(e, 'lanes');
    forceNoSubgroups(e, true);
    try {
      for (const [i, [M, N, K]] of shapes.entries()) {
        const [transA, transB] = [i % 2 === 1, i % 4 >= 2];
        const a = randomArray(M * K, 40 + i);
        const b = randomArray(K * N, 50 + i);
        const ta = e.upload(a, transA ? [K, M] : [M, K]);
        const tb = e.upload(b, transB ? [N, K] : [K, N]);
        const out = matmulForward(e, ta, tb, { transA, transB, out: poisoned(e, [M, N]) });
        expectClose(await out.readF32(), refMatmul(a, b, M, N, K, transA, transB), FWD_TOL, `no subgroups ${M}×${N}×${K}`);
        for (const t of [ta, tb, out]) t.dispose();
      }
      const codes = [...e.pipelines.entries()].filter((k) => k.key.startsWith('matmul:')).map((k) => k.code);
      expect(codes.some((c) => !c.includes('subgroupBroadcast'))).toBe(true);
    } finally {
      forceNoSubgroups(e, false);
      forceGemmVariant(e, null);
    }
  });

  it('chooses by forced variant, then heuristic; shape classes bucket by powers of two', async () => {
    const e = await testEngine();
    const s = { family: 'matmul' as const, M: 100, N: 70, K: 9, batch: 1 };
    expect(shapeClass(s)).toBe('matmul:128x128x16');
    expect(shapeClass({ ...s, M: 65 })).toBe(shapeClass(s));
    // The heuristic's two branches, on the same device described once as a software fallback and once as a GPU
    // (this machine's adapter takes one of them: the same one as its description).
    const as = (fallback: boolean): Engine => Engine.fromDevice(e.device, e.adapter, { ...e.info, isFallbackAdapter: fallback, description: `${e.info.description} (${fallback ? 'fallback' : 'GPU'})` });
    const cpu = as(true);
    const gpu = as(false);
    const thin = { ...s, N: 63 };
    const small = { ...s, M: 1, N: 1, K: 1 };
    for (const shape of [s, thin, small]) expect(heuristicVariant(cpu, shape)).toBe('lanes');
    expect(heuristicVariant(gpu, s)).toBe('t64x64');
    expect(heuristicVariant(gpu, { ...s, M: 64, N: 64 })).toBe('t64x64');
    expect(heuristicVariant(gpu, thin)).toBe('t32x32');
    expect(heuristicVariant(gpu, { ...s, M: 63 })).toBe('t32x32');
    expect(heuristicVariant(gpu, small)).toBe('t32x32');
    for (const shape of [s, thin, small]) expect(heuristicVariant(e, shape)).toBe(heuristicVariant(e.info.isFallbackAdapter ? cpu : gpu, shape));
    // Candidates: every variant on a fallback adapter; on a GPU 'lanes' only where its subgroup has ≥ 32 lanes.
    expect(gemmCandidates(cpu, 8)).toEqual([...GEMM_VARIANTS]);
    expect(gemmCandidates(gpu, 8)).toEqual(GEMM_VARIANTS.filter((v) => v !== 'lanes'));
    expect(gemmCandidates(gpu, 32)).toEqual([...GEMM_VARIANTS]);
    // A forced variant wins over the heuristic, on either adapter; null restores the heuristic.
    const heuristic = heuristicVariant(e, s);
    const other = heuristic === 't32x64' ? 't128x64' : 't32x64';
    for (const engine of [e, cpu, gpu]) {
      forceGemmVariant(engine, other);
      expect(chooseGemmVariant(engine, s)).toBe(other);
      forceGemmVariant(engine, null);
      expect(chooseGemmVariant(engine, s)).toBe(heuristicVariant(engine, s));
    }
    expect(chooseGemmVariant(cpu, s)).toBe('lanes');
    expect(chooseGemmVariant(gpu, s)).toBe('t64x64');
  });
});
