// Bundled into a page by the dev/tab-*.mjs scripts, timing on the browser's own WebGPU adapter (SwiftShader in headless
// Chromium) to see which kernels a software adapter spends its time in: each top-level layer of a backbone's forward
// (__layerTimes), the whole forward and one convolution (dev/tab-forward.ts), the GEMM variants (__gemmTimes), a 1×1 convolution
// (__pointwiseTimes), lanes-GEMM tiles (__tileSetup / __tileRun / __tileCheck), the depthwise forward's widths
// (__dwSetup / __dwRun).
import './tab-forward.js';
import { Engine } from '../src/engine/index.js';
import { INFERENCE } from '../src/nn/layer.js';
import { createBackbone } from '../src/models/registry.js';
import type { BuiltinBackboneName } from '../src/models/types.js';

async function layerTimes(name: BuiltinBackboneName, size: number, batch: number, reps: number): Promise<{ adapter: string; layers: [string, number][]; total: number }> {
  const e = await Engine.create();
  const bb = createBackbone(name, e, { inputSize: size, logger: { warn: () => {} } });
  const x = e.upload(new Float32Array(batch * size * size * 3).map((_, i) => (i % 17) / 17), [batch, size, size, 3]);
  const times = new Map<string, number>();
  for (let r = 0; r <= reps; r++) {
    let h = x;
    for (const l of bb.model.layers) {
      await e.sync();
      const t0 = performance.now();
      let next: typeof h;
      const parts = l.children();
      if (parts.length && l.kind === 'InvertedResidual') {
        // Each part alone (the residual add is left out: it is a small share).
        let g = h;
        for (const c of parts) {
          await e.sync();
          const t1 = performance.now();
          const o = c.forward(g, INFERENCE);
          await e.sync();
          const key = `${c.kind}:${c.name.replace(/^block_\d+_/, '')}@${g.shape.slice(1).join('x')}`;
          if (r > 0) times.set(key, (times.get(key) ?? 0) + (performance.now() - t1) / reps);
          if (g !== h) g.dispose();
          g = o;
        }
        g.dispose();
        next = l.forward(h, INFERENCE);
      } else {
        next = l.forward(h, INFERENCE);
        await e.sync();
        if (r > 0) times.set(l.name, (times.get(l.name) ?? 0) + (performance.now() - t0) / reps);
      }
      if (h !== x && next !== h) h.dispose();
      h = next;
    }
    h.dispose();
  }
  const layers = [...times].sort((a, b) => b[1] - a[1]);
  return { adapter: e.info.description, layers, total: layers.reduce((a, l) => a + l[1], 0) };
}
(window as unknown as { __layerTimes: typeof layerTimes }).__layerTimes = layerTimes;

import { forceGemmVariant, GEMM_VARIANTS } from '../src/kernels/gemm-variant.js';
import { matmulForward } from '../src/kernels/matmul.js';

/** Each GEMM variant's time on [M, K] × [K, N] (median of `reps`). */
async function gemmTimes(M: number, K: number, N: number, reps: number): Promise<Record<string, number>> {
  const e = await Engine.create();
  const a = e.upload(new Float32Array(M * K).fill(0.5), [M, K]);
  const b = e.upload(new Float32Array(K * N).fill(0.25), [K, N]);
  const out: Record<string, number> = {};
  for (const v of GEMM_VARIANTS) {
    forceGemmVariant(e, v);
    const ts: number[] = [];
    for (let r = 0; r <= reps; r++) {
      await e.sync();
      const t0 = performance.now();
      const c = matmulForward(e, a, b, {});
      await e.sync();
      if (r > 0) ts.push(performance.now() - t0);
      c.dispose();
    }
    ts.sort((x, y) => x - y);
    out[v] = ts[Math.floor(ts.length / 2)]!;
  }
  return out;
}
(window as unknown as { __gemmTimes: typeof gemmTimes }).__gemmTimes = gemmTimes;

import { conv2dForward } from '../src/kernels/conv2d.js';
import { relu6 } from '../src/nn/ops/index.js';

/** A 1×1 convolution [n, h, w, c] → f as conv2dForward, as matmulForward on the [n·h·w, c] view, and relu6 after it. */
async function pointwiseTimes(n: number, hw: number, c: number, f: number, reps: number): Promise<Record<string, number>> {
  const e = await Engine.create();
  const x = e.upload(new Float32Array(n * hw * hw * c).fill(0.5), [n, hw, hw, c]);
  const w = e.upload(new Float32Array(c * f).fill(0.25), [1, 1, c, f]);
  const b = e.upload(new Float32Array(f).fill(0.1), [f]);
  const jobs: Record<string, () => unknown> = {
    conv: () => conv2dForward(e, x, w, b, { stride: 1, padding: 'same' }),
    matmul: () => matmulForward(e, e.view(x, [n * hw * hw, c]), e.view(w, [c, f]), { bias: b }),
    relu6: () => relu6(x),
  };
  const out: Record<string, number> = {};
  for (const [k, job] of Object.entries(jobs)) {
    const ts: number[] = [];
    for (let r = 0; r <= reps; r++) {
      await e.sync();
      const t0 = performance.now();
      const y = job() as { dispose(): void };
      await e.sync();
      if (r > 0) ts.push(performance.now() - t0);
      y.dispose();
    }
    ts.sort((p, q) => p - q);
    out[k] = ts[Math.floor(ts.length / 2)]!;
  }
  return out;
}
(window as unknown as { __pointwiseTimes: typeof pointwiseTimes }).__pointwiseTimes = pointwiseTimes;


import { gemmCall, matmulSpec, type GemmTile } from '../src/kernels/matmul.js';

/** The lanes GEMM [M, K] × [K, N] (+ bias, ReLU6) with each of `tiles` (median of `reps` runs, interleaved). */
async function tileTimes(M: number, K: number, N: number, tiles: GemmTile[], reps: number): Promise<Record<string, number>> {
  const e = await Engine.create();
  const a = e.upload(new Float32Array(M * K).fill(0.5), [M, K]);
  const b = e.upload(new Float32Array(K * N).fill(0.25), [K, N]);
  const bias = e.upload(new Float32Array(N).fill(0.1), [N]);
  const out = e.empty([M, N], 'f32', 'tile_times');
  const spec = { ...matmulSpec({ M, N, K }, false, false, true, false), c: { rowStride: N, batchStride: M * N, bias: true, act: 'relu6' as const } };
  const ts = tiles.map(() => [] as number[]);
  for (let r = 0; r <= reps; r++) {
    for (const [i, t] of tiles.entries()) {
      await e.sync();
      const t0 = performance.now();
      e.run(gemmCall('lanes', 'matmul', `tile_times:${M},${N},${K}`, spec, () => t, [a, b, bias, out]));
      await e.sync();
      if (r > 0) ts[i]!.push(performance.now() - t0);
    }
  }
  const med = (v: number[]) => [...v].sort((p, q) => p - q)[Math.floor(v.length / 2)]!;
  return Object.fromEntries(tiles.map((t, i) => [`${t.L}x${t.TM}x${t.TNv}${t.bcast ? 'b' : ''}${t.loopEpilogue ? 'l' : ''}`, med(ts[i]!)]));
}
(window as unknown as { __tileTimes: typeof tileTimes }).__tileTimes = tileTimes;

let tileSetup: { e: Engine; out: ReturnType<Engine['empty']>; run: (t: GemmTile) => void } | null = null;

/** Sets up [M, K] × [K, N] (+ bias, ReLU6) for `tileRun`. */
async function tileSetupFor(M: number, K: number, N: number): Promise<void> {
  const e = tileSetup?.e ?? (await Engine.create());
  const a = e.upload(new Float32Array(M * K).map((_, i) => ((i * 7) % 11) / 11 - 0.3), [M, K]);
  const b = e.upload(new Float32Array(K * N).map((_, i) => ((i * 5) % 13) / 13 - 0.4), [K, N]);
  const bias = e.upload(new Float32Array(N).map((_, i) => (i % 3) / 3), [N]);
  const out = e.empty([M, N], 'f32', 'tile_times');
  const spec = { ...matmulSpec({ M, N, K }, false, false, true, false), c: { rowStride: N, batchStride: M * N, bias: true, act: 'relu6' as const } };
  tileSetup = { e, out, run: (t) => e.run(gemmCall('lanes', 'matmul', `tile_times:${M},${N},${K}`, spec, () => t, [a, b, bias, out])) };
}

/** Runs the set-up GEMM with tile `t` (on inputs varied so a wrong tile shows) and returns a checksum of its output. */
async function tileCheck(t: GemmTile): Promise<number> {
  const s = tileSetup!;
  s.e.write(s.out, new Float32Array(s.out.size).fill(NaN));
  s.run(t);
  const v = await s.out.readF32();
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * ((i % 7) + 1);
  return sum;
}

/** Runs the set-up GEMM with tile `t` `n` times (synced), returning the wall ms of each. */
async function tileRun(t: GemmTile, n: number): Promise<number[]> {
  const s = tileSetup!;
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    await s.e.sync();
    const t0 = performance.now();
    s.run(t);
    await s.e.sync();
    ms.push(performance.now() - t0);
  }
  return ms;
}
Object.assign(window, { __tileSetup: tileSetupFor, __tileRun: tileRun, __tileCheck: tileCheck });

import { depthwiseForward, setDepthwiseStrip } from '../src/kernels/depthwise.js';

let dwSetup: { e: Engine; run: (T: number) => void } | null = null;

/** Sets up MobileNetV2's depthwise 3×3 (ReLU6, bias) on [n, hw, hw, c] with stride s for `dwRun`. */
async function dwSetupFor(n: number, hw: number, c: number, s: 1 | 2): Promise<void> {
  const e = dwSetup?.e ?? (await Engine.create());
  const x = e.upload(new Float32Array(n * hw * hw * c).map((_, i) => (i % 13) / 13), [n, hw, hw, c]);
  const w = e.upload(new Float32Array(9 * c).fill(0.25), [3, 3, c, 1]);
  const b = e.upload(new Float32Array(c).fill(0.1), [c]);
  const ho = Math.ceil(hw / s);
  const y = e.empty([n, ho, ho, c], 'f32', 'dw_times');
  dwSetup = {
    e,
    run: (T) => {
      setDepthwiseStrip(e, T);
      depthwiseForward(e, x, w, b, s, 'relu6', y);
    },
  };
}

/** Runs the set-up depthwise forward with `T` output columns per invocation `n` times (synced): wall ms of each. */
async function dwRun(T: number, n: number): Promise<number[]> {
  const s = dwSetup!;
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    await s.e.sync();
    const t0 = performance.now();
    s.run(T);
    await s.e.sync();
    ms.push(performance.now() - t0);
  }
  return ms;
}
Object.assign(window, { __dwSetup: dwSetupFor, __dwRun: dwRun });
