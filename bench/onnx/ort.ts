// An ONNX Runtime side (onnxruntime-node or onnxruntime-web: the same InferenceSession API), as the bench's Timed:
// `enqueue` chains one `session.run` after the ones before it (a session runs one call at a time), `finish` awaits
// the chain. Every run returns its logits on the host (what a user of session.run gets); the input tensor is made once.
import type { Side } from '../cases/types.js';
import type { NchwBatch } from './ours.js';

/** The part of either package's API used here. */
export interface OrtLike {
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => unknown;
  InferenceSession: { create(bytes: Uint8Array, options?: Record<string, unknown>): Promise<OrtSession> };
}
export interface OrtSession {
  inputNames: readonly string[];
  outputNames: readonly string[];
  run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown; dims: readonly number[]; dispose?(): void }>>;
  release(): Promise<void>;
}

export async function ortSide(ort: OrtLike, modelBytes: Uint8Array, input: NchwBatch, options: Record<string, unknown>): Promise<Side> {
  const session = await ort.InferenceSession.create(modelBytes, options);
  const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', input.data, input.shape) };
  const out = session.outputNames[0]!;
  let chain: Promise<Float32Array> = Promise.resolve(new Float32Array());
  const enqueue = (): void => {
    chain = chain.then(async () => {
      const r = await session.run(feeds);
      const y = r[out]!;
      const data = Float32Array.from(y.data as Float32Array);
      for (const t of Object.values(r)) t.dispose?.();
      return data;
    });
  };
  return {
    enqueue,
    finish: async () => void (await chain),
    async result() {
      enqueue();
      return [await chain];
    },
    dispose() {
      // After the runs in flight (a failed one included); a release that fails has nothing left to free.
      void chain.catch(() => undefined).then(() => session.release()).catch(() => undefined);
    },
  };
}
