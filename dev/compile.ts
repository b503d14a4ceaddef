// Compile cost (CPU seconds on lavapipe's queue thread) of the conv kernels for a few shapes and tiles.
// Run with MESA_SHADER_CACHE_DISABLE=true: node dev/run.mjs compile
import { Engine } from '../src/engine/index.js';
import { conv2dGeometry, convGemmSpec } from '../src/kernels/conv2d.js';
import { adapterLanes, lanesGemmCode, tileGrid } from '../src/kernels/matmul.js';
import { threadCpu } from './harness.js';

const e = await Engine.create();
const { L, bcast } = adapterLanes(e);
const shapes: [number, number, number, number, number][] = [
  [3, 5, 7, 12, 40],
  [1, 7, 5, 40, 3],
  [1, 9, 9, 512, 512],
];
for (const [n, h, w, cin, cout] of shapes) {
  const g = conv2dGeometry([n, h, w, cin], [3, 3, cin, cout], 1, 'same');
  for (const TM of [8, 16, 32]) {
    const tile = { L, TM, TNv: 1, bcast };
    const x = e.full([n, h, w, cin], 1);
    const wt = e.full([3, 3, cin, cout], 1);
    const gy = e.full([n, h, w, cout], 1);
    const y = e.empty([n, h, w, cout]);
    const gx = e.empty(x.shape);
    const gw = e.empty(wt.shape);
    const parts: string[] = [];
    for (const [name, code, bindings, wg] of [
      ['fwd', lanesGemmCode(tile, convGemmSpec('conv2d_fwd', g, { bias: false, act: 'relu' })), [x, wt, y], tileGrid(tile, n * h * w, cout)],
      ['gx', lanesGemmCode(tile, convGemmSpec('conv2d_grad_input', g)), [gy, wt, gx], tileGrid(tile, n * h * w, cin)],
      ['gw', lanesGemmCode(tile, convGemmSpec('conv2d_grad_filter', g)), [x, gy, gw], tileGrid(tile, 9 * Math.ceil(cin / TM) * TM, cout)],
    ] as const) {
      const c0 = threadCpu();
      const t0 = performance.now();
      e.run({ name, code, bindings: [...bindings], workgroups: wg });
      await e.sync();
      const c1 = threadCpu();
      parts.push(`${name} ${(c1.other - c0.other).toFixed(2)} cpu-s (${((performance.now() - t0) / 1000).toFixed(2)} s wall, ${code.length} chars)`);
    }
    console.log(`${n}×${h}×${w}×${cin}→${cout} TM=${TM}: ${parts.join(', ')}`);
    for (const t of [x, wt, gy, y, gx, gw]) t.dispose();
  }
}
process.exit(0);
