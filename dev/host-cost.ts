// Host time of one VGG16 fine-tuning step (blocks 1–4 frozen, block5 + head trained, RMSprop), eager and replayed:
// JS time from the step's start until its commands are submitted, measured with the GPU idle. Prints JSON.
//   node dist/dev-host-cost.js [--input 32] [--batch 2] [--steps 10]
import { arg, finetuneStep } from './finetune-step.js';

const input = arg('input', 32);
const batch = arg('batch', 2);
const steps = arg('steps', 10);
const { e, x, y, ctx, body } = await finetuneStep(input, batch);
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
