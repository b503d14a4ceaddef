// The command-line program as users run it: bundled once per test file, spawned with Node per call.
import { spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { repoRoot } from './train-data.js';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Bundles src/cli/main.ts inside the repository (so external packages resolve from its node_modules). */
export async function bundleCli(name: string): Promise<{ cli: string; remove: () => Promise<void> }> {
  const dir = join(repoRoot, '.cache', `${name}-${process.pid}`);
  await mkdir(dir, { recursive: true });
  const cli = join(dir, 'cli.js');
  await build({ entryPoints: [join(repoRoot, 'src/cli/main.ts')], outfile: cli, bundle: true, platform: 'node', format: 'esm', packages: 'external', logLevel: 'silent' });
  return { cli, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Runs the bundled CLI with `args` in `cwd` and collects its exit code, output and wall time. */
export function runCli(cli: string, args: string[], cwd: string): Promise<CliRun> {
  const t0 = Date.now();
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, [cli, ...args], { cwd });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', rej);
    p.on('close', (code) => res({ code, stdout, stderr, ms: Date.now() - t0 }));
  });
}
