// Where a replay's host time goes (hooks, encoding, submit): VGG16 fine-tuning step (`--input 32 --batch 2 --reps 50`).
import { Engine } from '../src/engine/index.js';
import { bceWithLogits } from '../src/nn/functional/index.js';
import { RMSprop } from '../src/nn/optim/index.js';
import { buildTransferModel, forwardLogits } from '../src/train/model.js';
import { buildVgg16 } from '../src/models/vgg16.js';

const arg = (name: string, d: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const S = arg('input', 32);
const B = arg('batch', 2);
const e = await Engine.create();
const model = buildTransferModel(e, buildVgg16(e, { inputSize: S }), S, 0, { dropout: true });
model.trainOnly(['block5_conv1', 'block5_conv2', 'block5_conv3', 'dense_1', 'dense_2']);
const opt = new RMSprop(model.trainableParams(), { lr: 1e-5 });
const x = e.upload(new Float32Array(B * S * S * 3).fill(0.5), [B, S, S, 3]);
const y = e.upload(new Float32Array(B).map((_, i) => i % 2), [B]);
const ctx = { training: true, seed: 0, epoch: 0, step: 0 };
const body = (xi: typeof x, yi: typeof y): void => {
  e.tape.backward(bceWithLogits(forwardLogits(model, xi, ctx), yi));
  opt.step();
  opt.zeroGrad();
};
e.tidy(() => body(x, y));
const step = e.capture([x, y], body);
const t = { flush: 0, submit: 0, finish: 0, total: 0, hooks: 0 };
const createEncoder = e.device.createCommandEncoder.bind(e.device);
e.device.createCommandEncoder = (d?: GPUCommandEncoderDescriptor) => {
  const enc = createEncoder(d);
  const finish = enc.finish.bind(enc);
  enc.finish = (fd?: GPUCommandBufferDescriptor) => {
    const t0 = performance.now();
    const cb = finish(fd);
    t.finish += performance.now() - t0;
    return cb;
  };
  return enc;
};
const flush = e.flush.bind(e);
e.flush = () => {
  const t0 = performance.now();
  flush();
  t.flush += performance.now() - t0;
};
const submit = e.device.queue.submit.bind(e.device.queue);
e.device.queue.submit = (b: Iterable<GPUCommandBuffer>) => {
  const t0 = performance.now();
  submit(b);
  t.submit += performance.now() - t0;
};
const hooks = step.hooks.map((h) => h);
(step.hooks as (() => void)[]).splice(0, hooks.length, ...hooks.map((h) => () => {
  const t0 = performance.now();
  h();
  t.hooks += performance.now() - t0;
}));
const N = arg('reps', 50);
const totals: number[] = [];
for (let i = 0; i < N; i++) {
  await e.sync();
  const t0 = performance.now();
  step.replay();
  const dt = performance.now() - t0;
  t.total += dt;
  totals.push(dt);
}
await e.sync();
totals.sort((a, b) => a - b);
console.log(JSON.stringify({ per_replay_ms: Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v / N])), median: totals[N >> 1], min: totals[0], dispatches: step.dispatchCount }, null, 1));
e.destroy();
