import { conv2d } from '../../src/nn/functional/index.js';
import { lazy, uniform } from '../host-data.js';
import { oursSide, tfjsSide } from '../sides.js';
import type { CaseDef } from './types.js';
import { convFlops, distinctConvs, weightsOf } from './vgg16-spec.js';

/** Every distinct VGG16 conv layer shape at 150×150 input: 3×3 'same' conv + bias + ReLU (the layer as used). */
export function convCases(quick: boolean): CaseDef[] {
  const batch = quick ? 1 : 20;
  return distinctConvs().map(({ layer: l, same }) => {
    const inputs = lazy(() => {
      const wb = weightsOf(l.name);
      return [
        { data: uniform(batch * l.size * l.size * l.cin, 0, 1, 100 + l.cin + l.size), shape: [batch, l.size, l.size, l.cin] },
        { data: wb.w, shape: [3, 3, l.cin, l.cout] },
        { data: wb.b, shape: [l.cout] },
      ];
    });
    return {
      name: `conv_${l.name}_b${batch}`,
      fullName: `conv_${l.name}_b20`,
      group: 'conv',
      batch,
      shape: `[${batch},${l.size},${l.size},${l.cin}] * [3,3,${l.cin},${l.cout}]${same.length ? ` (also ${same.join(', ')})` : ''}`,
      flops: convFlops(l, batch),
      images: batch,
      tolerance: 1e-4,
      ours: (ctx) => oursSide(ctx.engine, inputs(), ([x, w, b]) => conv2d(x!, w!, b!, { padding: 'same', relu: true })),
      tfjs: (ctx, backend) =>
        tfjsSide(ctx.tfjs, backend, inputs(), ([x, w, b]) =>
          ctx.tfjs.tf.fused.conv2d({ x: x as never, filter: w as never, strides: 1, pad: 'same', bias: b, activation: 'relu' }),
        ),
    } satisfies CaseDef;
  });
}
