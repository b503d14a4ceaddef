// Bundled into a page by test/gemm-browser.test.ts: every GEMM variant on the browser's own WebGPU adapter.
import { Engine } from '../../src/engine/index.js';
import { conv2dForward, conv2dGeometry, conv2dGradFilter, conv2dGradInput } from '../../src/kernels/conv2d.js';
import { forceGemmVariant, GEMM_VARIANTS } from '../../src/kernels/gemm-variant.js';
import { matmulForward } from '../../src/kernels/matmul.js';
import { setWinograd } from '../../src/kernels/winograd.js';

export interface PageInputs {
  mm: { M: number; N: number; K: number; a: number[]; b: number[]; bias: number[] };
  conv: { x: number[]; xShape: number[]; w: number[]; wShape: number[]; gy: number[]; stride: 1 | 2 };
}

/** Per variant: the matmul (with bias and ReLU), the convolution and both its gradients, as plain arrays. */
export async function runVariants(p: PageInputs): Promise<{ adapter: string; fallback: boolean; results: Record<string, number[][]> }> {
  const e = await Engine.create();
  setWinograd(e, false);
  const results: Record<string, number[][]> = {};
  try {
    for (const v of GEMM_VARIANTS) {
      forceGemmVariant(e, v);
      const a = e.upload(Float32Array.from(p.mm.a), [p.mm.M, p.mm.K]);
      const b = e.upload(Float32Array.from(p.mm.b), [p.mm.K, p.mm.N]);
      const bias = e.upload(Float32Array.from(p.mm.bias), [p.mm.N]);
      const c = matmulForward(e, a, b, { bias, relu: true });
      const x = e.upload(Float32Array.from(p.conv.x), p.conv.xShape);
      const w = e.upload(Float32Array.from(p.conv.w), p.conv.wShape);
      const g = conv2dGeometry(x.shape, w.shape, p.conv.stride, 'same');
      const y = conv2dForward(e, x, w, null, { stride: p.conv.stride, padding: 'same' });
      const gy = e.upload(Float32Array.from(p.conv.gy), y.shape);
      const gx = conv2dGradInput(e, gy, w, g);
      const gw = conv2dGradFilter(e, x, gy, g);
      results[v] = [];
      for (const t of [c, y, gx, gw]) results[v].push(Array.from(await t.readF32()));
      for (const t of [a, b, bias, c, x, w, y, gy, gx, gw]) t.dispose();
    }
    return { adapter: e.info.description, fallback: e.info.isFallbackAdapter, results };
  } finally {
    e.destroy();
  }
}
