import { describe, it } from 'vitest';
import type { Tensor } from '../src/engine/index.js';
import { conv2d } from '../src/nn/functional/index.js';
import { expectClose, randomArray } from './helpers/small-ops.js';
import { testEngine } from './helpers/engine.js';

// An independent oracle: TensorFlow.js's CPU backend (its own conv2d and gradient kernels) against this engine's
// conv2d and backward on the real adapter, on a VGG-like layer and on Keras' asymmetric stride-2 'same' padding.
const TOL = 1e-4;

interface Case {
  x: [number, number, number, number];
  cout: number;
  stride: 1 | 2;
  bias: boolean;
  relu: boolean;
}

const cases: Case[] = [
  { x: [1, 12, 12, 16], cout: 32, stride: 1, bias: true, relu: true },
  { x: [2, 10, 9, 8], cout: 12, stride: 2, bias: false, relu: false },
];

describe('conv2d against TensorFlow.js (cpu backend)', () => {
  for (const c of cases) {
    it(`${c.x.join('×')} → ${c.cout}, 3×3 same, stride ${c.stride}${c.relu ? ', bias + relu' : ''}: forward and gradients`, async () => {
      const tf = await import('@tensorflow/tfjs');
      await tf.setBackend('cpu');
      await tf.ready();
      const [n, h, w, cin] = c.x;
      const xv = randomArray(n * h * w * cin, 1, -1, 1);
      const wv = randomArray(9 * cin * c.cout, 2, -0.3, 0.3);
      const bv = randomArray(c.cout, 3, -0.2, 0.2);
      const oh = Math.ceil(h / c.stride);
      const ow = Math.ceil(w / c.stride);
      const gyv = randomArray(n * oh * ow * c.cout, 4);

      // TensorFlow.js: y = relu(conv(x, w) + b); gradients of Σ y·gy.
      const tx = tf.tensor4d(xv, c.x);
      const tw = tf.tensor4d(wv, [3, 3, cin, c.cout]);
      const tb = tf.tensor1d(bv);
      const tgy = tf.tensor4d(gyv, [n, oh, ow, c.cout]);
      const f = (x: typeof tx, k: typeof tw, b: typeof tb) => {
        let y = tf.conv2d(x, k, c.stride, 'same');
        if (c.bias) y = tf.add(y, b);
        return c.relu ? tf.relu(y) : y;
      };
      const yRef = await f(tx, tw, tb).data();
      // tf.grads refuses inputs the function does not use, so the bias is passed only when it is added.
      const grads = tf.grads((...a) => tf.sum(tf.mul(f(a[0] as typeof tx, a[1] as typeof tw, (a[2] ?? tb) as typeof tb), tgy)))(c.bias ? [tx, tw, tb] : [tx, tw]);
      const [gxRef, gwRef, gbRef] = await Promise.all(grads.map((g) => g.data()));

      // This engine, through the autograd tape.
      const e = await testEngine();
      const param = (v: Float32Array, shape: number[]): Tensor => {
        const t = e.upload(v, shape);
        t.requiresGrad = true;
        t.trainable = true;
        return t;
      };
      const x = param(xv, c.x);
      const k = param(wv, [3, 3, cin, c.cout]);
      const b = c.bias ? param(bv, [c.cout]) : null;
      let y: Float32Array | null = null;
      await e.tidyAsync(async () => {
        const out = conv2d(x, k, b, { stride: c.stride, padding: 'same', relu: c.relu });
        y = await out.readF32();
        e.tape.backward(out, e.upload(gyv, out.shape));
      });
      expectClose(y!, yRef, TOL, 'forward');
      expectClose(await x.grad!.readF32(), gxRef!, TOL, 'grad input');
      expectClose(await k.grad!.readF32(), gwRef!, TOL, 'grad filter');
      if (b) expectClose(await b.grad!.readF32(), gbRef!, TOL, 'grad bias');
      for (const t of [x, k, b]) {
        t?.grad?.dispose();
        t?.dispose();
      }
      tf.disposeVariables();
      for (const t of [tx, tw, tb, tgy, ...grads]) t.dispose();
    });
  }
});
