import { BOOK_AUGMENTATION, sampleAugmentBatch, type AugmentConfig } from '../data/augment-params.js';
import type { HostBatch } from '../data/types.js';
import type { Engine, Tensor } from '../engine/index.js';
import { augment } from '../kernels/augment.js';
import { preprocess, type PreprocessMode } from '../kernels/preprocess.js';
import { Rng } from '../util/rng.js';
import type { Batch, ForwardContext } from './batches.js';
import { mixSeed, STREAM } from './seeds.js';

/** Uploads a host batch of RGB bytes as a u8 [N, H, W, 3] tensor with f32 0/1 labels [N]. */
export function uploadImageBatch(e: Engine, host: HostBatch): Batch {
  const x = e.keep(e.upload(host.images, [host.size, host.height, host.width, 3], 'u8'));
  const y = e.keep(e.upload(host.labels, [host.size]));
  return {
    x,
    y,
    size: host.size,
    dispose: () => {
      x.dispose();
      y.dispose();
    },
  };
}

/** The augmentation matrices of one training batch: a pure function of (seed, epoch, step). */
export function augmentMatrices(cfg: AugmentConfig, ctx: ForwardContext, n: number, h: number, w: number): Float32Array {
  return sampleAugmentBatch(new Rng(mixSeed(ctx.seed, STREAM.augment, ctx.epoch ?? 0, ctx.step)), cfg, n, h, w).matrices;
}

/**
 * u8 pixels → the backbone's f32 input on the GPU: normalisation, then (training only, when `augmentation` is set)
 * the Keras random affine transform. The two commute (the warp is a convex combination of pixels and the
 * normalisation is affine per channel), so normalising first lets the warp work on floats.
 */
export function prepareImages(e: Engine, x: Tensor, mode: PreprocessMode, ctx: ForwardContext, augmentation: AugmentConfig | null): Tensor {
  const xf = preprocess(e, x, mode);
  if (!ctx.training || !augmentation) return xf;
  const [n, h, w] = x.shape as [number, number, number, number];
  // Drawn when the step runs — and again before every replay of a captured step, from that step's (epoch, step).
  const m = e.uploadPerStep(() => augmentMatrices(augmentation, ctx, n, h, w), [n, 6]);
  const out = augment(e, xf, m);
  xf.dispose();
  m.dispose();
  return out;
}

/**
 * `n` augmented copies of one image (RGB bytes, size × size), rescaled to [0, 1] and warped on the GPU by the
 * augmentation kernel training uses, with matrices drawn from `Rng(seed)`: what `augment-preview` shows.
 */
export async function augmentedCopies(e: Engine, pixels: Uint8Array, size: number, o: { n: number; seed: number; config?: AugmentConfig }): Promise<Float32Array> {
  const n = o.n;
  const batch = new Uint8Array(n * pixels.length);
  for (let i = 0; i < n; i++) batch.set(pixels, i * pixels.length);
  const { matrices } = sampleAugmentBatch(new Rng(o.seed), o.config ?? BOOK_AUGMENTATION, n, size, size);
  return e.tidyAsync(async () => {
    const x = e.upload(batch, [n, size, size, 3], 'u8');
    const y = augment(e, preprocess(e, x, 'rescale'), e.upload(matrices, [n, 6]));
    return y.readF32();
  });
}

export { BOOK_AUGMENTATION };
