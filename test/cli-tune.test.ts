// `webgpu-transfer tune` and the tuning-cache line of `info`, as users run them (spawned, bundled CLI).
import { readdir, readFile, rm, writeFile, mkdtemp } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleCli, runCli, type CliRun } from './helpers/cli.js';

let cli = '';
let removeCli: (() => Promise<void>) | undefined;
let dir = '';

const run = (args: string[]): Promise<CliRun> => runCli(cli, args, dir);

interface Row {
  shape_class: string;
  shape: { family: string; M: number; N: number; K: number; batch: number };
  variant: string;
  ms: number | null;
  cached: boolean;
  candidates: { variant: string; ms: number | null }[];
  skipped?: string;
}

const rowsOf = (stdout: string): Row[] =>
  stdout
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Row);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-tune-'));
  const bundled = await bundleCli('cli-tune-test');
  cli = bundled.cli;
  removeCli = bundled.remove;
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await removeCli?.();
});

const TINY = ['--model', 'squeezenet1_1', '--input-size', '32', '--batch', '1', '--quick', '--cache-dir', 'c'];

describe('tune (spawned CLI, SqueezeNet 1.1 at 32×32, batch 1)', () => {
  it('refuses bad options with a clear error and writes nothing', async () => {
    const cases: [string[], RegExp][] = [
      [['tune', '--batch', '0'], /--batch must be between 1 and/],
      [['tune', '--model', 'resnet50'], /unknown model 'resnet50'/],
      [['tune', '--input-size', '8'], /--input-size must be between 32 and/],
      [['tune', '--budget', '-3'], /--budget must be a number/],
    ];
    for (const [args, message] of cases) {
      const r = await run([...args, '--cache-dir', 'c']);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
    }
    expect(existsSync(join(dir, 'c'))).toBe(false);
  });

  it('info reports no cache before tuning', async () => {
    const r = await run(['info', '--cache-dir', 'c']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/gemm tuning: +none \(no c\/tuning\/[^ ]+\.json/);
  });

  it('tune --quick --json times every shape class, caches the winners; a second run reuses them; info shows the cache', async () => {
    // --budget: --quick's own budget fits here, but not on a host that other work slows down (a skipped class is
    // not cached, which this test would then see as a failure).
    const r = await run(['tune', ...TINY, '--budget', '600', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const rows = rowsOf(r.stdout);
    expect(rows.length).toBeGreaterThan(3);
    expect(new Set(rows.map((x) => x.shape_class)).size).toBe(rows.length);
    for (const x of rows) {
      expect(x.cached).toBe(false);
      expect(x.skipped).toBeUndefined();
      expect(x.shape.M * x.shape.N * x.shape.K).toBeGreaterThan(0);
      expect(x.candidates.map((c) => c.variant)).toContain(x.variant);
      expect(x.ms).toBe(Math.min(...x.candidates.filter((c) => c.ms !== null).map((c) => c.ms!)));
    }
    expect(rows.some((x) => x.shape.family.startsWith('conv2d'))).toBe(true);
    const files = await readdir(join(dir, 'c', 'tuning'));
    expect(files).toHaveLength(1);
    const file = join(dir, 'c', 'tuning', files[0]!);
    const doc = JSON.parse(await readFile(file, 'utf8')) as { entries: Record<string, { variant: string }> };
    expect(Object.fromEntries(Object.entries(doc.entries).map(([k, v]) => [k, v.variant]))).toEqual(Object.fromEntries(rows.map((x) => [x.shape_class, x.variant])));

    const again = await run(['tune', ...TINY, '--json']);
    expect(again.code, again.stderr).toBe(0);
    const cached = rowsOf(again.stdout);
    expect(cached.map((x) => [x.shape_class, x.variant, x.cached])).toEqual(rows.map((x) => [x.shape_class, x.variant, true]));

    const table = await run(['tune', ...TINY]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain('(cached)');

    const info = await run(['info', '--cache-dir', 'c']);
    expect(info.code, info.stderr).toBe(0);
    expect(info.stdout).toContain(`gemm tuning:   c/tuning/${files[0]} (${rows.length} shape classes)`);
    const infoJson = JSON.parse((await run(['info', '--cache-dir', 'c', '--json'])).stdout) as { tuning: { state: string; entries: number; variants: Record<string, string>; candidates: string[] } };
    expect(infoJson.tuning.state).toBe('ok');
    // The table's columns: this adapter's candidates ('lanes' first on a software adapter; GPUs may leave it out).
    expect(infoJson.tuning.candidates.length).toBeGreaterThan(1);
    expect(table.stdout).toMatch(new RegExp(`^shape class +gemms +${infoJson.tuning.candidates.join(' +')} +winner\n`));
    expect(infoJson.tuning.entries).toBe(rows.length);

    // A corrupt cache: info says so; tune reports it (stderr) and rewrites a valid file, exit 0 (a tiny budget: the
    // classes it leaves untimed keep the heuristic and are not cached).
    await writeFile(file, '{ "format": "webgpu-tr');
    const broken = await run(['info', '--cache-dir', 'c']);
    expect(broken.code, broken.stderr).toBe(0);
    expect(broken.stdout).toMatch(/gemm tuning: +corrupt: .* ignored \(not JSON/);
    const rebuilt = await run(['tune', ...TINY, '--budget', '0.001', '--json']);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(rebuilt.stderr).toMatch(/GEMM tuning cache .* is corrupt: not JSON .*; rebuilding it/);
    const after = rowsOf(rebuilt.stdout);
    expect(after.every((x) => !x.cached)).toBe(true);
    expect(after.filter((x) => x.skipped === 'budget spent').length).toBeGreaterThan(0);
    const fixed = await run(['info', '--cache-dir', 'c']);
    expect(fixed.stdout).toMatch(new RegExp(`gemm tuning: +c/tuning/${files[0]!.replace(/[.]/g, '\\.')} \\(${after.filter((x) => !x.skipped).length} shape class`));
  });
});
