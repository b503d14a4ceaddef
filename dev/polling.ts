// Does the main thread's busy polling while awaiting the GPU slow lavapipe's workers on a 2-core machine?
// Compares awaiting right away with first blocking the main thread (Atomics.wait) for most of the expected time.
import { Engine } from '../src/engine/index.js';
import { matmulForward } from '../src/kernels/matmul.js';

const e = await Engine.create();
const n = 1536;
const a = e.full([n, n], 1);
const out = e.empty([n, n]);
matmulForward(e, a, a, { out });
await e.sync();
const block = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
for (let round = 0; round < 3; round++) {
  let t0 = performance.now();
  for (let i = 0; i < 5; i++) {
    matmulForward(e, a, a, { out });
    await e.sync();
  }
  const plain = (performance.now() - t0) / 5;
  t0 = performance.now();
  for (let i = 0; i < 5; i++) {
    matmulForward(e, a, a, { out });
    e.flush();
    block(plain * 0.9);
    await e.sync();
  }
  const blocked = (performance.now() - t0) / 5;
  console.log(`${n}³ matmul: await at once ${plain.toFixed(0)} ms, block main thread first ${blocked.toFixed(0)} ms`);
}
process.exit(0);
