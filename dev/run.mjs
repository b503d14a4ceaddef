// Bundles one dev/*.ts ladder script with esbuild and runs it: `node dev/run.mjs matmul [args…]`.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [name, ...args] = process.argv.slice(2);
if (!name) throw new Error('usage: node dev/run.mjs <ladder name> [args…]');
// Inside the repo (in the ignored .cache/) so the bundle resolves node_modules.
const outfile = join(root, '.cache', `dev-${name}.mjs`);
await build({
  entryPoints: [join(root, 'dev', `${name}.ts`)],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  packages: 'external',
  target: 'node20',
  absWorkingDir: root,
  logLevel: 'warning',
});
const r = spawnSync(process.execPath, [outfile, ...args], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
