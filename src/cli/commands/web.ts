import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startWebServer } from '../web-server.js';
import { npyFolderToSafetensors } from '../web-weights-node.js';

/** The repository root: the nearest folder above this module holding web/ and package.json (works from src/ and dist/). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'web'))) return dir;
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

/** The demo sets the tab offers (folders of ../shared/data), the first being the default. */
export const DEMO_SETS = ['cats_and_dogs_small', 'flowers12'] as const;

/** The server for a checkout: web/ as the site, ../shared for the demo images and NumPy weights, weights/ for files. */
export async function startRepoWebServer(opts: { port?: number; host?: string; root?: string } = {}) {
  const root = opts.root ?? repoRoot();
  const shared = resolve(root, '../shared');
  return startWebServer({
    webDir: join(root, 'web'),
    dataSets: DEMO_SETS.map((name) => ({ name, dir: join(shared, 'data', name) })),
    weightsDir: join(root, 'weights'),
    npyWeightsDir: join(shared, 'weights'),
    npyToSafetensors: npyFolderToSafetensors,
    port: opts.port,
    host: opts.host,
  });
}

export function registerWeb(program: Command): void {
  program
    .command('web')
    .description('build the browser app and serve it on this machine (training and prediction run in the tab, on WebGPU)')
    .option('--port <n>', 'port to listen on (0 picks a free one)', '8080')
    .option('--host <addr>', 'loopback address to bind (127.0.0.1, ::1 or localhost)', '127.0.0.1')
    .option('--no-build', 'serve web/dist as it is, without rebuilding the bundle')
    .action(async (opts: { port: string; host: string; build: boolean }) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be an integer in 0..65535, got ${opts.port}`);
      const root = repoRoot();
      if (opts.build) {
        const script = join(root, 'scripts', 'build.mjs');
        const { buildAll } = (await import(pathToFileURL(script).href)) as { buildAll: () => Promise<void> };
        await buildAll();
      }
      if (!existsSync(join(root, 'web', 'dist', 'app.js'))) throw new Error('web/dist/app.js is missing: run `npm run build` first');
      const server = await startRepoWebServer({ port, host: opts.host, root });
      console.log(`serving the browser app at ${server.url} (Ctrl+C to stop)`);
      await new Promise<void>((done) => {
        const stop = () => {
          void server.close().then(done);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
