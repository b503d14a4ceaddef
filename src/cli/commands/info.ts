import type { Command } from 'commander';
import { Engine } from '../../engine/index.js';
import { gemmTuningReport } from '../../train/index.js';
import { DEFAULT_CACHE_DIR, NodeTuneStore } from '../../train/node.js';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description("print the WebGPU adapter, its limits, the features this engine uses and the adapter's GEMM tuning cache")
    .option('--cache-dir <dir>', 'cache root holding tuning/<adapter>.json (see `tune`)', DEFAULT_CACHE_DIR)
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean; cacheDir: string }) => {
      const engine = await Engine.create();
      const i = engine.info;
      const tuning = await gemmTuningReport(engine, NodeTuneStore.forAdapter(opts.cacheDir, i));
      const memory = {
        counted: 'peak_gpu_bytes (metrics.json, bench peak_bytes): live GPU buffers of tensors and captured steps, by buffer capacity, at their most',
        not_counted: "buffers the pool keeps free for reuse (up to pool_free_limit_bytes), kernel params, readback staging",
        pool_free_limit_bytes: engine.pool.maxFreeBytes,
      };
      if (opts.json) {
        console.log(JSON.stringify({ ...i, tuning, memory }, null, 2));
      } else {
        console.log(`adapter:       ${i.description || '(no description)'}`);
        console.log(`vendor:        ${i.vendor || '-'}`);
        console.log(`architecture:  ${i.architecture || '-'}`);
        console.log(`device:        ${i.device || '-'}`);
        console.log(`software:      ${i.isFallbackAdapter ? 'yes (software fallback adapter; expect CPU speeds)' : 'no'}`);
        console.log(`features used: ${i.features.join(', ') || '(none)'}`);
        console.log(`gemm tuning:   ${tuningLine(tuning)}`);
        console.log(`gemm variants: ${tuning.candidates.join(', ')} (candidates on this adapter)`);
        console.log(`memory:        runs record peak_gpu_bytes in metrics.json: the most GPU bytes live buffers of tensors and`);
        console.log(`               captured steps held at once (by buffer capacity); freed buffers the pool keeps for reuse`);
        console.log(`               (up to ${(memory.pool_free_limit_bytes / 2 ** 20).toFixed(0)} MiB), kernel params and readback staging come on top`);
        console.log('limits:');
        for (const [k, v] of Object.entries(i.limits)) console.log(`  ${k.padEnd(36)} ${v}`);
      }
      engine.destroy();
    });
}

function tuningLine(t: { file: string; state: string; entries: number; reason?: string }): string {
  switch (t.state) {
    case 'ok':
      return `${t.file} (${t.entries} shape class${t.entries === 1 ? '' : 'es'})`;
    case 'none':
      return `none (no ${t.file}; \`webgpu-transfer tune\` writes it; until then a heuristic chooses)`;
    default:
      return `${t.state}: ${t.file} ignored (${t.reason ?? ''}); \`webgpu-transfer tune\` rebuilds it`;
  }
}
