// GPU memory of the VGG16 forward and the fine-tuning step (the bench's models, random weights): live bytes after
// building, the peak of an eager iteration, and the peak of a replayed one, with Winograd on and off.
// Run: node dev/run.mjs memory [batch] [input]
import { Engine, type Tensor } from '../src/engine/index.js';
import { buildVgg16 } from '../src/models/vgg16.js';
import { INFERENCE } from '../src/nn/index.js';
import { bceWithLogits } from '../src/nn/functional/index.js';
import { RMSprop } from '../src/nn/optim/index.js';
import { buildTransferModel, forwardLogits } from '../src/train/model.js';

const batch = Number(process.argv[2] ?? 2);
const input = Number(process.argv[3] ?? 150);
const mb = (b: number): string => `${(b / 1e6).toFixed(1)} MB`;

for (const winograd of [true, false]) {
  const e = await Engine.create({ winograd });
  const x = e.keep(e.upload(new Float32Array(batch * input * input * 3).fill(0.5), [batch, input, input, 3]));
  const y = e.keep(e.upload(Float32Array.from({ length: batch }, (_, i) => i % 2), [batch]));
  // Forward.
  {
    const base = buildVgg16(e, { inputSize: input });
    base.trainable = false;
    const built = e.memoryStats().liveBytes;
    const fwd = (xs: Tensor): Tensor => e.tidy(() => e.noGrad(() => base.forward(xs, INFERENCE)));
    await e.sync();
    e.resetPeak();
    fwd(x).dispose();
    await e.sync();
    const eager = e.memoryStats().peakBytes;
    e.resetPeak();
    fwd(x).dispose();
    await e.sync();
    const eager2 = e.memoryStats().peakBytes;
    const step = e.capture([x], (xs) => fwd(xs!));
    e.resetPeak();
    step.replay();
    await e.sync();
    const replay = e.memoryStats();
    console.log(`forward b${batch} winograd=${winograd}: weights ${mb(built - 8)}…, eager peak ${mb(eager)} (warm ${mb(eager2)}), replay peak ${mb(replay.peakBytes)} (step ${mb(replay.stepBytes)})`);
    step.dispose();
    base.dispose();
  }
  // Fine-tuning step.
  {
    const model = buildTransferModel(e, buildVgg16(e, { inputSize: input }), input, 0);
    model.trainOnly(['block5_conv1', 'block5_conv2', 'block5_conv3', 'dense_1', 'dense_2']);
    const opt = new RMSprop(model.trainableParams(), { lr: 1e-5 });
    const built = e.memoryStats().liveBytes;
    let k = 0;
    const body = (xs: Tensor, ys: Tensor): Tensor => {
      const l = bceWithLogits(forwardLogits(model, xs, { training: true, seed: 0, epoch: 0, step: k++ }), ys);
      e.tape.backward(l);
      opt.step();
      opt.zeroGrad();
      e.tape.clear();
      return l;
    };
    await e.sync();
    e.resetPeak();
    e.tidy(() => body(x, y)).dispose();
    await e.sync();
    const eager = e.memoryStats().peakBytes;
    e.resetPeak();
    e.tidy(() => body(x, y)).dispose();
    await e.sync();
    const eager2 = e.memoryStats().peakBytes;
    const step = e.capture([x, y], (xs, ys) => body(xs!, ys!));
    e.resetPeak();
    step.replay();
    await e.sync();
    const replay = e.memoryStats();
    console.log(`finetune b${batch} winograd=${winograd}: model+optimizer ${mb(built)}, eager peak ${mb(eager)} (warm ${mb(eager2)}), replay peak ${mb(replay.peakBytes)} (step ${mb(replay.stepBytes)})`);
    step.dispose();
    opt.dispose();
    model.dispose();
  }
  x.dispose();
  y.dispose();
  e.destroy();
}
process.exit(0);
