// Runs the ONNX cases: in Node, ours on Dawn (lavapipe here; replayed and eager) sampled in alternation with
// onnxruntime-node's CPU provider; then, in one headless Chromium page, ours on the page's WebGPU adapter (SwiftShader;
// replayed and eager) in alternation with ONNX Runtime Web's WebGPU provider, and its wasm provider (2 threads) alone.
// Node's sides and Chromium's never run at the same time. Every side's logits of the first run are compared with every
// other side's and with PyTorch's (logits.npy).
import { readFileSync } from 'node:fs';
import type { Engine } from '../../src/engine/index.js';
import { parseOnnx } from '../../src/formats/onnx.js';
import type { OnnxCaseDef } from '../cases/onnx.js';
import type { Side } from '../cases/types.js';
import { measureInterleaved, type Timing, type TimingOptions } from '../timing.js';
import { CHROMIUM_ARGS, startBrowserSide, type BrowserSide } from './browser.js';
import { caseData, modelPath } from './data.js';
import { ortSide, type OrtLike } from './ort.js';
import { oursOnnxSide } from './ours.js';
import type { PageInfo, PageSideName } from './page.js';

/**
 * Sampling of the ONNX cases: one warm-up after the first run, then 3–7 samples (--quick: 2–3) per side, until every
 * side of the interleaved group has ≥ 1.5 s of samples (--quick: 1 s). The slow side of a group is sampled as often as
 * the fast one (measureInterleaved), so a group takes ~7 × ORT WebGPU's forward at most. No host samples.
 */
export const ONNX_TIMING: TimingOptions = { warmup: 1, minReps: 3, maxReps: 7, minTotalMs: 1500, minSampleMs: 20, maxInner: 20, hostSamples: 0, hostMaxMs: 0 };
export const ONNX_QUICK_TIMING: TimingOptions = { ...ONNX_TIMING, minReps: 2, maxReps: 3, minTotalMs: 1000 };

export const NODE_SIDES = ['ours_node', 'ours_node_eager', 'ort_node'] as const;
export const BROWSER_SIDES = ['ours_browser', 'ours_browser_eager', 'ort_webgpu', 'ort_wasm'] as const satisfies readonly PageSideName[];
export type OnnxSideName = (typeof NODE_SIDES)[number] | (typeof BROWSER_SIDES)[number];
export const ONNX_SIDES: readonly OnnxSideName[] = [...NODE_SIDES, ...BROWSER_SIDES];

export interface OnnxSideResult {
  firstMs?: number;
  timing?: Timing;
  output?: Float32Array;
  error?: string;
}

export interface OnnxCaseResult {
  def: OnnxCaseDef;
  sides: Record<OnnxSideName, OnnxSideResult>;
  /** PyTorch's logits for the same photos (logits.npy tiled to the batch). */
  reference: Float32Array;
}

export interface OnnxRunOptions {
  engine: Engine;
  timing: TimingOptions;
  /** Run the Chromium sides (ours in the page, ORT WebGPU, ORT wasm). */
  browser: boolean;
  /** ORT Web's wasm provider (the slowest CPU side). */
  wasm: boolean;
  wasmThreads: number;
  log: (line: string) => void;
}

export interface OnnxEnvironment {
  ort_node_version: string | null;
  ort_web_version: string | null;
  /** Chromium's WebGPU adapter (as our engine in the page sees it), its user agent, and whether the page was cross-origin isolated (wasm threads). */
  browser: (PageInfo & { args: string[] }) | null;
  browser_error?: string;
  wasm_threads: number;
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message.split('\n')[0]! : String(e));
const ms = (x: number): string => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(1)} ms`);

export async function runOnnxCases(defs: OnnxCaseDef[], o: OnnxRunOptions): Promise<{ results: OnnxCaseResult[]; env: OnnxEnvironment }> {
  const ortNode = (await import('onnxruntime-node')) as unknown as OrtLike & { env?: { versions?: { node?: string } } };
  const env: OnnxEnvironment = { ort_node_version: ortNode.env?.versions?.node ?? null, ort_web_version: null, browser: null, wasm_threads: o.wasmThreads };
  const results: OnnxCaseResult[] = [];
  // Node first for every case (Chromium not yet started: nothing else competes for the 2 cores), then Chromium.
  for (const [i, def] of defs.entries()) {
    o.log(`(onnx ${i + 1}/${defs.length}) ${def.name}  ${def.shape}: Node sides`);
    results.push(await nodeSides(def, ortNode, o));
  }
  if (!o.browser) {
    for (const r of results) for (const s of BROWSER_SIDES) r.sides[s].error = 'disabled';
    return { results, env };
  }
  let browser: BrowserSide | null = null;
  try {
    browser = await startBrowserSide({ wasmThreads: o.wasmThreads, log: (s) => o.log(`chromium: ${s}`) });
    env.browser = { ...browser.info, args: CHROMIUM_ARGS };
    env.ort_web_version = browser.info.ortVersion;
    o.log(`chromium: WebGPU adapter ${browser.info.vendor} ${browser.info.architecture}${browser.info.fallback ? ' (fallback)' : ''}; ORT Web ${browser.info.ortVersion}; cross-origin isolated ${browser.info.crossOriginIsolated}`);
  } catch (e) {
    env.browser_error = errorText(e);
    o.log(`chromium could not start: ${env.browser_error}`);
  }
  for (const [i, r] of results.entries()) {
    if (!browser) {
      for (const s of BROWSER_SIDES) r.sides[s].error = env.browser_error ?? 'no browser';
      continue;
    }
    o.log(`(onnx ${i + 1}/${results.length}) ${r.def.name}: Chromium sides`);
    try {
      const page = await browser.runCase({ model: r.def.model, batch: r.def.batch, timing: o.timing, wasmThreads: o.wasmThreads, skip: o.wasm ? [] : ['ort_wasm'] });
      for (const s of BROWSER_SIDES) {
        const p = page[s];
        r.sides[s] = {
          ...(p.firstMs != null ? { firstMs: p.firstMs } : {}),
          ...(p.timing ? { timing: p.timing } : {}),
          ...(p.output ? { output: Float32Array.from(p.output) } : {}),
          ...(p.error ? { error: p.error } : {}),
        };
      }
    } catch (e) {
      for (const s of BROWSER_SIDES) r.sides[s].error ??= errorText(e);
      o.log(`${r.def.name}: Chromium side failed: ${errorText(e)}`);
    }
  }
  await browser?.close();
  return { results, env };
}

async function nodeSides(def: OnnxCaseDef, ortNode: OrtLike, o: OnnxRunOptions): Promise<OnnxCaseResult> {
  const sides = Object.fromEntries(ONNX_SIDES.map((s) => [s, {}])) as Record<OnnxSideName, OnnxSideResult>;
  const { input, logits } = caseData(def.model, def.batch);
  const bytes = new Uint8Array(readFileSync(modelPath(def.model)));
  const e = o.engine;
  const makers: { name: OnnxSideName; make: () => Promise<Side> }[] = [
    { name: 'ours_node', make: async () => oursOnnxSide(e, parseOnnx(bytes, def.model), input, { replay: true }) },
    { name: 'ours_node_eager', make: async () => oursOnnxSide(e, parseOnnx(bytes, def.model), input, { replay: false }) },
    // onnxruntime-node's defaults (intra-op threads: one per core) — what `InferenceSession.create(path)` gives.
    { name: 'ort_node', make: () => ortSide(ortNode, bytes, input, { executionProviders: ['cpu'] }) },
  ];
  const built: { name: OnnxSideName; s: Side; first: number }[] = [];
  try {
    for (const m of makers) {
      let s: Side | null = null;
      try {
        const t0 = performance.now();
        s = await m.make();
        const [y] = await s.result();
        await s.finish();
        const first = performance.now() - t0;
        sides[m.name].firstMs = first;
        sides[m.name].output = y!;
        built.push({ name: m.name, s, first });
        o.log(`${def.name}: ${m.name} first run ${ms(first)}`);
      } catch (err) {
        sides[m.name].error = errorText(err);
        o.log(`${def.name}: ${m.name} failed: ${sides[m.name].error}`);
        s?.dispose();
      }
    }
    if (built.length) {
      const timings = await measureInterleaved(built.map((b) => b.s), o.timing, built.map((b) => b.first));
      for (const [i, b] of built.entries()) {
        sides[b.name].timing = timings[i]!;
        o.log(`${def.name}: ${b.name} median ${ms(timings[i]!.medianMs)} over ${timings[i]!.samplesMs.length}×${timings[i]!.inner} (interleaved)`);
      }
    }
  } catch (err) {
    for (const b of built) sides[b.name].error ??= errorText(err);
    o.log(`${def.name}: timing failed: ${errorText(err)}`);
  } finally {
    for (const b of built) b.s.dispose();
    await e.sync();
  }
  return { def, sides, reference: logits.data };
}
