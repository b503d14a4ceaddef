// The package root (`webgpu-transfer`, src/index.ts) is browser-safe; the Node-only parts are in `webgpu-transfer/node`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');

/** Bundles `entry` for the browser, resolving everything it reaches (nothing is left external). */
async function browserBundle(entry: string): Promise<Metafile> {
  const r = await build({
    entryPoints: [join(root, entry)],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    external: [],
    metafile: true,
    logLevel: 'silent',
    absWorkingDir: root,
  });
  return r.metafile;
}

/** A module only Node can load: a Node built-in, a Node-only package, one of our *-node.ts files or Node entries. (h5wasm has a browser build.) */
function nodeOnly(path: string): boolean {
  return (
    /^node:|^(fs|path|os|url|crypto|child_process|worker_threads|stream|zlib)(\/|$)/.test(path) ||
    /node_modules\/(sharp|webgpu|@napi-rs\/canvas|commander)\//.test(path) ||
    /-node\.ts$/.test(path) ||
    /^src\/(node|cli\/.*)\.ts$/.test(path) ||
    /^src\/(data|train)\/node\.ts$/.test(path)
  );
}

describe('package entries', () => {
  it('src/index.ts bundles for the browser with no Node-only module in its graph', async () => {
    const meta = await browserBundle('src/index.ts');
    const inputs = Object.keys(meta.inputs);
    expect(inputs).toContain('src/engine/engine.ts');
    expect(inputs).toContain('src/train/run.ts');
    expect(inputs.filter(nodeOnly)).toEqual([]);
    const imports = Object.values(meta.inputs).flatMap((i) => i.imports.map((m) => m.path));
    expect(imports.filter(nodeOnly)).toEqual([]);
  });

  it('the check notices a Node-only module (src/node.ts does not bundle for the browser)', async () => {
    await expect(browserBundle('src/node.ts')).rejects.toThrow(/Could not resolve "(node:)?(fs|path|os|util)/);
  });

  it('package.json exposes both entries, built by scripts/build.mjs', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, { types: string; import: string }> };
    expect(pkg.exports['.']).toEqual({ types: './src/index.ts', import: './dist/index.js' });
    expect(pkg.exports['./node']).toEqual({ types: './src/node.ts', import: './dist/node.js' });
    const script = readFileSync(join(root, 'scripts/build.mjs'), 'utf8');
    expect(script).toMatch(/index: 'src\/index\.ts', node: 'src\/node\.ts'/);
  });
});
