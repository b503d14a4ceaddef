// ONNX numbers a tensor's elements in NCHW order; this engine keeps maps NHWC. A Flatten or Reshape of a spatial
// map ([N, C, H, W] with C > 1 and H·W > 1) exposes that order, so it is marked: an NHWC executor transposes its
// input to NCHW first (after a global pool, H·W = 1, both orders agree and nothing is marked).
import type { StaticNode } from './ops.js';

export function markNchwOrder(nodes: StaticNode[], shapes: Map<string, number[]>): number {
  let marked = 0;
  for (const n of nodes) {
    if (n.opType !== 'Flatten' && n.opType !== 'Reshape') continue;
    const s = shapes.get(n.inputs[0]!);
    const out = shapes.get(n.outputs[0]!);
    if (!s || s.length !== 4 || !out) continue;
    const [, c, h, w] = s as [number, number, number, number];
    const unchanged = out.length === 4 && out.every((d, i) => d === s[i]);
    if (c > 1 && h * w > 1 && !unchanged) {
      n.nchwOrder = true;
      marked++;
    }
  }
  return marked;
}
