// ONNX numbers a tensor's elements in NCHW order; this engine keeps maps NHWC. A Flatten or Reshape whose input or
// output is a spatial map ([N, C, H, W] with C > 1 and H·W > 1), and which changes the shape, exposes that order, so
// it is marked: an NHWC executor transposes a 4-D input NHWC→NCHW before it and a 4-D output NCHW→NHWC after it
// (channel shuffles are both: [N, C, H, W] → [N, g, C/g, H, W] → Transpose → [N, C, H, W]). After a global pool
// (H·W = 1) both orders agree and nothing is marked.
import type { StaticNode } from './ops.js';

const spatialMap = (s: number[] | undefined): boolean => !!s && s.length === 4 && s[1]! > 1 && s[2]! * s[3]! > 1;

export function markNchwOrder(nodes: StaticNode[], shapes: Map<string, number[]>): number {
  let marked = 0;
  for (const n of nodes) {
    if (n.opType !== 'Flatten' && n.opType !== 'Reshape') continue;
    const s = shapes.get(n.inputs[0]!);
    const out = shapes.get(n.outputs[0]!);
    if (!s || !out) continue;
    const unchanged = out.length === s.length && out.every((d, i) => d === s[i]);
    if (!unchanged && (spatialMap(s) || spatialMap(out))) {
      n.nchwOrder = true;
      marked++;
    }
  }
  return marked;
}
