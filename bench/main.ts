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
}

const program = new Command()
  .name('bench')
  .description('Benchmarks this engine against TensorFlow.js (WebGPU on the same device; wasm on the CPU)')
  .option('--quick', 'every case at reduced batch/size and repetitions (minutes on a CPU driver)')
  .option('--json <file>', 'also write the report as JSON')
  .option('--profile', 'per-kernel GPU time of ours from timestamp queries, top kernels first')
  .option('--cases <list>', 'comma-separated filters on case name or group (matmul, conv, conv_grad, pool, dense, vgg16, finetune)')
  .option('--list', 'list the cases and exit')
  .option('--no-wasm', 'skip the TF.js wasm (CPU) backend')
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
const cases = filterCases(allCases(Boolean(opts.quick), maxBinding), opts.cases);
if (opts.list) {
  for (const c of cases) process.stdout.write(`${c.name.padEnd(32)} ${c.group.padEnd(9)} ${c.shape}\n`);
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
process.stdout.write(`${formatTable(report)}\n`);
if (opts.profile) process.stdout.write(`${formatProfile(report)}\n`);
if (opts.markdown) process.stdout.write(`\n${formatMarkdown(report)}\n`);
if (opts.json) {
  mkdirSync(dirname(opts.json), { recursive: true });
  writeFileSync(opts.json, `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${opts.json}`);
}
const bad = report.cases.filter((c) => c.check === 'MISMATCH' || c.check === 'error');
if (bad.length) log(`${bad.length} case(s) failed: ${bad.map((c) => `${c.name} (${c.check})`).join(', ')}`);
// A live GPUDevice keeps Node running: exit explicitly.
process.exit(bad.length ? 1 : 0);
