import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FuzzJob, FuzzKind, FuzzMessage } from './helpers/fuzz-formats-worker.js';

// Issue 9: every parser, fed thousands of mutated files from a seeded RNG, ends each case in a result or a
// WeightFormatError — never another error, a crash or a hang. The cases run in a worker with a watchdog and a
// heap limit, so a hang or a runaway allocation fails the test (naming the case) instead of stalling it.
const root = resolve(__dirname, '..');
const realModelJson = resolve(root, '..', 'shared', 'weights', 'vgg16-fragment', 'model.json');
const SEED = 20240917;
/** No progress message for this long means a case is stuck. */
const STALL_MS = 10_000;
let outDir = '';
let worker = '';

beforeAll(async () => {
  outDir = join(root, '.cache', `fuzz-formats-${process.pid}`);
  await mkdir(outDir, { recursive: true });
  worker = join(outDir, 'worker.mjs');
  await build({
    entryPoints: [join(__dirname, 'helpers', 'fuzz-formats-worker.ts')],
    outfile: worker,
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'silent',
  });
});

afterAll(async () => {
  await rm(outDir, { recursive: true, force: true });
});

interface Outcome {
  escapes: Extract<FuzzMessage, { type: 'escape' }>[];
  done?: Extract<FuzzMessage, { type: 'done' }>;
  failure?: string;
}

function fuzz(job: FuzzJob): Promise<Outcome> {
  return new Promise((res) => {
    const w = new Worker(worker, { workerData: job, resourceLimits: { maxOldGenerationSizeMb: 768 } });
    const out: Outcome = { escapes: [] };
    let last = -1;
    let timer: NodeJS.Timeout;
    const finish = (failure?: string): void => {
      clearTimeout(timer);
      if (failure) out.failure = failure;
      void w.terminate();
      res(out);
    };
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => finish(`${job.kind}: no progress for ${STALL_MS} ms after case ${last} (seed ${job.seed}): a parser hangs`), STALL_MS);
    };
    arm();
    w.on('message', (m: FuzzMessage) => {
      if (m.type === 'progress') {
        last = m.index;
        arm();
      } else if (m.type === 'escape') out.escapes.push(m);
      else {
        out.done = m;
        finish();
      }
    });
    w.on('error', (e) => finish(`${job.kind}: worker died after case ${last}: ${e.message}`));
    w.on('exit', (code) => {
      if (!out.done) finish(`${job.kind}: worker exited (code ${code}) after case ${last}`);
    });
  });
}

const jobs: [FuzzKind, number][] = [
  ['safetensors', 4000],
  ['npy', 4000],
  ['tfjs-manifest', 3000],
  ['keras-h5', 2000],
];

describe('fuzzing the weight-format parsers', () => {
  for (const [kind, count] of jobs) {
    it(`${kind}: ${count} mutated files end in a result or a WeightFormatError`, async () => {
      const job: FuzzJob = { kind, seed: SEED, count, ...(existsSync(realModelJson) ? { realModelJson } : {}) };
      const r = await fuzz(job);
      expect(r.failure).toBeUndefined();
      expect(r.escapes.map((e) => `case ${e.index} (${e.mutation}): ${e.error}`).slice(0, 5)).toEqual([]);
      const d = r.done!;
      expect(d.ok + d.rejected).toBe(count);
      // Both outcomes occur: the mutations reach past the first check, and damage is caught.
      expect(d.ok).toBeGreaterThan(0);
      expect(d.rejected).toBeGreaterThan(count / 10);
      expect(d.seedStillParses).toBe(true);
      console.log(`${kind}: ${d.ok} parsed, ${d.rejected} rejected in ${d.ms} ms`);
    }, 120_000);
  }
});
