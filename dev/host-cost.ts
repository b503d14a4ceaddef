// Host time of one VGG16 fine-tuning step (blocks 1–4 frozen, block5 + head trained, RMSprop), eager and replayed:
// JS time from the step's start until its commands are submitted, measured with the GPU idle. Prints JSON.
//   node dist/dev-host-cost.js [--input 32] [--batch 2] [--steps 10]
import { Engine } from '../src/engine/index.js';
import { buildVgg16 } from '../src/models/vgg16.js';
import { bceWithLogits } from '../src/nn/functional/index.js';
import { RMSprop } from '../src/nn/optim/index.js';
import { buildTransferModel, forwardLogits } from '../src/train/model.js';

const arg = (name: string, d: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const input = arg('input', 32);
const batch = arg('batch', 2);
const steps = arg('steps', 10);

const e = await Engine.create();
const model = buildTransferModel(e, buildVgg16(e, { inputSize: input }), input, 0, { dropout: true });
model.trainOnly(['block5_conv1', 'block5_conv2', 'block5_conv3', 'dense_1', 'dense_2']);
const opt = new RMSprop(model.trainableParams(), { lr: 1e-5 });
const x = e.upload(new Float32Array(batch * input * input * 3).map((_, i) => (i % 251) / 251), [batch, input, input, 3]);
const y = e.upload(new Float32Array(batch).map((_, i) => i % 2), [batch]);
const ctx = { training: true, seed: 0, epoch: 0, step: 0 };
const body = (xi: typeof x, yi: typeof y): void => {
  const loss = bceWithLogits(forwardLogits(model, xi, ctx), yi);
  e.tape.backward(loss);
  opt.step();
  opt.zeroGrad();
};
const median = (a: number[]): number => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!;
const dispatchesOf = (): number => [...e.stats.dispatches.values()].reduce((a, b) => a + b, 0);

async function measure(run: () => void): Promise<{ host_ms: number; min_ms: number; dispatches: number }> {
  const times: number[] = [];
  let dispatches = 0;
  for (let k = 0; k < steps; k++) {
    await e.sync();
    e.resetStats();
    ctx.step++;
    const t0 = performance.now();
    run();
    e.flush();
    times.push(performance.now() - t0);
    dispatches = dispatchesOf();
  }
  await e.sync();
  return { host_ms: median(times), min_ms: Math.min(...times), dispatches };
}

const eagerStep = (): void => e.tidy(() => body(x, y));
eagerStep();
eagerStep();
const eager = await measure(eagerStep);
const captured = e.capture([x, y], body, { label: 'finetune' });
const replay = await measure(() => captured.replay());
const out = {
  input,
  batch,
  eager: { ...eager, us_per_dispatch: (eager.host_ms * 1000) / eager.dispatches },
  replay: { ...replay, us_per_dispatch: (replay.host_ms * 1000) / replay.dispatches },
};
console.log(JSON.stringify(out, null, 2));
if (process.argv.includes('--names')) console.log(JSON.stringify(Object.fromEntries(captured.dispatchesByName)));
captured.dispose();
e.destroy();
