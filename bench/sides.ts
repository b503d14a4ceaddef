// Builders for the common shape of a side: inputs uploaded once, one call producing one output per iteration.
import type * as TF from '@tensorflow/tfjs';
import type { Engine, Tensor } from '../src/engine/index.js';
import type { Side } from './cases/types.js';
import type { TfjsHandle } from './tfjs-setup.js';

export interface HostInput {
  data: Float32Array;
  shape: number[];
}

/** Our engine: `fn` records kernels into the engine's command batch; `finish` submits and waits. */
export function oursSide(e: Engine, inputs: HostInput[], fn: (xs: Tensor[]) => Tensor, disposeExtra?: () => void): Side {
  const xs = inputs.map((h) => e.keep(e.upload(h.data, h.shape)));
  let out: Tensor | null = null;
  const enqueue = (): void => {
    out?.dispose();
    out = e.tidy(() => e.noGrad(() => fn(xs)));
  };
  return {
    enqueue,
    finish: () => e.sync(),
    async result() {
      enqueue();
      return [await out!.readF32()];
    },
    dispose() {
      out?.dispose();
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
