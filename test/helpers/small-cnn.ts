import type { Engine, Tensor } from '../../src/engine/index.js';
import { conv2d, dense, maxPool2d } from '../../src/nn/functional/index.js';
import { Rng } from '../../src/util/rng.js';
import { IMG } from './bars.js';

/** A trainable parameter with Glorot-uniform values (fan-in/out as Keras counts them for HWIO and [K, M]). */
export function glorot(e: Engine, rng: Rng, shape: number[], name: string): Tensor {
  const receptive = shape.length === 4 ? shape[0]! * shape[1]! : 1;
  const fanIn = shape[shape.length - 2]! * receptive;
  const fanOut = shape[shape.length - 1]! * receptive;
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const n = shape.reduce((a, d) => a * d, 1);
  const t = e.keep(e.upload(Float32Array.from({ length: n }, () => rng.uniform(-limit, limit)), shape));
  t.name = name;
  t.trainable = true;
  t.requiresGrad = true;
  return t;
}

export function zeros(e: Engine, shape: number[], name: string): Tensor {
  const t = e.keep(e.full(shape, 0));
  t.name = name;
  t.trainable = true;
  t.requiresGrad = true;
  return t;
}

/** Marks a parameter frozen the way the layers do: neither an optimizer nor backward touches it. */
export function freeze(t: Tensor): void {
  t.trainable = false;
  t.requiresGrad = false;
}

export interface ConvSpec {
  w: Tensor;
  b: Tensor;
}

/** convs (3×3 same + ReLU), a 2×2 max-pool after the convs listed in `poolAfter`, then a dense layer to one logit. */
export class SmallCnn {
  readonly convs: ConvSpec[];
  readonly head: ConvSpec;

  constructor(
    e: Engine,
    seed: number,
    channels: number[],
    private readonly poolAfter: Set<number>,
    /** Output units: 1 (a binary logit) or one per class. */
    outputs = 1,
  ) {
    const rng = new Rng(seed);
    let cin = 1;
    this.convs = channels.map((c, i) => {
      const spec = { w: glorot(e, rng, [3, 3, cin, c], `conv${i + 1}/kernel`), b: zeros(e, [c], `conv${i + 1}/bias`) };
      cin = c;
      return spec;
    });
    const side = IMG / 2 ** poolAfter.size;
    this.head = { w: glorot(e, rng, [side * side * cin, outputs], 'dense/kernel'), b: zeros(e, [outputs], 'dense/bias') };
  }

  get params(): Tensor[] {
    return [...this.convs.flatMap((c) => [c.w, c.b]), this.head.w, this.head.b];
  }

  /** Logits [N, outputs]. */
  forward(x: Tensor): Tensor {
    let h = x;
    this.convs.forEach((c, i) => {
      h = conv2d(h, c.w, c.b, { padding: 'same', relu: true });
      if (this.poolAfter.has(i)) h = maxPool2d(h, { size: 2, stride: 2 });
    });
    return dense(h.flatten(), this.head.w, this.head.b);
  }

  dispose(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.dispose();
    }
  }
}
