import type { DataFs, DirEntry } from './types.js';

interface FileLike {
  name: string;
  /** Set by `<input type="file" webkitdirectory>`: "root/sub/name.jpg". */
  webkitRelativePath?: string;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/**
 * A read-only DataFs over files the user picked (a folder chosen with `<input type="file" webkitdirectory>`, or
 * files with explicit relative paths). Paths use '/', relative to the picked folder's parent, e.g. "small/train".
 */
export function filesDataFs(files: Iterable<FileLike>, pathOf: (f: FileLike) => string = (f) => f.webkitRelativePath || f.name): DataFs {
  const byPath = new Map<string, FileLike>();
  const children = new Map<string, Map<string, DirEntry['kind']>>();
  const addChild = (dir: string, name: string, kind: DirEntry['kind']) => {
    let m = children.get(dir);
    if (!m) children.set(dir, (m = new Map()));
    if (!m.has(name)) m.set(name, kind);
  };
  for (const f of files) {
    const parts = pathOf(f).split('/').filter((p) => p !== '' && p !== '.');
    byPath.set(parts.join('/'), f);
    for (let i = 0; i < parts.length; i++) addChild(parts.slice(0, i).join('/'), parts[i]!, i === parts.length - 1 ? 'file' : 'dir');
  }
  const norm = (p: string) => p.split('/').filter((s) => s !== '' && s !== '.').join('/');
  return {
    async readDir(path: string): Promise<DirEntry[]> {
      const m = children.get(norm(path));
      if (!m) throw new Error(`${path}: no such folder among the selected files`);
      return [...m].map(([name, kind]) => ({ name, kind }));
    },
    async readFile(path: string): Promise<Uint8Array> {
      const f = byPath.get(norm(path));
      if (!f) throw new Error(`${path}: no such file among the selected files`);
      return new Uint8Array(await f.arrayBuffer());
    },
    join: (...parts: string[]) => norm(parts.join('/')),
  };
}
