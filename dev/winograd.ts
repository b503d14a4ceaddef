// Winograd F(2×2, 3×3) and F(4×4, 3×3) against the direct implicit GEMM on the VGG16 layer shapes at 150×150: error of each
// against the float64 reference, and time (interleaved rounds, best kept). Run: node dev/run.mjs winograd [batch] [layer]
import { Engine, type Tensor } from '../src/engine/index.js';
import { conv2dForward, conv2dGeometry } from '../src/kernels/conv2d.js';
import { winogradConv2d } from '../src/kernels/winograd.js';
import { F2x3, F4x3 } from '../src/kernels/winograd-matrices.js';
import { refConv2d, refConvGeometry } from '../src/reference/conv2d.js';
import { randn, rate, relErr, time, type Timing } from './harness.js';

const layers = [
  { name: 'block1_conv2', h: 150, cin: 64, cout: 64 },
  { name: 'block2_conv1', h: 75, cin: 64, cout: 128 },
  { name: 'block2_conv2', h: 75, cin: 128, cout: 128 },
  { name: 'block3_conv1', h: 37, cin: 128, cout: 256 },
  { name: 'block3_conv2', h: 37, cin: 256, cout: 256 },
  { name: 'block4_conv1', h: 18, cin: 256, cout: 512 },
  { name: 'block4_conv2', h: 18, cin: 512, cout: 512 },
  { name: 'block5_conv2', h: 9, cin: 512, cout: 512 },
];

const batch = Number(process.argv[2] ?? 1);
const only = process.argv[3];
const rounds = Number(process.env.ROUNDS ?? 2);
const e = await Engine.create();
console.log(`${e.info.description}; batch ${batch}; best of ${rounds} interleaved rounds`);
for (const l of layers) {
  if (only && l.name !== only) continue;
  const xs = [batch, l.h, l.h, l.cin];
  const x = randn(batch * l.h * l.h * l.cin, 1).map(Math.abs);
  const w = randn(9 * l.cin * l.cout, 2).map((v) => v * Math.sqrt(2 / (9 * l.cin)));
  const b = randn(l.cout, 3).map((v) => v * 0.1);
  const tx = e.keep(e.upload(x, xs));
  const tw = e.keep(e.upload(w, [3, 3, l.cin, l.cout]));
  const tb = e.keep(e.upload(b, [l.cout]));
  const ref = refConv2d(x, w, b, refConvGeometry({ n: batch, h: l.h, w: l.h, cin: l.cin, kh: 3, kw: 3, cout: l.cout, stride: 1, padding: 'same' }), true);
  const flop = 2 * batch * l.h * l.h * 9 * l.cin * l.cout;
  const best = new Map<string, { t: Timing; err: number }>();
  for (let r = 0; r < rounds; r++) {
    const g = conv2dGeometry(xs, [3, 3, l.cin, l.cout], 1, 'same');
    const algorithms = {
      direct: (y: Tensor) => void conv2dForward(e, tx, tw, tb, { relu: true, out: y, algorithm: 'direct' }),
      'F(2×2)': (y: Tensor) => void winogradConv2d(e, tx, tw, tb, y, g, 'relu', undefined, undefined, F2x3),
      'F(4×4)': (y: Tensor) => void winogradConv2d(e, tx, tw, tb, y, g, 'relu', undefined, undefined, F4x3),
    };
    for (const [name, alg] of Object.entries(algorithms)) {
      const y = e.keep(e.empty([batch, l.h, l.h, l.cout]));
      const run = () => alg(y);
      run();
      const err = relErr(await y.readF32(), ref);
      const t = await time(e, run, 3, 1);
      const prev = best.get(name);
      best.set(name, { err, t: prev && prev.t.min < t.min ? prev.t : t });
      y.dispose();
    }
  }
  console.log(`${l.name} ${l.h}²×${l.cin}→${l.cout}`);
  for (const [name, { t, err }] of best) console.log(`  ${name.padEnd(9)} err ${err.toExponential(1)} ${rate(flop, t)}`);
  for (const t of [tx, tw, tb]) t.dispose();
}
e.destroy();
process.exit(0);
