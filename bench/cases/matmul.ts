import { matmul } from '../../src/nn/functional/index.js';
import { lazy, uniform } from '../host-data.js';
import { oursSide, tfjsSide } from '../sides.js';
import type { CaseDef } from './types.js';

/** C = A·B for square n×n matrices. --quick runs 4096³ at 2048³ (4096³ takes minutes on a CPU driver). */
export function matmulCases(quick: boolean): CaseDef[] {
  return [1024, 4096].map((full) => {
    const n = quick && full > 2048 ? 2048 : full;
    const inputs = lazy(() => [
      { data: uniform(n * n, -1, 1, 11), shape: [n, n] },
      { data: uniform(n * n, -1, 1, 12), shape: [n, n] },
    ]);
    return {
      name: `matmul_${n}`,
      fullName: `matmul_${full}`,
      group: 'matmul',
      shape: `[${n},${n}] x [${n},${n}]`,
      flops: 2 * n * n * n,
      tolerance: 1e-4,
      ours: (ctx) => oursSide(ctx.engine, inputs(), ([a, b]) => matmul(a!, b!)),
      tfjs: (ctx, backend) => tfjsSide(ctx.tfjs, backend, inputs(), ([a, b]) => ctx.tfjs.tf.matMul(a!, b!)),
    } satisfies CaseDef;
  });
}
