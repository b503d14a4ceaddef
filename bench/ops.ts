// Our ops as the cases call them. conv2d, dense and matmul are looked up at run time while src/nn/functional does not
// export them yet (so the shared checkout keeps type-checking and building); a case that needs a missing one fails
// with a clear error and the others still run.
import type { Tensor } from '../src/engine/index.js';
import * as F from '../src/nn/functional/index.js';

export { bceWithLogits, maxPool2d } from '../src/nn/functional/index.js';

type Conv2d = (x: Tensor, w: Tensor, b: Tensor | null, opts?: { stride?: 1 | 2; padding?: 'same' | 'valid'; relu?: boolean }) => Tensor;
type Dense = (x: Tensor, w: Tensor, b: Tensor | null, opts?: { relu?: boolean }) => Tensor;
type Matmul = (a: Tensor, b: Tensor) => Tensor;

function late<T extends (...args: never[]) => Tensor>(name: string): T {
  return ((...args: unknown[]) => {
    const f = (F as unknown as Record<string, unknown>)[name];
    if (typeof f !== 'function') throw new Error(`${name} is not in src/nn/functional yet`);
    return (f as (...a: unknown[]) => Tensor)(...args);
  }) as unknown as T;
}

export const conv2d = late<Conv2d>('conv2d');
export const dense = late<Dense>('dense');
export const matmul = late<Matmul>('matmul');
