import { maxPool2d } from '../../src/nn/functional/index.js';
import { lazy, uniform } from '../host-data.js';
import { oursSide, tfjsSide } from '../sides.js';
import type { CaseDef } from './types.js';
import { VGG16_CONVS } from './vgg16-spec.js';

/** 2×2 stride-2 max-pool at block1 (150→75, the largest) and block3 (37→18, an odd size that floors). */
export function poolCases(quick: boolean): CaseDef[] {
  const batch = quick ? 2 : 20;
  return [1, 3].map((block) => {
    const l = VGG16_CONVS.find((c) => c.block === block)!;
    const { size, cout: c } = l;
    const inputs = lazy(() => [{ data: uniform(batch * size * size * c, -1, 1, 300 + block), shape: [batch, size, size, c] }]);
    return {
      name: `maxpool_block${block}_b${batch}`,
      fullName: `maxpool_block${block}_b20`,
      group: 'pool',
      batch,
      shape: `[${batch},${size},${size},${c}] -> [${batch},${size >> 1},${size >> 1},${c}]`,
      flops: 0,
      tolerance: 0,
      ours: (ctx) => oursSide(ctx.engine, inputs(), ([x]) => maxPool2d(x!, { size: 2, stride: 2 })),
      tfjs: (ctx, backend) => tfjsSide(ctx.tfjs, backend, inputs(), ([x]) => ctx.tfjs.tf.maxPool(x as never, 2, 2, 'valid')),
    } satisfies CaseDef;
  });
}
