import type * as TF from '@tensorflow/tfjs';
import { buildVgg16 } from '../../src/models/vgg16.js';
import { INFERENCE } from '../../src/nn/index.js';
import { lazy, uniform } from '../host-data.js';
import { oursSide, tfjsSide } from '../sides.js';
import type { CaseDef, Side } from './types.js';
import { convArrays, tfjsForward, uploadTfjs } from './vgg16-nets.js';
import { BASE_FLOPS_PER_IMAGE, INPUT, largestActivationBytes, OUTPUT_SIZE, VGG16_CONVS } from './vgg16-spec.js';

/**
 * The whole VGG16 conv base forward (inference) at 150×150, batches 1, 20 and 64 (--quick: 1, 2 and 4). Ours is the
 * library's model (buildVgg16 → Sequential of Conv2D/MaxPool2D layers) with the shared weights set by name.
 */
export function vgg16Cases(quick: boolean, maxBindingBytes: number): CaseDef[] {
  const full = [1, 20, 64];
  const run = quick ? [1, 2, 4] : full;
  // Each batch twice: ours replayed (the forward captured once, then replayed) and `_eager` (recorded every time).
  return run.flatMap((batch, i) => ([true, false] as const).map((replay) => {
    const images = lazy(() => uniform(batch * INPUT * INPUT * 3, 0, 1, 500 + batch));
    const need = largestActivationBytes(batch);
    const suffix = replay ? '' : '_eager';
    return {
      name: `vgg16_forward_b${batch}${suffix}`,
      fullName: `vgg16_forward_b${full[i]}${suffix}`,
      group: 'vgg16',
      batch,
      replay,
      shape: `[${batch},${INPUT},${INPUT},3] -> [${batch},${OUTPUT_SIZE},${OUTPUT_SIZE},512]; ours ${replay ? 'replayed' : 'eager'}`,
      flops: batch * BASE_FLOPS_PER_IMAGE,
      images: batch,
      tolerance: 1e-3,
      ...(need > maxBindingBytes
        ? { skip: `block1 activations need ${(need / 2 ** 20).toFixed(0)} MiB in one binding; this device allows ${(maxBindingBytes / 2 ** 20).toFixed(0)} MiB` }
        : {}),
      ours(ctx): Side {
        const e = ctx.engine;
        const model = buildVgg16(e, { inputSize: INPUT });
        model.setWeights(convArrays());
        model.trainable = false;
        return oursSide(e, [{ data: images(), shape: [batch, INPUT, INPUT, 3] }], ([x]) => model.forward(x!, INFERENCE), () => model.dispose(), {
          replay,
          label: 'vgg16_forward',
        });
      },
      tfjs(ctx, backend): Side {
        const tf = ctx.tfjs.tf;
        const params = uploadTfjs(tf, VGG16_CONVS);
        return tfjsSide(
          ctx.tfjs,
          backend,
          [{ data: images(), shape: [batch, INPUT, INPUT, 3] }],
          ([x]) => tfjsForward(tf, x as TF.Tensor4D, VGG16_CONVS, params, true),
          () => {
            for (const p of params.values()) (p.w.dispose(), p.b.dispose());
          },
        );
      },
    } satisfies CaseDef;
  }));
}
