// Prints the WGSL of one forward conv2d kernel (3×3 'same', bias + ReLU), to feed dev/asm.ts:
// `node dev/run.mjs wgsl H Cin Cout TM > k.wgsl` (batch 1, H×H input, TM rows per workgroup, 8 lanes).
import { conv2dGeometry, convGemmSpec } from '../src/kernels/conv2d.js';
import { lanesGemmCode } from '../src/kernels/matmul.js';

const [H, C, Co, TM] = process.argv.slice(2).map(Number) as [number, number, number, number];
const g = conv2dGeometry([1, H, H, C], [3, 3, C, Co], 1, 'same');
process.stdout.write(lanesGemmCode({ L: 8, TM, TNv: 1, bcast: true }, convGemmSpec('conv2d_fwd', g, { bias: true, act: 'relu' })));
