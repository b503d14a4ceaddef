import { access, copyFile, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DirEntry, WritableDataFs } from './types.js';

/** The data pipeline's file access on Node's file system (symbolic links are followed). */
export const nodeDataFs: WritableDataFs = {
  async readDir(path: string): Promise<DirEntry[]> {
    const dirents = await readdir(path, { withFileTypes: true });
    return Promise.all(
      dirents.map(async (d): Promise<DirEntry> => {
        if (d.isDirectory()) return { name: d.name, kind: 'dir' };
        if (d.isFile()) return { name: d.name, kind: 'file' };
        if (d.isSymbolicLink()) {
          const s = await stat(join(path, d.name)).catch(() => null);
          return { name: d.name, kind: s?.isDirectory() ? 'dir' : s?.isFile() ? 'file' : 'other' };
        }
        return { name: d.name, kind: 'other' };
      }),
    );
  },
  async readFile(path: string): Promise<Uint8Array> {
    const b = await readFile(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  },
  join: (...parts: string[]) => join(...parts),
  exists: (path: string) => access(path).then(
    () => true,
    () => false,
  ),
  mkdir: async (path: string) => {
    await mkdir(path, { recursive: true });
  },
  copyFile: (from: string, to: string) => copyFile(from, to),
};
