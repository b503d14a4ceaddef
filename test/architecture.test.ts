// The shells (src/cli and web/) enter the library through its faces only. Every import of every file under web/ and
// src/cli/ is parsed (static, type-only, re-exports, dynamic `import()`, `import('…')` types) and checked:
// - src/train: only its public face, src/train/index.ts (src/train/node.ts too from src/cli: its Node-only part);
// - src/nn, src/kernels, src/reference: never (what a shell needs from them is a function of train's face);
// - src/engine: only src/engine/index.ts (the `Engine`, its types);
// - src/index.ts and src/node.ts (the package roots re-export nn and kernels): never, they would be a back door;
// - src/data, src/formats, src/models, src/util: any module (decoders, file systems, weight files, the backbone
//   registry and its names, preprocessing constants: the leaves a shell works with directly);
// - web/ additionally nothing Node-only (node:*, sharp, *-node.ts, the Node faces) and nothing of src/cli.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');

type Shell = 'web' | 'cli';

/** Every import specifier of a TypeScript source, comments and strings ignored. */
function importsOf(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName);
}

/** Why `spec`, imported by the repository file `from` (a path relative to the root, `/`-separated), breaks the rule; null if it does not. */
function violation(shell: Shell, from: string, spec: string): string | null {
  if (!spec.startsWith('.')) {
    if (shell === 'web' && (/^node:/.test(spec) || /^(sharp|webgpu|commander|@napi-rs\/canvas)(\/|$)/.test(spec))) return 'a Node-only module in the browser app';
    return null;
  }
  const target = relative(root, resolve(root, dirname(from), spec)).split(sep).join('/').replace(/\.js$/, '.ts');
  if (target === 'src/index.ts' || target === 'src/node.ts') return 'the package root re-exports nn and kernels: import the face of the layer you need';
  if (/^src\/(nn|kernels|reference)\//.test(target)) return `${target.split('/')[1]} is below train: ask train's face (src/train/index.ts) for it`;
  if (target.startsWith('src/train/') && target !== 'src/train/index.ts' && !(shell === 'cli' && target === 'src/train/node.ts')) {
    return `a train internal: import src/train/index.ts${shell === 'cli' ? ' (or src/train/node.ts)' : ''}`;
  }
  if (target.startsWith('src/engine/') && target !== 'src/engine/index.ts') return 'an engine internal: import src/engine/index.ts';
  if (shell === 'web') {
    if (/-node\.ts$/.test(target) || /^src\/(\w+\/)?node\.ts$/.test(target)) return 'a Node-only module in the browser app';
    if (target.startsWith('src/cli/')) return 'the browser app does not import the command line';
  }
  if (!/^(src\/(train|engine|data|formats|models|util|cli)\/|web\/)/.test(target)) return `not a module a shell may use (${target})`;
  return null;
}

function tsFiles(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = `${dir}/${name}`;
    if (statSync(join(root, path)).isDirectory()) return tsFiles(path);
    return /\.ts$/.test(name) ? [path] : [];
  });
}

function violations(): string[] {
  const out: string[] = [];
  for (const [shell, dir] of [['web', 'web'], ['cli', 'src/cli']] as const) {
    for (const file of tsFiles(dir)) {
      for (const spec of importsOf(readFileSync(join(root, file), 'utf8'))) {
        const why = violation(shell, file, spec);
        if (why) out.push(`${file} imports '${spec}': ${why}`);
      }
    }
  }
  return out;
}

describe('architecture: the shells enter the library through its faces', () => {
  it('no file of web/ or src/cli/ imports a train internal, nn, kernels, an engine internal or (web) a Node-only module', () => {
    const files = [...tsFiles('web'), ...tsFiles('src/cli')];
    expect(files.length).toBeGreaterThan(20);
    expect(files).toContain('web/session.ts');
    expect(files).toContain('src/cli/commands/tune.ts');
    expect(violations()).toEqual([]);
  });

  it('the check sees every kind of import and refuses what the rule forbids', () => {
    const source = [
      "import { a } from '../../train/jobs.js';",
      "import type { B } from '../../nn/layer.js';",
      "export { c } from '../../kernels/tuner.js';",
      'const d = await import(\'../../engine/engine.js\');',
      "import {\n  e,\n  f,\n} from '../../index.js';",
      "type G = import('../../train/fit.js').G;",
      "// import { h } from '../../nn/gradcam.js';",
      "const s = \"import { i } from '../../kernels/augment.js'\";",
    ].join('\n');
    const specs = importsOf(source);
    expect(specs).toEqual(['../../train/jobs.js', '../../nn/layer.js', '../../kernels/tuner.js', '../../engine/engine.js', '../../index.js', '../../train/fit.js']);
    for (const spec of specs) expect(violation('cli', 'src/cli/commands/x.ts', spec), spec).not.toBeNull();
    // What the rule allows.
    const allowed: [Shell, string, string][] = [
      ['cli', 'src/cli/commands/x.ts', '../../train/index.js'],
      ['cli', 'src/cli/commands/x.ts', '../../train/node.js'],
      ['cli', 'src/cli/commands/x.ts', '../../engine/index.js'],
      ['cli', 'src/cli/commands/x.ts', '../../data/decoder-node.js'],
      ['cli', 'src/cli/commands/x.ts', '../../formats/safetensors.js'],
      ['cli', 'src/cli/commands/x.ts', '../../models/registry.js'],
      ['cli', 'src/cli/commands/x.ts', '../train-common.js'],
      ['cli', 'src/cli/commands/x.ts', 'node:fs/promises'],
      ['cli', 'src/cli/commands/x.ts', 'sharp'],
      ['web', 'web/x.ts', '../src/train/index.js'],
      ['web', 'web/x.ts', '../src/data/decoder-browser.js'],
      ['web', 'web/x.ts', './dom.js'],
      ['web', 'web/x.ts', 'chart.js'],
    ];
    for (const [shell, from, spec] of allowed) expect(violation(shell, from, spec), `${from}: ${spec}`).toBeNull();
    // The browser app: train's Node face, Node-only modules and the command line are refused too.
    for (const spec of ['../src/train/node.js', '../src/data/cache-node.js', '../src/node.js', '../src/cli/web-server.js', 'node:fs', 'sharp', '../src/train/recipes.js', '../src/nn/gradcam.js']) {
      expect(violation('web', 'web/x.ts', spec), spec).not.toBeNull();
    }
  });
});
