import { dense } from '../../src/nn/functional/index.js';
import { bias, glorot, lazy, uniform } from '../host-data.js';
import { oursSide, tfjsSide } from '../sides.js';
import type { CaseDef } from './types.js';

/** The classifier head's first layer: Dense(256, relu) on the 4×4×512 = 8192 flattened features, batch 20. */
export function denseCases(): CaseDef[] {
  const [n, k, m] = [20, 8192, 256];
  const inputs = lazy(() => [
    { data: uniform(n * k, 0, 1, 401), shape: [n, k] },
    { data: glorot([k, m], 402), shape: [k, m] },
    { data: bias(m, 403), shape: [m] },
  ]);
  return [
    {
      name: `dense_8192x256_b${n}`,
      fullName: `dense_8192x256_b${n}`,
      group: 'dense',
      batch: n,
      shape: `[${n},${k}] x [${k},${m}] + bias, relu`,
      flops: 2 * n * k * m,
      tolerance: 1e-4,
      ours: (ctx) => oursSide(ctx.engine, inputs(), ([x, w, b]) => dense(x!, w!, b!, { relu: true })),
      tfjs: (ctx, backend) =>
        tfjsSide(ctx.tfjs, backend, inputs(), ([x, w, b]) => ctx.tfjs.tf.fused.matMul({ a: x!, b: w!, bias: b, activation: 'relu' })),
    },
  ];
}
