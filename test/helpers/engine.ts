import { afterAll } from 'vitest';
import { Engine } from '../../src/engine/index.js';

let shared: Promise<Engine> | null = null;

/** One engine per test file, destroyed after the file's tests. */
export function testEngine(): Promise<Engine> {
  if (!shared) {
    shared = Engine.create();
    afterAll(async () => {
      const e = await shared!;
      if (!e.lost) e.destroy();
      shared = null;
    });
  }
  return shared;
}
