// Builders for the common shape of a side: inputs uploaded once, one call producing one output per iteration.
import type * as TF from '@tensorflow/tfjs';
import type { CapturedStep } from '../src/engine/capture.js';
import type { Engine, Tensor } from '../src/engine/index.js';
import type { Side } from './cases/types.js';
import type { TfjsHandle } from './tfjs-setup.js';

export interface HostInput {
  data: Float32Array;
  shape: number[];
}

/**
 * Our engine: `fn` records kernels into the engine's command batch; `finish` submits and waits. With `replay`, `fn`
 * is captured once (engine.capture) and every iteration replays it; `result()` runs it eagerly, captures it, then
 * replays it once, so the compared output is a replay's.
 */
export function oursSide(e: Engine, inputs: HostInput[], fn: (xs: Tensor[]) => Tensor, disposeExtra?: () => void, opts: { replay?: boolean; label?: string } = {}): Side {
  const xs = inputs.map((h) => e.keep(e.upload(h.data, h.shape)));
  let out: Tensor | null = null;
  let step: CapturedStep<Tensor> | null = null;
  const eager = (): Tensor => e.tidy(() => e.noGrad(() => fn(xs)));
  const enqueue = (): void => {
    if (!opts.replay) {
      out?.dispose();
      out = eager();
    } else if (step) {
      out = step.replay();
    } else {
      step = e.capture(xs, (...ins) => e.tidy(() => e.noGrad(() => fn(ins))), { label: opts.label ?? 'bench' });
      out = step.outputs;
    }
  };
  return {
    enqueue,
    finish: () => e.sync(),
    upload: () => xs.forEach((x, i) => e.write(x, inputs[i]!.data)),
    async result() {
      if (opts.replay && !step) {
        // One eager run first: it compiles every pipeline and fills the engine's caches of values derived from
        // constant weights (Winograd filter transforms), which the captured step then reads as eager iterations
        // do, instead of recording (and replaying) their computation. Then the capture (a run of its own).
        eager().dispose();
        enqueue();
      }
      enqueue();
      return [await out!.readF32()];
    },
    dispose() {
      if (step) step.dispose();
      else out?.dispose();
      for (const x of xs) x.dispose();
      disposeExtra?.();
    },
  };
}

/** TF.js on whichever backend is active when this is called (the caller switches backends). */
export function tfjsSide(
  h: TfjsHandle,
  backend: 'webgpu' | 'wasm',
  inputs: HostInput[],
  fn: (xs: TF.Tensor[]) => TF.Tensor,
  disposeExtra?: () => void,
): Side {
  const tf = h.tf;
  const xs = inputs.map((i) => tf.tensor(i.data, i.shape));
  let out: TF.Tensor | null = null;
  const enqueue = (): void => {
    out?.dispose();
    out = tf.tidy(() => fn(xs));
  };
  return {
    enqueue,
    finish: () => (backend === 'webgpu' ? h.finishWebgpu() : Promise.resolve()),
    async result() {
      enqueue();
      return [(await out!.data()) as Float32Array];
    },
    dispose() {
      out?.dispose();
      for (const x of xs) x.dispose();
      disposeExtra?.();
    },
  };
}
