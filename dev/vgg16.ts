// VGG16 convolutional base forward (13 conv 3×3 same + ReLU, 5 max-pools) at 150×150, random weights: wall time per
// image and GFLOP/s, the issue-7 figure (TF.js WebGPU on this adapter: 8.1 s for 13.23 GFLOP).
// Run: node dev/run.mjs vgg16 [batch] [reps]
import { readdirSync, readFileSync } from 'node:fs';
import { Engine, type Tensor } from '../src/engine/index.js';
import { conv2dForward } from '../src/kernels/conv2d.js';
import { maxPoolForward } from '../src/kernels/pool.js';
import { randn, threadCpu } from './harness.js';

const blocks = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]];
const batch = Number(process.argv[2] ?? 1);
const reps = Number(process.argv[3] ?? 3);
const e = await Engine.create();
const weights: { w: Tensor; b: Tensor }[] = [];
let cin = 3;
let flop = 0;
let hw = 150;
for (const block of blocks) {
  for (const cout of block) {
    weights.push({ w: e.upload(randn(9 * cin * cout, weights.length + 1).map((v) => v * 0.05), [3, 3, cin, cout]), b: e.upload(randn(cout, 99), [cout]) });
    flop += 2 * hw * hw * 9 * cin * cout * batch;
    cin = cout;
  }
  hw = Math.floor(hw / 2);
}
const x = e.upload(randn(batch * 150 * 150 * 3, 7), [batch, 150, 150, 3]);
const forward = (): Tensor =>
  e.tidy(() => {
    let h = x;
    let i = 0;
    for (const block of blocks) {
      for (let j = 0; j < block.length; j++, i++) h = conv2dForward(e, h, weights[i]!.w, weights[i]!.b, { relu: true });
      h = maxPoolForward(e, h, { size: 2, stride: 2, ceilMode: false });
    }
    return h;
  });
const c0 = threadCpu().other;
const t0 = performance.now();
let y = forward();
await y.readF32();
console.log(`first run (compiles) ${((performance.now() - t0) / 1000).toFixed(1)} s, ${(threadCpu().other - c0).toFixed(1)} cpu-s compiling; output [${y.shape.join(', ')}]`);
y.dispose();
const times: number[] = [];
for (let r = 0; r < reps; r++) {
  const w0 = threadCpu().workers;
  const t = performance.now();
  y = forward();
  if (process.env.BLOCK) {
    // Keep the main thread off the CPU (it busy-polls Dawn while a promise is pending) for most of the run.
    e.flush();
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(process.env.BLOCK));
  }
  await y.readF32();
  y.dispose();
  times.push((performance.now() - t) / 1000);
  console.log(`  run ${r}: ${times[r]!.toFixed(3)} s, workers ${(threadCpu().workers - w0).toFixed(2)} cpu-s`);
}
if (process.env.THREADS) {
  const snap = () => new Map(readdirSync('/proc/self/task').map((t) => {
    const st = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return [`${t} ${st.slice(st.indexOf('(') + 1, st.lastIndexOf(')'))}`, Number(f[11]) + Number(f[12])] as const;
  }));
  const s0 = snap();
  const t = performance.now();
  y = forward();
  await y.readF32();
  console.log(`threads over one run of ${((performance.now() - t) / 1000).toFixed(2)} s:`, [...snap()].map(([k, v]) => `${k}: ${v - (s0.get(k) ?? 0)}`).filter((l) => !l.endsWith(': 0')).join(', '));
}
if (process.env.PROFILE) {
  // Each layer alone: fastest of 3 runs, with the main thread blocked while the GPU works (see dev/NOTES.md).
  let h = x;
  let i = 0;
  for (const block of blocks) {
    for (let j = 0; j < block.length; j++, i++) {
      const k = weights[i]!;
      const f = 2 * h.shape[1]! * h.shape[2]! * 9 * h.shape[3]! * k.w.shape[3]! * batch;
      const out = conv2dForward(e, h, k.w, k.b, { relu: true });
      await e.sync();
      let best = Infinity;
      for (let r = 0; r < 3; r++) {
        const t = performance.now();
        conv2dForward(e, h, k.w, k.b, { relu: true, out });
        e.flush();
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.max(0, (f / 25e9) * 1000));
        await e.sync();
        best = Math.min(best, (performance.now() - t) / 1000);
      }
      console.log(`  ${`${h.shape[1]}×${h.shape[2]}×${h.shape[3]} → ${k.w.shape[3]}`.padEnd(20)} ${(best * 1000).toFixed(1).padStart(7)} ms ${(f / best / 1e9).toFixed(2).padStart(6)} GFLOP/s`);
      if (i > 0 && h !== x) h.dispose();
      h = out;
    }
    h = maxPoolForward(e, h, { size: 2, stride: 2, ceilMode: false });
  }
}
const best = Math.min(...times);
console.log(`${e.info.description}: VGG16 base, batch ${batch}, ${(flop / 1e9).toFixed(2)} GFLOP: best ${best.toFixed(3)} s = ${(flop / best / 1e9).toFixed(2)} GFLOP/s (${(8.1 * batch / best).toFixed(1)}× TF.js WebGPU's 8.1 s/image)`);
process.exit(0);
