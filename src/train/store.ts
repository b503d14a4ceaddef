/**
 * Where a run keeps its files (config, history, metrics, plots, checkpoint) or where extracted features live.
 * Training code only sees this interface; `NodeRunStore` (run-store-node.ts) writes a folder on disk and the
 * browser can keep them in memory or IndexedDB.
 */
export interface RunStore {
  /** Human-readable location for messages (a folder path in Node). */
  readonly location: string;
  /** Writes a whole file atomically: a reader sees the old contents or the new ones, never a mix. */
  write(name: string, bytes: Uint8Array): Promise<void>;
  /** The file's bytes, or null when it does not exist. */
  read(name: string): Promise<Uint8Array | null>;
  /** Describes `name` for messages (its full path in Node). */
  describe(name: string): string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export async function writeJson(store: RunStore, name: string, value: unknown): Promise<void> {
  await store.write(name, encoder.encode(JSON.stringify(value, null, 2) + '\n'));
}

export async function readJson<T = unknown>(store: RunStore, name: string): Promise<T | null> {
  const bytes = await store.read(name);
  if (!bytes) return null;
  try {
    return JSON.parse(decoder.decode(bytes)) as T;
  } catch (e) {
    throw new Error(`${store.describe(name)}: not valid JSON (${(e as Error).message})`);
  }
}

/** A store that keeps files in memory (tests, the browser). */
export class MemoryRunStore implements RunStore {
  readonly files = new Map<string, Uint8Array>();
  constructor(readonly location = 'memory') {}
  async write(name: string, bytes: Uint8Array): Promise<void> {
    this.files.set(name, bytes.slice());
  }
  async read(name: string): Promise<Uint8Array | null> {
    return this.files.get(name)?.slice() ?? null;
  }
  describe(name: string): string {
    return `${this.location}/${name}`;
  }
}
