// The engine's layout: small files with one job each, and imports that point one way (no circle inside src/engine).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const dir = join(import.meta.dirname, '..', 'src', 'engine');
const MAX_LINES = 320;
/** The facade: its parts may name its type (a tensor's owner, the tape's engine) but never import it at runtime. */
const FACADE = 'engine.ts';

interface Edge {
  to: string;
  typeOnly: boolean;
}

/** The imports and re-exports of `source` that name a sibling file (`./x.js`), and whether each is type-only. */
function localImports(source: string): Edge[] {
  const file = ts.createSourceFile('x.ts', source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const edges: Edge[] = [];
  for (const s of file.statements) {
    let spec: ts.Expression | undefined;
    let typeOnly = false;
    if (ts.isImportDeclaration(s)) {
      spec = s.moduleSpecifier;
      const clause = s.importClause;
      const named = clause?.namedBindings;
      typeOnly =
        !!clause &&
        (clause.isTypeOnly || (!clause.name && !!named && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly)));
    } else if (ts.isExportDeclaration(s) && s.moduleSpecifier) {
      spec = s.moduleSpecifier;
      const named = s.exportClause;
      typeOnly = s.isTypeOnly || (!!named && ts.isNamedExports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly));
    }
    if (!spec || !ts.isStringLiteral(spec)) continue;
    const m = /^\.\/([^/]+)\.js$/.exec(spec.text);
    if (m) edges.push({ to: `${m[1]}.ts`, typeOnly });
  }
  return edges;
}

/** A circle in `graph` (file → the files it imports), as the path that closes it, or null. */
function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (n: string): string[] | null => {
    if (state.get(n) === 'done') return null;
    if (state.get(n) === 'open') return [...path.slice(path.indexOf(n)), n];
    state.set(n, 'open');
    path.push(n);
    for (const m of graph.get(n) ?? []) {
      const c = visit(m);
      if (c) return c;
    }
    path.pop();
    state.set(n, 'done');
    return null;
  };
  for (const n of [...graph.keys()].sort()) {
    const c = visit(n);
    if (c) return c;
  }
  return null;
}

const files = readdirSync(dir).filter((f) => f.endsWith('.ts')).sort();
const sources = new Map(files.map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
const imports = new Map(files.map((f) => [f, localImports(sources.get(f)!)]));

describe('src/engine layout', () => {
  it('the checks can fail: a circle, a type-only import and a re-export are recognised', () => {
    expect(findCycle(new Map([['a.ts', ['b.ts']], ['b.ts', ['c.ts']], ['c.ts', ['a.ts']]]))).toEqual(['a.ts', 'b.ts', 'c.ts', 'a.ts']);
    expect(findCycle(new Map([['a.ts', ['b.ts', 'c.ts']], ['b.ts', ['c.ts']], ['c.ts', []]]))).toBeNull();
    const src = `import type { A } from './a.js';
import { type B, type C } from './b.js';
import { D, type E } from './d.js';
import './side.js';
export { F } from './f.js';
export type { G } from './g.js';
import { H } from '../elsewhere.js';`;
    expect(localImports(src)).toEqual([
      { to: 'a.ts', typeOnly: true },
      { to: 'b.ts', typeOnly: true },
      { to: 'd.ts', typeOnly: false },
      { to: 'side.ts', typeOnly: false },
      { to: 'f.ts', typeOnly: false },
      { to: 'g.ts', typeOnly: true },
    ]);
  });

  it(`no file is over ${MAX_LINES} lines`, () => {
    expect(files).toContain(FACADE);
    const long = files.map((f) => ({ f, lines: sources.get(f)!.split('\n').length - 1 })).filter((x) => x.lines > MAX_LINES);
    expect(long).toEqual([]);
  });

  it('every import names a file of src/engine', () => {
    for (const [f, edges] of imports) for (const e of edges) expect(files, `${f} imports ./${e.to.replace(/\.ts$/, '.js')}`).toContain(e.to);
  });

  it('only index.ts imports the facade at runtime', () => {
    const runtime = [...imports].filter(([f, edges]) => f !== 'index.ts' && edges.some((e) => e.to === FACADE && !e.typeOnly)).map(([f]) => f);
    expect(runtime).toEqual([]);
  });

  it('no circle of imports (type-only references to the facade aside)', () => {
    const graph = new Map([...imports].map(([f, edges]) => [f, edges.filter((e) => !(e.to === FACADE && e.typeOnly)).map((e) => e.to)]));
    expect(findCycle(graph)).toBeNull();
  });
});
