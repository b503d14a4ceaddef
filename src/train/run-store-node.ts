import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../formats/atomic-node.js';
import type { RunStore } from './store.js';

/** A run folder on disk; every file is written through a temporary file and a rename. */
export class NodeRunStore implements RunStore {
  readonly location: string;
  private made = false;

  constructor(dir: string) {
    this.location = resolve(dir);
  }

  async write(name: string, bytes: Uint8Array): Promise<void> {
    if (!this.made) {
      await mkdir(this.location, { recursive: true });
      this.made = true;
    }
    await writeFileAtomic(join(this.location, name), bytes);
  }

  async read(name: string): Promise<Uint8Array | null> {
    try {
      return new Uint8Array(await readFile(join(this.location, name)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  describe(name: string): string {
    return join(this.location, name);
  }
}
