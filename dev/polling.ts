// Does the main thread's busy polling while awaiting the GPU slow lavapipe's workers on a 2-core machine?
// Three ways to wait for the same 1536³ matmul, interleaved over several rounds (fastest of each kept):
// awaiting at once (Dawn's `webgpu` package then ticks the device from a setImmediate loop: 100 % of a core),
// blocking the main thread (Atomics.wait) for most of the expected time first, and alternating 1 ms blocking
// sleeps with single event-loop turns until the promise settles.
import { Engine } from '../src/engine/index.js';
import { matmulForward } from '../src/kernels/matmul.js';
import { threadCpu } from './harness.js';

const e = await Engine.create();
const n = 1536;
const a = e.full([n, n], 1);
const out = e.empty([n, n]);
matmulForward(e, a, a, { out });
await e.sync();
const block = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
let estimate = 0;
const modes: Record<string, () => Promise<void>> = {
  'await at once': async () => {
    await e.sync();
  },
  'block first': async () => {
    e.flush();
    block(estimate * 0.8);
    await e.sync();
  },
  'sliced 1 ms': async () => {
    let done = false;
    const p = e.sync().then(() => (done = true));
    while (!done) {
      block(1);
      await new Promise((r) => setImmediate(r));
    }
    await p;
  },
};
const best: Record<string, { wall: number; main: number }> = {};
for (let round = 0; round < 6; round++) {
  for (const [name, wait] of Object.entries(modes)) {
    const c0 = threadCpu().main;
    const t0 = performance.now();
    matmulForward(e, a, a, { out });
    await wait();
    const wall = performance.now() - t0;
    const main = (threadCpu().main - c0) * 1000;
    if (name === 'await at once') estimate = wall;
    if (!best[name] || wall < best[name]!.wall) best[name] = { wall, main };
  }
}
for (const [name, b] of Object.entries(best)) console.log(`${n}³ matmul, ${name.padEnd(14)} best ${b.wall.toFixed(0)} ms (main thread ${b.main.toFixed(0)} ms CPU)`);
process.exit(0);
