// Where a replay's host time goes (hooks, encoding, submit): VGG16 fine-tuning step (`--input 32 --batch 2 --reps 50`).
import { arg, finetuneStep } from './finetune-step.js';

const { e, x, y, body } = await finetuneStep(arg('input', 32), arg('batch', 2));
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
