// The VGG16 fine-tuning step the host-cost scripts time (blocks 1–4 frozen, block5 + head trained, RMSprop), and
// their `--name value` arguments.
import { Engine, type Tensor } from '../src/engine/index.js';
import { buildVgg16 } from '../src/models/vgg16.js';
import { bceWithLogits } from '../src/nn/functional/index.js';
import { RMSprop } from '../src/nn/optim/index.js';
import { buildTransferModel, forwardLogits } from '../src/train/model.js';

export const arg = (name: string, d: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};

/** The step at `input`×`input`, batch `batch`: its inputs, its body (for tidy or capture) and its mutable context. */
export async function finetuneStep(input: number, batch: number): Promise<{
  e: Engine;
  x: Tensor;
  y: Tensor;
  ctx: { training: boolean; seed: number; epoch: number; step: number };
  body: (x: Tensor, y: Tensor) => void;
}> {
  const e = await Engine.create();
  const model = buildTransferModel(e, buildVgg16(e, { inputSize: input }), input, 0, { dropout: true });
  model.trainOnly(['block5_conv1', 'block5_conv2', 'block5_conv3', 'dense_1', 'dense_2']);
  const opt = new RMSprop(model.trainableParams(), { lr: 1e-5 });
  const x = e.upload(new Float32Array(batch * input * input * 3).map((_, i) => (i % 251) / 251), [batch, input, input, 3]);
  const y = e.upload(new Float32Array(batch).map((_, i) => i % 2), [batch]);
  const ctx = { training: true, seed: 0, epoch: 0, step: 0 };
  const body = (xi: Tensor, yi: Tensor): void => {
    e.tape.backward(bceWithLogits(forwardLogits(model, xi, ctx), yi));
    opt.step();
    opt.zeroGrad();
  };
  return { e, x, y, ctx, body };
}
