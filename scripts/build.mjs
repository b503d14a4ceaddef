// Bundles the CLI and library for Node, and the engine + app for the browser.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const common = { bundle: true, sourcemap: true, logLevel: 'warning', absWorkingDir: root, target: 'es2022' };
const node = { ...common, platform: 'node', format: 'esm', packages: 'external', target: 'node20' };

export async function buildAll() {
  await Promise.all([
    build({ ...node, entryPoints: { cli: 'src/cli/main.ts' }, outdir: 'dist' }),
    // The library's two entries (`webgpu-transfer`, `webgpu-transfer/node`) share one copy of their common modules.
    build({ ...node, entryPoints: { index: 'src/index.ts', node: 'src/node.ts' }, outdir: 'dist', splitting: true, chunkNames: 'chunks/[name]-[hash]' }),
    ...(await exists(join(root, 'bench/main.ts')) ? [build({ ...node, entryPoints: { bench: 'bench/main.ts' }, outdir: 'dist' })] : []),
    ...(await exists(join(root, 'web/app.ts'))
      ? [build({ ...common, platform: 'browser', format: 'esm', entryPoints: { app: 'web/app.ts' }, outdir: 'web/dist', external: ['webgpu', 'sharp', 'node:*'] })]
      : []),
  ]);
}

async function exists(p) {
  const { access } = await import('node:fs/promises');
  return access(p).then(() => true, () => false);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await buildAll();
