// Bundled into a page by dev/tab-ab.mjs (also through dev/tab-layer-times.ts): the whole forward of a backbone
// (__forwardTimes) and one convolution (__convTimes) on the browser's own WebGPU adapter. Only APIs that older trees
// have too, so that tab-ab.mjs can bundle it against another src/ for an A/B comparison.
import { Engine } from '../src/engine/index.js';
import { conv2dForward } from '../src/kernels/conv2d.js';
import { INFERENCE } from '../src/nn/layer.js';
import { createBackbone } from '../src/models/registry.js';
import type { BuiltinBackboneName } from '../src/models/types.js';

const forwardSetups = new Map<string, Promise<{ e: Engine; bb: ReturnType<typeof createBackbone>; x: ReturnType<Engine['upload']> }>>();

/**
 * The whole forward of a backbone (one sync at the end), `reps` times after a warm-up run: each run's ms and a checksum
 * of the last output. The engine, backbone (Glorot weights, same seed) and input are kept for later calls.
 */
async function forwardTimes(name: BuiltinBackboneName, size: number, batch: number, reps: number): Promise<{ adapter: string; ms: number[]; checksum: number }> {
  let checksum = 0;
  const key = `${name},${size},${batch}`;
  if (!forwardSetups.has(key)) {
    forwardSetups.set(key, (async () => {
      const e = await Engine.create();
      const bb = createBackbone(name, e, { inputSize: size, logger: { warn: () => {} } });
      const x = e.upload(new Float32Array(batch * size * size * 3).map((_, i) => (i % 17) / 17), [batch, size, size, 3]);
      return { e, bb, x };
    })());
  }
  const { e, bb, x } = await forwardSetups.get(key)!;
  const ms: number[] = [];
  for (let r = 0; r <= reps; r++) {
    await e.sync();
    const t0 = performance.now();
    const y = bb.model.forward(x, INFERENCE);
    await e.sync();
    if (r > 0) ms.push(performance.now() - t0);
    if (r === reps) {
      const v = await y.readF32();
      checksum = v.reduce((a, t, i) => a + t * ((i % 7) + 1), 0);
    }
    y.dispose();
  }
  return { adapter: e.info.description, ms, checksum };
}
(window as unknown as { __forwardTimes: typeof forwardTimes }).__forwardTimes = forwardTimes;

const convSetups = new Map<string, Promise<{ e: Engine; run: () => void }>>();

/**
 * One convolution forward (bias, activation `act`) on [n, h, h, cin] with k×k filters to `cout` channels, `reps` times
 * after a warm-up run: each run's wall ms (engine and tensors kept for later calls with the same arguments).
 */
async function convTimes(n: number, h: number, cin: number, cout: number, k: number, stride: 1 | 2, padding: 'same' | 'valid', act: 'linear' | 'relu' | 'relu6', reps: number): Promise<{ ms: number[] }> {
  const key = [n, h, cin, cout, k, stride, padding, act].join(',');
  if (!convSetups.has(key)) {
    convSetups.set(key, (async () => {
      const e = await Engine.create();
      const x = e.upload(new Float32Array(n * h * h * cin).map((_, i) => (i % 17) / 17), [n, h, h, cin]);
      const w = e.upload(new Float32Array(k * k * cin * cout).map((_, i) => (i % 7) / 7 - 0.4), [k, k, cin, cout]);
      const b = e.upload(new Float32Array(cout).fill(0.1), [cout]);
      return { e, run: () => conv2dForward(e, x, w, b, { stride, padding, activation: act }).dispose() };
    })());
  }
  const { e, run } = await convSetups.get(key)!;
  const ms: number[] = [];
  for (let r = 0; r <= reps; r++) {
    await e.sync();
    const t0 = performance.now();
    run();
    await e.sync();
    if (r > 0) ms.push(performance.now() - t0);
  }
  return { ms };
}
Object.assign(window, { __convTimes: convTimes });
