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
      if (opts.json) {
        console.log(JSON.stringify({ ...i, tuning }, null, 2));
      } else {
        console.log(`adapter:       ${i.description || '(no description)'}`);
        console.log(`vendor:        ${i.vendor || '-'}`);
        console.log(`architecture:  ${i.architecture || '-'}`);
        console.log(`device:        ${i.device || '-'}`);
        console.log(`software:      ${i.isFallbackAdapter ? 'yes (software fallback adapter; expect CPU speeds)' : 'no'}`);
        console.log(`features used: ${i.features.join(', ') || '(none)'}`);
        console.log(`gemm tuning:   ${tuningLine(tuning)}`);
        console.log(`gemm variants: ${tuning.candidates.join(', ')} (candidates on this adapter)`);
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
