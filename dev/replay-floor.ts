// A replay's host time against the stack's floor, piece by piece (issue 22). Per round, GPU idle before each, in
// rotating order: `floor` (the step's commands encoded + submitted, everything prebuilt: bench/floor.ts), `+scopes`
// (the floor with the engine's two error scopes around submit), `+hooks` (the floor after the step's per-step
// callbacks), `+upload` (the floor after writing a new batch into the step's inputs), `replay` (step.replay()
// plus the engine's flush: what the bench's host_ms times), `eager` (the step recorded anew). Medians and minima.
// Run: node dev/run.mjs replay-floor [--input 150] [--batch 2] [--reps 15]
import { encodeAndSubmit } from '../bench/floor.js';
import { median } from '../bench/timing.js';
import { arg, finetuneStep } from './finetune-step.js';

const input = arg('input', 150);
const batch = arg('batch', 2);
const { e, x, y, body } = await finetuneStep(input, batch);
e.tidy(() => body(x, y));
const step = e.capture([x, y], body);
const dev = e.device;
const images = new Float32Array(batch * input * input * 3).fill(0.25);
const labels = new Float32Array(batch).fill(1);
const variants: Record<string, () => void> = {
  floor: () => encodeAndSubmit(dev, step.commands),
  '+scopes': () => {
    dev.pushErrorScope('out-of-memory');
    dev.pushErrorScope('validation');
    encodeAndSubmit(dev, step.commands);
    void dev.popErrorScope();
    void dev.popErrorScope();
  },
  '+hooks': () => {
    for (const h of step.hooks) h();
    encodeAndSubmit(dev, step.commands);
  },
  '+upload': () => {
    e.write(step.inputs[0]!, images);
    e.write(step.inputs[1]!, labels);
    encodeAndSubmit(dev, step.commands);
  },
  replay: () => {
    step.replay();
    e.flush();
  },
  // The replay with the error scopes stubbed out (what they cost inside the engine's flush).
  'replay-scopes': () => {
    const push = dev.pushErrorScope;
    const pop = dev.popErrorScope;
    dev.pushErrorScope = () => undefined;
    dev.popErrorScope = () => Promise.resolve(null);
    try {
      step.replay();
      e.flush();
    } finally {
      dev.pushErrorScope = push;
      dev.popErrorScope = pop;
    }
  },
  eager: () => {
    e.tidy(() => body(x, y));
    e.flush();
  },
};
const names = Object.keys(variants);
const ms = new Map<string, number[]>(names.map((n) => [n, []]));
const reps = arg('reps', 15);
for (let r = 0; r < reps; r++) {
  for (let k = 0; k < names.length; k++) {
    const n = names[(k + r) % names.length]!;
    await e.sync();
    const t0 = performance.now();
    variants[n]!();
    ms.get(n)!.push(performance.now() - t0);
  }
}
await e.sync();
const floor = median(ms.get('floor')!);
for (const n of names) {
  const s = ms.get(n)!;
  console.log(`${n.padEnd(9)} median ${median(s).toFixed(3)} ms  min ${Math.min(...s).toFixed(3)} ms  (${(median(s) / floor).toFixed(2)}× floor)`);
}
console.log(`${step.dispatchCount} dispatches, ${step.commands.length} commands, ${step.hooks.length} per-step callbacks, ${input}×${input} batch ${batch}`);
e.destroy();
process.exit(0);
