// The Chromium side of the ONNX cases, bundled by bench/onnx/browser.ts into one page with ONNX Runtime Web (loaded
// from node_modules by the page's module script as `window.ort`): our engine on the page's WebGPU adapter
// (SwiftShader here), ORT's WebGPU execution provider on the same adapter, ORT's wasm provider with 2 threads.
// Node drives it through `window.onnxBench` and gets timings and logits back.
import type * as OrtWeb from 'onnxruntime-web';
import { Engine } from '../../src/engine/index.js';
import { parseNpy } from '../../src/formats/npy.js';
import { parseOnnx } from '../../src/formats/onnx.js';
import type { Side } from '../cases/types.js';
import { measure, measureInterleaved, type Timing, type TimingOptions } from '../timing.js';
import { oursOnnxSide, type NchwBatch } from './ours.js';
import { ortSide, type OrtLike } from './ort.js';

export type PageSideName = 'ours_browser' | 'ours_browser_eager' | 'ort_webgpu' | 'ort_wasm';

export interface PageSideResult {
  firstMs?: number;
  timing?: Timing;
  /** The logits of the first run, [N, 1000] row-major. */
  output?: number[];
  error?: string;
}

export interface PageCaseSpec {
  model: string;
  batch: number;
  timing: TimingOptions;
  wasmThreads: number;
  /** Sides to leave out (e.g. `ort_wasm`). */
  skip?: PageSideName[];
}

export interface PageInfo {
  adapter: string;
  vendor: string;
  architecture: string;
  fallback: boolean;
  ortVersion: string;
  crossOriginIsolated: boolean;
  userAgent: string;
}

declare global {
  interface Window {
    ort: typeof OrtWeb;
  }
}

let engine: Engine | null = null;
const log = (s: string): void => console.log(`[page] ${s}`);
const errorText = (e: unknown): string => (e instanceof Error ? e.message.split('\n')[0]! : String(e));

export async function init(wasmThreads: number): Promise<PageInfo> {
  engine ??= await Engine.create();
  const ort = window.ort;
  ort.env.wasm.wasmPaths = `${location.origin}/ort/`;
  ort.env.wasm.numThreads = wasmThreads;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'warning';
  return {
    adapter: engine.info.description,
    vendor: engine.info.vendor,
    architecture: engine.info.architecture,
    fallback: engine.info.isFallbackAdapter,
    ortVersion: ort.env.versions?.web ?? 'unknown',
    crossOriginIsolated: self.crossOriginIsolated,
    userAgent: navigator.userAgent,
  };
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

function tile(t: NchwBatch, batch: number): NchwBatch {
  const rows = t.shape[0]!;
  const per = t.data.length / rows;
  const data = new Float32Array(batch * per);
  for (let i = 0; i < batch; i++) data.set(t.data.subarray((i % rows) * per, ((i % rows) + 1) * per), i * per);
  return { shape: [batch, ...t.shape.slice(1)], data };
}

export async function runCase(spec: PageCaseSpec): Promise<Record<PageSideName, PageSideResult>> {
  const e = engine!;
  const ort = window.ort as unknown as OrtLike;
  const bytes = await fetchBytes(`/onnx/${spec.model}/model.onnx`);
  const photos = parseNpy(await fetchBytes(`/onnx/${spec.model}/input.npy`), 'input.npy');
  const input = tile({ shape: [...photos.shape], data: Float32Array.from(photos.data as ArrayLike<number>) }, spec.batch);
  const res: Record<PageSideName, PageSideResult> = { ours_browser: {}, ours_browser_eager: {}, ort_webgpu: {}, ort_wasm: {} };
  const skip = new Set(spec.skip ?? []);
  const makers: { name: PageSideName; make: () => Promise<Side> }[] = [
    { name: 'ours_browser', make: async () => oursOnnxSide(e, parseOnnx(bytes, spec.model), input, { replay: true }) },
    { name: 'ours_browser_eager', make: async () => oursOnnxSide(e, parseOnnx(bytes, spec.model), input, { replay: false }) },
    { name: 'ort_webgpu', make: () => ortSide(ort, bytes, input, { executionProviders: ['webgpu'] }) },
  ];
  // The GPU sides: each built and run once (compile + the compared logits), then sampled in alternation.
  const built: { name: PageSideName; s: Side; first: number }[] = [];
  try {
    for (const m of makers) {
      if (skip.has(m.name)) {
        res[m.name].error = 'disabled';
        continue;
      }
      let s: Side | null = null;
      try {
        const t0 = performance.now();
        s = await m.make();
        const [y] = await s.result();
        await s.finish();
        const first = performance.now() - t0;
        res[m.name].firstMs = first;
        res[m.name].output = Array.from(y!);
        built.push({ name: m.name, s, first });
        log(`${spec.model} b${spec.batch}: ${m.name} first run ${first.toFixed(0)} ms`);
      } catch (err) {
        res[m.name].error = errorText(err);
        log(`${spec.model} b${spec.batch}: ${m.name} failed: ${res[m.name].error}`);
        s?.dispose();
      }
    }
    if (built.length) {
      const timings = await measureInterleaved(built.map((b) => b.s), spec.timing, built.map((b) => b.first));
      for (const [i, b] of built.entries()) {
        res[b.name].timing = timings[i]!;
        log(`${spec.model} b${spec.batch}: ${b.name} median ${timings[i]!.medianMs.toFixed(1)} ms over ${timings[i]!.samplesMs.length}×${timings[i]!.inner}`);
      }
    }
  } catch (err) {
    for (const b of built) res[b.name].error ??= errorText(err);
  } finally {
    for (const b of built) b.s.dispose();
    await e.sync();
  }
  // The CPU side alone, after the GPU sides are gone.
  if (skip.has('ort_wasm')) res.ort_wasm.error = 'disabled';
  else {
    let s: Side | null = null;
    try {
      const t0 = performance.now();
      s = await ortSide(ort, bytes, input, { executionProviders: ['wasm'] });
      const [y] = await s.result();
      const first = performance.now() - t0;
      res.ort_wasm.firstMs = first;
      res.ort_wasm.output = Array.from(y!);
      res.ort_wasm.timing = await measure(s, spec.timing, first);
      log(`${spec.model} b${spec.batch}: ort_wasm median ${res.ort_wasm.timing.medianMs.toFixed(1)} ms over ${res.ort_wasm.timing.samplesMs.length}`);
    } catch (err) {
      res.ort_wasm.error = errorText(err);
      log(`${spec.model} b${spec.batch}: ort_wasm failed: ${res.ort_wasm.error}`);
    } finally {
      s?.dispose();
    }
  }
  return res;
}
