// SqueezeNet 1.1 features (conv1 … fire9 + global average pool) at 224×224 with random weights: time per image at a
// batch size, the figure behind `npm start` (4000 images in a few minutes). Run: node dev/run.mjs squeezenet [batch]
import { Engine } from '../src/engine/index.js';
import { buildSqueezeNet11 } from '../src/models/squeezenet1_1.js';
import { INFERENCE } from '../src/nn/layer.js';
import { randn, threadCpu } from './harness.js';

const batch = Number(process.argv[2] ?? 20);
const e = await Engine.create();
const model = buildSqueezeNet11(e, { seed: 1 });
const x = e.upload(randn(batch * 224 * 224 * 3, 3), [batch, 224, 224, 3]);
const run = async (): Promise<number> => {
  const t = performance.now();
  const y = e.noGrad(() => e.tidy(() => model.forward(x, INFERENCE)));
  // Sliced wait (dev/polling.ts) so the main thread does not take a core from the shader workers.
  let done = false;
  const p = y.readF32().then(() => (done = true));
  while (!done) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    await new Promise((r) => setImmediate(r));
  }
  await p;
  y.dispose();
  return (performance.now() - t) / 1000;
};
const c0 = threadCpu().other;
console.log(`first run ${(await run()).toFixed(2)} s (${(threadCpu().other - c0).toFixed(1)} cpu-s compiling)`);
const times: number[] = [];
for (let i = 0; i < 3; i++) times.push(await run());
const best = Math.min(...times);
console.log(`${e.info.description}: SqueezeNet 1.1 features, batch ${batch}: best ${best.toFixed(2)} s = ${((best / batch) * 1000).toFixed(1)} ms/image → 4000 images ${((best / batch) * 4000 / 60).toFixed(1)} min`);
e.profiler.start();
const y = e.noGrad(() => e.tidy(() => model.forward(x, INFERENCE)));
await y.readF32();
for (const k of await e.profiler.stop()) console.log(`  ${k.name.padEnd(24)} ${String(k.calls).padStart(3)} calls ${k.totalMs.toFixed(1).padStart(8)} ms`);

// Each convolution alone (batch as above): where the conv time goes.
if (process.env.LAYERS) {
  const { conv2dForward } = await import('../src/kernels/conv2d.js');
  const fires: [number, number, number, number, number][] = [
    // [size, cin, squeeze, expand1x1, expand3x3]
    [55, 64, 16, 64, 64], [55, 128, 16, 64, 64], [27, 128, 32, 128, 128], [27, 256, 32, 128, 128],
    [13, 256, 48, 192, 192], [13, 384, 48, 192, 192], [13, 384, 64, 256, 256], [13, 512, 64, 256, 256],
  ];
  const layers: [string, number, number, number, number, 1 | 2, 'same' | 'valid'][] = [['conv1', 224, 3, 64, 3, 2, 'valid']];
  fires.forEach(([s, cin, sq, e1, e3], i) => {
    layers.push([`fire${i + 2}/squeeze`, s, cin, sq, 1, 1, 'same'], [`fire${i + 2}/expand1x1`, s, sq, e1, 1, 1, 'same'], [`fire${i + 2}/expand3x3`, s, sq, e3, 3, 1, 'same']);
  });
  let total = 0;
  for (const [name, s, cin, cout, k, stride, padding] of layers) {
    const xin = e.upload(randn(batch * s * s * cin, 5), [batch, s, s, cin]);
    const w = e.upload(randn(k * k * cin * cout, 6).map((v) => v * 0.1), [k, k, cin, cout]);
    const b = e.upload(randn(cout, 7), [cout]);
    const out = conv2dForward(e, xin, w, b, { stride, padding, relu: true });
    await e.sync();
    let bestT = Infinity;
    for (let r = 0; r < 3; r++) {
      const t = performance.now();
      conv2dForward(e, xin, w, b, { stride, padding, relu: true, out });
      await e.sync();
      bestT = Math.min(bestT, (performance.now() - t) / 1000);
    }
    const flop = 2 * batch * out.shape[1]! * out.shape[2]! * k * k * cin * cout;
    total += bestT;
    console.log(`  ${name.padEnd(18)} ${`${s}×${s}×${cin}→${cout} ${k}×${k}`.padEnd(20)} ${(bestT * 1000).toFixed(1).padStart(7)} ms ${(flop / bestT / 1e9).toFixed(2).padStart(6)} GFLOP/s`);
    for (const t of [xin, w, b, out]) t.dispose();
  }
  console.log(`  all convolutions ${(total * 1000).toFixed(0)} ms for ${batch} images`);
}
process.exit(0);
