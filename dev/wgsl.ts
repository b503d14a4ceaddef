// Prints the WGSL of one forward conv2d kernel (3×3 'same', bias + ReLU), to feed dev/asm.ts:
// `node dev/run.mjs wgsl H Cin Cout TM > k.wgsl` (batch 1, H×H input, TM rows per workgroup, 8 lanes).
import { conv2dForwardCode, conv2dGeometry } from '../src/kernels/conv2d.js';

const [H, C, Co, TM] = process.argv.slice(2).map(Number) as [number, number, number, number];
const g = conv2dGeometry([1, H, H, C], [3, 3, C, Co], 1, 'same');
process.stdout.write(conv2dForwardCode(g, { L: 8, TM, TNv: 1, bcast: true }, true, true));
