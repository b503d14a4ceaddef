// MobileNetV2's depthwise 3×3 forward (bias, ReLU6) on lavapipe with 1, 2, 4, 8 output columns per invocation:
// each width checked against width 1 and timed. Run: node dev/run.mjs depthwise [batch]
import { Engine } from '../src/engine/index.js';
import { depthwiseForward, setDepthwiseStrip } from '../src/kernels/depthwise.js';
import { fmt, randn, relErr, time } from './harness.js';

const batch = Number(process.argv[2] ?? 4);
const shapes: [number, number, 1 | 2][] = [
  [112, 96, 2],
  [56, 144, 1],
  [28, 192, 1],
  [14, 384, 1],
  [7, 960, 1],
];
const e = await Engine.create();
console.log(e.info.description);
for (const [hw, c, s] of shapes) {
  const x = e.upload(randn(batch * hw * hw * c, 1).map((v) => 8 * v), [batch, hw, hw, c]);
  const w = e.upload(randn(9 * c, 2), [3, 3, c, 1]);
  const b = e.upload(randn(c, 3), [c]);
  let ref: Float32Array | null = null;
  const row: string[] = [];
  for (const T of [1, 2, 4, 8]) {
    setDepthwiseStrip(e, T);
    const y = depthwiseForward(e, x, w, b, s, 'relu6');
    const got = await y.readF32();
    ref ??= got;
    const err = relErr(got, ref);
    const t = await time(e, () => void depthwiseForward(e, x, w, b, s, 'relu6', y), 3, 0.5);
    row.push(`T${T} ${fmt(t.min * 1000, 1)} ms (cpu ${fmt(t.cpu * 1000, 1)})${err > 0 ? ` err ${err.toExponential(1)}` : ''}`);
    y.dispose();
  }
  console.log(`${batch}x${hw}x${hw}x${c} s${s}`, row.join('  '));
  x.dispose();
  w.dispose();
  b.dispose();
}
