import type { Command } from 'commander';
import { Engine } from '../../engine/index.js';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('print the WebGPU adapter, its limits and the features this engine uses')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const engine = await Engine.create();
      const i = engine.info;
      if (opts.json) {
        console.log(JSON.stringify(i, null, 2));
      } else {
        console.log(`adapter:       ${i.description || '(no description)'}`);
        console.log(`vendor:        ${i.vendor || '-'}`);
        console.log(`architecture:  ${i.architecture || '-'}`);
        console.log(`device:        ${i.device || '-'}`);
        console.log(`software:      ${i.isFallbackAdapter ? 'yes (software fallback adapter; expect CPU speeds)' : 'no'}`);
        console.log(`features used: ${i.features.join(', ') || '(none)'}`);
        console.log('limits:');
        for (const [k, v] of Object.entries(i.limits)) console.log(`  ${k.padEnd(36)} ${v}`);
      }
      engine.destroy();
    });
}
