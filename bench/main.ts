// `npm run bench [-- --quick] [--json FILE] [--profile] [--cases a,b]`: our engine against TensorFlow.js on the
// same WebGPU device (and TF.js wasm on the CPU). Table on stdout, progress on stderr, exit 1 on a mismatch.
import { Command } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { Engine } from '../src/engine/index.js';
import { DEFAULT_CACHE_DIR, NodeTuneStore } from '../src/kernels/tuner-node.js';
import { startGemmProbes, stopGemmProbes, type GemmProbe } from '../src/kernels/gemm-variant.js';
import { loadGemmTuning, tuneGemms } from '../src/kernels/tuner.js';
import { allCases, filterCases } from './cases/index.js';
import { filterOnnxCases, onnxCases } from './cases/onnx.js';
import { formatOnnxMarkdown, formatOnnxTable, onnxCaseReport, type OnnxSection } from './onnx/report.js';
import { ONNX_QUICK_TIMING, ONNX_TIMING, runOnnxCases } from './onnx/run.js';
import { buildReport, formatMarkdown, formatProfile, formatTable } from './report.js';
import { runCase, type CaseResult } from './runner.js';
import { setupTfjs } from './tfjs-setup.js';
import { FULL_TIMING, QUICK_TIMING } from './timing.js';

interface Options {
  quick?: boolean;
  json?: string;
  profile?: boolean;
  cases?: string;
  list?: boolean;
  wasm: boolean;
  wasmDir?: string;
  separateDevice?: boolean;
  markdown?: boolean;
  sequential?: boolean;
  cacheDir: string;
  tuning: boolean;
  tune?: number;
  browser: boolean;
  wasmThreads: number;
}

const program = new Command()
  .name('bench')
  .description('Benchmarks this engine against TensorFlow.js (WebGPU on the same device; wasm on the CPU)')
  .option('--quick', 'every case at reduced batch/size and repetitions (minutes on a CPU driver)')
  .option('--json <file>', 'also write the report as JSON')
  .option('--profile', 'per-kernel GPU time of ours from timestamp queries, top kernels first')
  .option('--cases <list>', 'comma-separated filters on case name or group (matmul, conv, conv_grad, pool, dense, vgg16, finetune; onnx: opt-in, see bench/README.md)')
  .option('--list', 'list the cases and exit')
  .option('--no-wasm', 'skip the TF.js wasm (CPU) backend (and, in the ONNX cases, ONNX Runtime Web\'s wasm provider)')
  .option('--no-browser', 'ONNX cases: skip the headless Chromium sides (ours on its WebGPU adapter, ORT Web WebGPU and wasm)')
  .option('--wasm-threads <n>', "ONNX cases: threads of ONNX Runtime Web's wasm provider", (v) => {
    const n = Number(v);
    if (!(Number.isInteger(n) && n >= 1)) throw new Error(`--wasm-threads must be a positive integer, got '${v}'`);
    return n;
  }, 2)
  .option('--wasm-dir <dir>', "folder with tfjs-backend-wasm's .wasm files (for bundles that include TF.js)")
  .option('--separate-device', 'give TF.js its own GPUDevice on the same adapter instead of sharing ours')
  .option('--markdown', 'also print the table as Markdown')
  .option('--sequential', 'time ours and TF.js one after the other (less memory) instead of alternating their samples')
  .option('--cache-dir <dir>', "cache root whose tuning/<adapter>.json (`webgpu-transfer tune`) chooses our GEMM kernels", DEFAULT_CACHE_DIR)
  .option('--no-tuning', "ignore the tuning cache: the heuristic chooses our GEMM kernels")
  .option('--tune <seconds>', "first tune our GEMM kernels for the selected cases' shapes within this budget and save the winners to the cache (the GPU run)", (v) => {
    const n = Number(v);
    if (!(n > 0)) throw new Error(`--tune must be a positive number of seconds, got '${v}'`);
    return n;
  });

const opts = program.parse(process.argv).opts<Options>();
const log = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);

const engine = await Engine.create();
const maxBinding = engine.info.limits.maxStorageBufferBindingSize ?? engine.device.limits.maxStorageBufferBindingSize;
// The ONNX cases are opt-in: only a --cases filter that names them selects them.
const onnxAll = onnxCases();
const onnxSelected = filterOnnxCases(onnxAll, opts.cases);
const cases = filterCases(allCases(Boolean(opts.quick), maxBinding), opts.cases, { all: onnxAll.map((c) => c.name), matched: onnxSelected.length });
if (opts.list) {
  for (const c of cases) process.stdout.write(`${c.name.padEnd(32)} ${c.group.padEnd(9)} ${c.shape}\n`);
  for (const c of opts.cases ? onnxSelected : onnxAll) process.stdout.write(`${c.name.padEnd(32)} ${c.group.padEnd(9)} ${c.shape}${opts.cases ? '' : ' (opt-in: --cases onnx)'}\n`);
  process.exit(0);
}
log(`adapter: ${engine.info.vendor} ${engine.info.architecture} — ${engine.info.description}`);
const tuneStore = NodeTuneStore.forAdapter(opts.cacheDir, engine.info);
let tuning = opts.tuning
  ? await loadGemmTuning(engine, tuneStore, { warn: log, info: log })
  : { state: 'off' as const, location: tuneStore.location, entries: new Map() };
if (opts.tune !== undefined) {
  // Record the GEMMs of each case's first run (ours only), then time the candidates per shape class.
  const t0 = performance.now();
  const probes: GemmProbe[] = [];
  for (const def of cases) {
    if (def.skip) continue;
    startGemmProbes(engine);
    let side: ReturnType<typeof def.ours> | null = null;
    try {
      side = def.ours({ engine, tfjs: null as never, quick: Boolean(opts.quick) });
      side.enqueue();
      await side.finish();
    } catch (err) {
      log(`tune: ${def.name} could not run (${(err as Error).message})`);
    } finally {
      probes.push(...stopGemmProbes(engine));
      side?.dispose();
    }
  }
  const rows = await tuneGemms(engine, probes, {
    store: tuneStore,
    logger: { warn: log, info: log },
    budgetMs: Math.max(1000, opts.tune * 1000 - (performance.now() - t0)),
    onRow: (r, i, n) => log(`tune ${i + 1}/${n} ${r.shapeClass}: ${r.winner}${r.cached ? ' (cached)' : ` ${r.candidates.map((c) => `${c.variant} ${c.ms !== null && Number.isFinite(c.ms) ? c.ms.toFixed(3) : 'x'}`).join(', ')}`}`),
  });
  tuning = await loadGemmTuning(engine, tuneStore, { warn: log, info: log });
  log(`tuned ${rows.length} shape classes in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}
log(`GEMM tuning: ${tuning.state === 'ok' ? `${tuning.entries.size} shape classes from ${tuning.location}` : tuning.state === 'off' ? 'off (--no-tuning): heuristic' : `none usable at ${tuning.location} (${tuning.state}): heuristic`}`);
const tfjs = await setupTfjs(engine, {
  noWasm: !opts.wasm,
  ...(opts.wasmDir ? { wasmDir: opts.wasmDir } : {}),
  separateDevice: Boolean(opts.separateDevice),
});
log(`TF.js ${tfjs.tf.version.tfjs}: webgpu ${tfjs.sharedDevice ? 'on our GPUDevice' : 'on its own device'}; wasm ${tfjs.wasm ? 'ready (single-threaded in Node)' : `unavailable (${tfjs.wasmError ?? 'disabled'})`}`);

const timing = opts.quick ? QUICK_TIMING : FULL_TIMING;
const cpuCount = cpus().length;
const loadStart = loadavg()[0]!;
if (loadStart > cpuCount * 0.75) log(`warning: load average ${loadStart.toFixed(1)} on ${cpuCount} CPUs — other work will distort the timings`);
const results: CaseResult[] = [];
const started = performance.now();
for (const [i, def] of cases.entries()) {
  log(`(${i + 1}/${cases.length}) ${def.name}  ${def.shape}`);
  results.push(await runCase(def, { engine, tfjs, quick: Boolean(opts.quick) }, { timing, wasmTiming: QUICK_TIMING, profile: Boolean(opts.profile), wasm: tfjs.wasm, sequential: Boolean(opts.sequential), log }));
}
let onnxSection: OnnxSection | undefined;
if (onnxSelected.length) {
  const { results: onnxResults, env } = await runOnnxCases(onnxSelected, {
    engine,
    timing: opts.quick ? ONNX_QUICK_TIMING : ONNX_TIMING,
    browser: opts.browser,
    wasm: opts.wasm,
    wasmThreads: opts.wasmThreads,
    log,
  });
  onnxSection = { ...env, cases: onnxResults.map(onnxCaseReport) };
}
log(`done in ${((performance.now() - started) / 1000).toFixed(0)} s`);

const report = buildReport(engine.info, {
    sharedDevice: tfjs.sharedDevice,
    tfjsVersion: tfjs.tf.version.tfjs,
    quick: Boolean(opts.quick),
    interleaved: !opts.sequential,
    timing,
    cpus: cpuCount,
    loadStart,
    loadEnd: loadavg()[0]!,
    gemmTuning: { file: tuning.location, state: tuning.state, entries: tuning.entries.size },
  }, results);
if (onnxSection) report.onnx = onnxSection;
if (report.cases.length || !onnxSection) process.stdout.write(`${formatTable(report)}\n`);
if (onnxSection) process.stdout.write(`${report.cases.length ? '\n' : ''}${formatOnnxTable(onnxSection)}\n`);
if (opts.profile) process.stdout.write(`${formatProfile(report)}\n`);
if (opts.markdown) {
  if (report.cases.length) process.stdout.write(`\n${formatMarkdown(report)}\n`);
  if (onnxSection) process.stdout.write(`\n${formatOnnxMarkdown(onnxSection)}\n`);
}
if (opts.json) {
  mkdirSync(dirname(opts.json), { recursive: true });
  writeFileSync(opts.json, `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${opts.json}`);
}
const bad = [...report.cases, ...(report.onnx?.cases ?? [])].filter((c) => c.check === 'MISMATCH' || c.check === 'error');
if (bad.length) log(`${bad.length} case(s) failed: ${bad.map((c) => `${c.name} (${c.check})`).join(', ')}`);
// A live GPUDevice keeps Node running: exit explicitly.
process.exit(bad.length ? 1 : 0);
