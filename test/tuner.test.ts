// The per-adapter GEMM tuner (src/kernels/tuner.ts): winners from injected timings, the per-adapter cache (reuse,
// another adapter's cache ignored, a corrupt cache reported and rebuilt), and the device timing path.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Engine } from '../src/engine/index.js';
import {
  chooseGemmVariant,
  gemmTuning,
  heuristicVariant,
  setGemmTuning,
  startGemmProbes,
  stopGemmProbes,
  type GemmProbe,
  type GemmVariant,
} from '../src/kernels/gemm-variant.js';
import { batchedMatmul, matmulForward } from '../src/kernels/matmul.js';
import { NodeTuneStore, tuneCachePath } from '../src/kernels/tuner-node.js';
import { adapterSlug, LocalStorageTuneStore, loadGemmTuning, parseTuneCache, serializeTuneCache, tuneGemms, type TuneStore } from '../src/kernels/tuner.js';
import { testEngine } from './helpers/engine.js';
import { randomArray } from './helpers/small-ops.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tuner-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  vi.restoreAllMocks();
  setGemmTuning(await testEngine(), new Map());
});

/** Probes of three products in three shape classes (two matmuls in one class, a batched matmul). */
async function recordProbes(e: Engine): Promise<GemmProbe[]> {
  const a = e.upload(randomArray(40 * 24, 1), [40, 24]);
  const b = e.upload(randomArray(24 * 72, 2), [24, 72]);
  const a2 = e.upload(randomArray(36 * 20, 3), [36, 20]);
  const b2 = e.upload(randomArray(20 * 70, 4), [20, 70]);
  const sa = e.upload(randomArray(3 * 5 * 9, 5), [3, 5, 9]);
  const sb = e.upload(randomArray(3 * 9 * 6, 6), [3, 9, 6]);
  startGemmProbes(e);
  const outs = [matmulForward(e, a, b), matmulForward(e, a2, b2), batchedMatmul(e, sa, sb), matmulForward(e, b, a, { transA: true, transB: true })];
  const probes = stopGemmProbes(e);
  await e.sync();
  for (const t of [a, b, a2, b2, sa, sb, ...outs]) t.dispose();
  return probes;
}

/** An injected timer from a table of (class → variant → ms); counts its calls. */
function fakeTimer(table: (cls: string, v: GemmVariant) => number): { timer: (p: GemmProbe, v: GemmVariant) => Promise<number>; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    timer: async (p, v) => {
      calls.push(`${p.shapeClass}/${v}`);
      return table(p.shapeClass, v);
    },
  };
}

function memoryStore(text: string | null = null): TuneStore & { text: string | null; saves: number } {
  return {
    location: 'memory',
    text,
    saves: 0,
    load() {
      return this.text;
    },
    save(t: string) {
      this.text = t;
      this.saves++;
    },
  };
}

const logger = (): { warn: (m: string) => void; info: (m: string) => void; warnings: string[] } => {
  const warnings: string[] = [];
  return { warnings, warn: (m) => warnings.push(m), info: () => undefined };
};

const CANDIDATES: GemmVariant[] = ['lanes', 't64x64', 't32x64', 't32x32', 't128x64'];

describe('GEMM tuner', () => {
  it('groups probes by shape class and picks the fastest candidate of each (injected timings)', async () => {
    const e = await testEngine();
    const probes = await recordProbes(e);
    const classes = [...new Set(probes.map((p) => p.shapeClass))];
    expect(classes).toHaveLength(3); // 40×72×24 and 36×70×20 share matmul:64x128x32
    // A different winner per class; each candidate timed once per class.
    const winners = ['t32x64', 'lanes', 't128x64'] as const;
    const t = fakeTimer((cls, v) => (v === winners[classes.indexOf(cls)] ? 1 : 2 + CANDIDATES.indexOf(v)));
    const rows = await tuneGemms(e, probes, { timer: t.timer, candidates: CANDIDATES });
    expect(rows).toHaveLength(3);
    expect(t.calls).toHaveLength(3 * CANDIDATES.length);
    for (const r of rows) {
      expect(r.cached).toBe(false);
      expect(r.winner).toBe(winners[classes.indexOf(r.shapeClass)]);
      expect(r.ms).toBe(1);
      expect(r.candidates.map((c) => c.variant)).toEqual(CANDIDATES);
    }
    expect(rows.find((r) => r.shapeClass === probes[0]!.shapeClass)!.count).toBe(2);
    // Ties go to the earlier candidate; a candidate that throws is recorded as failed, never chosen.
    const tie = await tuneGemms(e, probes.slice(0, 1), {
      candidates: CANDIDATES,
      timer: async (_p, v) => {
        if (v === 'lanes') throw new Error('no such kernel');
        return v === 't128x64' || v === 't32x64' ? 1 : 5;
      },
    });
    expect(tie[0]!.winner).toBe('t32x64');
    expect(tie[0]!.candidates[0]).toEqual({ variant: 'lanes', ms: null, error: 'no such kernel' });
  });

  it('probe → tune → setGemmTuning changes the variant chooseGemmVariant gives that shape class, and only that one', async () => {
    const e = await testEngine();
    const probes = await recordProbes(e);
    const target = probes[2]!; // the batched matmul
    const other = probes[0]!;
    const heuristic = heuristicVariant(e, target.shape);
    const pick: GemmVariant = heuristic === 't32x32' ? 't64x64' : 't32x32';
    expect(chooseGemmVariant(e, target.shape)).toBe(heuristic);
    const t = fakeTimer((cls, v) => (cls === target.shapeClass ? (v === pick ? 1 : 3) : v === heuristicVariant(e, other.shape) ? 1 : 3));
    await tuneGemms(e, probes, { timer: t.timer, candidates: CANDIDATES });
    expect(gemmTuning(e).get(target.shapeClass)).toBe(pick);
    expect(chooseGemmVariant(e, target.shape)).toBe(pick);
    expect(chooseGemmVariant(e, { ...target.shape, M: target.shape.M + 1 })).toBe(pick); // same class (M 5 and 6 → 8)
    expect(chooseGemmVariant(e, other.shape)).toBe(heuristicVariant(e, other.shape));
    // A shape class never tuned keeps the heuristic.
    const untuned = { family: 'matmul' as const, M: 1000, N: 1000, K: 1000, batch: 1 };
    expect(chooseGemmVariant(e, untuned)).toBe(heuristicVariant(e, untuned));
    // The tuned kernel computes the same product as before.
    const a = e.upload(randomArray(3 * 5 * 9, 5), [3, 5, 9]);
    const b = e.upload(randomArray(3 * 9 * 6, 6), [3, 9, 6]);
    const tc = batchedMatmul(e, a, b);
    const c = await tc.readF32();
    setGemmTuning(e, new Map());
    const tref = batchedMatmul(e, a, b);
    const ref = await tref.readF32();
    for (let i = 0; i < ref.length; i++) expect(c[i]).toBeCloseTo(ref[i]!, 4);
    for (const x of [a, b, tc, tref]) x.dispose();
  });

  it('writes its cache and reuses it: a second run reports cached rows and times nothing', async () => {
    const e = await testEngine();
    const probes = await recordProbes(e);
    const store = NodeTuneStore.forAdapter(join(dir, 'reuse'), e.info);
    expect(store.location).toBe(join(dir, 'reuse', 'tuning', `${adapterSlug(e.info)}.json`));
    const first = fakeTimer((_c, v) => (v === 't32x32' ? 1 : 2));
    const rows = await tuneGemms(e, probes, { timer: first.timer, candidates: CANDIDATES, store });
    expect(rows.every((r) => !r.cached && r.winner === 't32x32')).toBe(true);
    const doc = JSON.parse(await readFile(store.location, 'utf8')) as { adapter: { description: string }; entries: Record<string, { variant: string }> };
    expect(doc.adapter.description).toBe(e.info.description);
    expect(Object.keys(doc.entries).sort()).toEqual(rows.map((r) => r.shapeClass).sort());

    setGemmTuning(e, new Map());
    const second = fakeTimer(() => 1);
    const again = await tuneGemms(e, probes, { timer: second.timer, candidates: CANDIDATES, store });
    expect(second.calls).toEqual([]);
    expect(again.every((r) => r.cached && r.winner === 't32x32' && r.ms === 1)).toBe(true);
    expect(chooseGemmVariant(e, probes[0]!.shape)).toBe('t32x32');

    // --retune times everything again.
    const third = fakeTimer((_c, v) => (v === 'lanes' ? 1 : 2));
    const retuned = await tuneGemms(e, probes, { timer: third.timer, candidates: CANDIDATES, store, retune: true });
    expect(third.calls).toHaveLength(3 * CANDIDATES.length);
    expect(retuned.every((r) => !r.cached && r.winner === 'lanes')).toBe(true);

    // At engine start: loadGemmTuning applies the file.
    setGemmTuning(e, new Map());
    const state = await loadGemmTuning(e, store, logger());
    expect(state.state).toBe('ok');
    expect(gemmTuning(e).size).toBe(3);
    // A missing cache is no error: the heuristic stays.
    setGemmTuning(e, new Map());
    const log = logger();
    expect((await loadGemmTuning(e, NodeTuneStore.forAdapter(join(dir, 'nothing'), e.info), log)).state).toBe('none');
    expect(log.warnings).toEqual([]);
    expect(gemmTuning(e).size).toBe(0);
  });

  it("ignores a cache written on another adapter (never applied, re-timed, overwritten with this adapter's)", async () => {
    const e = await testEngine();
    const probes = await recordProbes(e);
    const fake = { ...e.info, vendor: 'fakevendor', architecture: 'fake-arch', device: 'fake-device', description: 'Fake GPU 9000' };
    // Another adapter's file has another name…
    expect(tuneCachePath(dir, fake)).not.toBe(tuneCachePath(dir, e.info));
    expect(adapterSlug(fake)).toMatch(/^fakevendor-fake-arch-fake-device-fake-gpu-9000-[0-9a-f]{8}$/);
    // …and its contents, even copied to this adapter's file, are refused.
    const theirs = serializeTuneCache(fake, new Map(probes.map((p) => [p.shapeClass, { shape: p.shape, variant: 't128x64' as const, ms: 0.1, candidates: [], method: 'timestamp' as const }])));
    expect(parseTuneCache(theirs, fake).state).toBe('ok');
    expect(parseTuneCache(theirs, e.info).state).toBe('other-adapter');
    const store = NodeTuneStore.forAdapter(join(dir, 'other'), e.info);
    await mkdir(dirname(store.location), { recursive: true });
    await writeFile(store.location, theirs);

    const log = logger();
    expect((await loadGemmTuning(e, store, log)).state).toBe('other-adapter');
    expect(log.warnings.join('\n')).toMatch(/ignored: tuned on another adapter \(fakevendor\|fake-arch\|fake-device\|Fake GPU 9000/);
    expect(gemmTuning(e).size).toBe(0);

    const t = fakeTimer((_c, v) => (v === 't32x64' ? 1 : 2));
    const rows = await tuneGemms(e, probes, { timer: t.timer, candidates: CANDIDATES, store, logger: log });
    expect(t.calls).toHaveLength(3 * CANDIDATES.length);
    expect(rows.every((r) => !r.cached && r.winner === 't32x64')).toBe(true);
    const now = parseTuneCache(await readFile(store.location, 'utf8'), e.info);
    expect(now.state).toBe('ok');
    expect([...now.entries.values()].every((x) => x.variant === 't32x64')).toBe(true);
  });

  it('a corrupt cache file is reported and rebuilt, never a crash', async () => {
    const e = await testEngine();
    const probes = await recordProbes(e);
    const store = NodeTuneStore.forAdapter(join(dir, 'corrupt'), e.info);
    await mkdir(dirname(store.location), { recursive: true });
    const good = serializeTuneCache(e.info, new Map([[probes[0]!.shapeClass, { shape: probes[0]!.shape, variant: 'lanes' as const, ms: 1, candidates: [], method: 'wall' as const }]]));
    const bad: [string, RegExp][] = [
      ['{"format": "webgpu-transfer/gemm-tun', /is corrupt: not JSON/],
      ['[1, 2, 3]', /is corrupt: not a webgpu-transfer\/gemm-tuning document/],
      [good.replace('"lanes"', '"t999x1"'), /is corrupt: .*unknown variant "t999x1"/],
      [good.replace(/"M": \d+/, '"M": -4'), /is corrupt: .*no valid shape/],
    ];
    for (const [text, message] of bad) {
      await writeFile(store.location, text);
      const log = logger();
      const state = await loadGemmTuning(e, store, log);
      expect(state.state).toBe('corrupt');
      expect(log.warnings).toHaveLength(1);
      expect(log.warnings[0]).toMatch(message);
      expect(log.warnings[0]).toContain(store.location);
      expect(gemmTuning(e).size).toBe(0);

      const t = fakeTimer((_c, v) => (v === 't64x64' ? 1 : 2));
      const tuneLog = logger();
      const rows = await tuneGemms(e, probes, { timer: t.timer, candidates: CANDIDATES, store, logger: tuneLog });
      expect(tuneLog.warnings[0]).toMatch(/corrupt.*rebuilding it/);
      expect(rows.every((r) => !r.cached && r.winner === 't64x64')).toBe(true);
      const rebuilt = parseTuneCache(await readFile(store.location, 'utf8'), e.info);
      expect(rebuilt.state).toBe('ok');
      expect(rebuilt.entries.size).toBe(3);
    }
    // An unreadable cache (a folder where the file should be) is reported the same way.
    const dirStore = new NodeTuneStore(join(dir, 'corrupt'));
    const log = logger();
    expect((await loadGemmTuning(e, dirStore, log)).state).toBe('corrupt');
    expect(log.warnings[0]).toMatch(/is corrupt: unreadable/);
  });

  it('keeps within its budget: classes left when it is spent keep the heuristic and are not cached', async () => {
    const e = await testEngine();
    const probes = await recordProbes(e);
    const store = memoryStore();
    const t = fakeTimer(() => 1);
    const rows = await tuneGemms(e, probes, { timer: t.timer, candidates: CANDIDATES, store, budgetMs: 0 });
    expect(t.calls).toEqual([]);
    expect(rows.every((r) => r.skipped === 'budget spent' && r.winner === heuristicVariant(e, r.shape))).toBe(true);
    expect(store.saves).toBe(0);
  });

  it('a class once started is finished; the classes after the budget is spent keep the heuristic, uncached', async () => {
    const e = await testEngine();
    const probes = await recordProbes(e);
    const store = memoryStore();
    // Each injected timing takes 20 ms of wall clock: the first class (5 candidates, ≥ 100 ms) runs past the 30 ms budget.
    const t = fakeTimer((_c, v) => (v === 't128x64' ? 1 : 2));
    const timer = async (p: GemmProbe, v: GemmVariant): Promise<number> => {
      await new Promise((r) => setTimeout(r, 20));
      return t.timer(p, v);
    };
    const rows = await tuneGemms(e, probes, { timer, candidates: CANDIDATES, store, budgetMs: 30 });
    expect(rows).toHaveLength(3);
    const [first, ...rest] = rows;
    expect(first!.skipped).toBeUndefined();
    expect(first!.winner).toBe('t128x64');
    expect(first!.candidates.map((c) => c.variant)).toEqual(CANDIDATES);
    expect(t.calls).toEqual(CANDIDATES.map((v) => `${first!.shapeClass}/${v}`));
    for (const r of rest) expect(r).toMatchObject({ skipped: 'budget spent', winner: heuristicVariant(e, r.shape), ms: null, candidates: [] });
    expect(gemmTuning(e)).toEqual(new Map([[first!.shapeClass, 't128x64']]));
    expect([...parseTuneCache(store.text, e.info).entries.keys()]).toEqual([first!.shapeClass]);
  });

  it('shares the budget: each candidate gets its part of what is left over the classes still to time', async () => {
    const e = await testEngine();
    const probes = await recordProbes(e);
    // Every dispatch of a probe costs at least 10 ms of host time, and the calls are counted per class and variant.
    const DELAY = 10;
    const calls = new Map<string, number>();
    const slow = probes.map(
      (p): GemmProbe => ({
        ...p,
        call: (v, b) => {
          const k = `${p.shapeClass}/${v}`;
          calls.set(k, (calls.get(k) ?? 0) + 1);
          const until = performance.now() + DELAY;
          while (performance.now() < until);
          return p.call(v, b);
        },
      }),
    );
    const candidates: GemmVariant[] = ['lanes', 't32x32'];
    // Control (and compilation of every kernel): a budget that limits nothing gives the heuristic's variant, timed
    // first, one untimed and 4 timed dispatches in every class.
    const free = await tuneGemms(e, slow, { candidates, maxReps: 4, candidateMs: 60_000 });
    for (const r of free) {
      expect(r.skipped).toBeUndefined();
      expect(calls.get(`${r.shapeClass}/${heuristicVariant(e, r.shape)}`), r.shapeClass).toBe(5);
    }
    setGemmTuning(e, new Map());
    calls.clear();
    // 150 ms for 3 classes × 2 candidates: 25 ms per candidate in the first class, under the 30 ms that a third
    // dispatch would need (each takes ≥ 10 ms), so every candidate runs its untimed and one timed dispatch. The
    // second class, if the budget reaches it, gets ≤ (150 − 40) / 2 / 2 ms (the same); the third ≤ 35 ms (≤ 3).
    const rows = await tuneGemms(e, slow, { candidates, maxReps: 4, candidateMs: 60_000, budgetMs: 150 });
    expect(rows[0]!.skipped).toBeUndefined();
    for (const [i, r] of rows.entries()) {
      const n = candidates.map((v) => calls.get(`${r.shapeClass}/${v}`) ?? 0);
      if (r.skipped) expect(n, r.shapeClass).toEqual([0, 0]);
      else if (i < 2) expect(n, r.shapeClass).toEqual([2, 2]);
      else for (const k of n) expect(k).toBeLessThanOrEqual(3);
    }
  });

  it('quick pruning: a candidate that won nothing and lost N classes badly is not timed any more', async () => {
    const e = await testEngine();
    const probes = await recordProbes(e);
    const t = fakeTimer((_c, v) => (v === 'lanes' ? 1 : v === 't32x32' ? 1.2 : 10));
    const rows = await tuneGemms(e, probes, { timer: t.timer, candidates: CANDIDATES, prune: { after: 1, ratio: 1.5 } });
    expect(rows[0]!.candidates).toHaveLength(5);
    expect(rows[1]!.candidates.map((c) => c.variant)).toEqual(['lanes', 't32x32']);
    expect(rows.every((r) => r.winner === 'lanes')).toBe(true);
  });

  it('the browser store keeps one localStorage item per adapter', async () => {
    const e = await testEngine();
    const items = new Map<string, string>();
    const storage = { getItem: (k: string) => items.get(k) ?? null, setItem: (k: string, v: string) => void items.set(k, v) };
    const ours = new LocalStorageTuneStore(e.info, storage);
    const theirs = new LocalStorageTuneStore({ ...e.info, description: 'another driver' }, storage);
    expect(ours.location).not.toBe(theirs.location);
    const probes = await recordProbes(e);
    await tuneGemms(e, probes, { timer: async () => 1, candidates: CANDIDATES, store: ours });
    expect(items.size).toBe(1);
    expect(theirs.load()).toBeNull();
    expect(parseTuneCache(ours.load(), e.info).entries.size).toBe(3);
  });

  it('times the candidates on the device (timestamp queries or wall clock) and keeps the fastest', async () => {
    const e = await testEngine();
    const probes = (await recordProbes(e)).slice(2, 3);
    const rows = await tuneGemms(e, probes, { candidates: CANDIDATES, maxReps: 2 });
    const r = rows[0]!;
    expect(r.candidates.map((c) => c.variant)).toEqual(CANDIDATES);
    for (const c of r.candidates) {
      expect(c.error).toBeUndefined();
      expect(c.ms).toBeGreaterThan(0);
    }
    expect(r.ms).toBe(Math.min(...r.candidates.map((c) => c.ms!)));
    expect(r.candidates.find((c) => c.variant === r.winner)!.ms).toBe(r.ms);
    // Timestamps where the adapter has them, but a timestamp that reads 0 (quantised away) falls back to the wall clock.
    expect(e.profiler.supported ? ['timestamp', 'wall'] : ['wall']).toContain(r.method);
    expect(chooseGemmVariant(e, r.shape)).toBe(r.winner);
  });

  it('a timestamp that reads 0 is timed by the wall clock instead, never kept as 0 ms', async () => {
    const e = await testEngine();
    const probes = (await recordProbes(e)).slice(2, 3);
    if (e.profiler.supported) {
      const stop = e.profiler.stop.bind(e.profiler);
      vi.spyOn(e.profiler, 'stop').mockImplementation(async () => (await stop()).map((k) => ({ ...k, totalMs: 0 })));
    }
    const rows = await tuneGemms(e, probes, { candidates: ['lanes', 't32x32'], maxReps: 2 });
    expect(rows[0]!.method).toBe('wall');
    for (const c of rows[0]!.candidates) {
      expect(c.error).toBeUndefined();
      expect(c.ms).toBeGreaterThan(0);
      expect(Number.isFinite(c.ms)).toBe(true);
    }
  });
});
