import type { Engine, Tensor } from '../engine/index.js';
import { entry1d, f32, flatIndex, grid } from './common.js';
import { sumAxis1 } from './reduce.js';

/**
 * The three steps of Grad-CAM after the backward pass (no autograd here):
 * - channel weights: the mean of the gradient over the positions of the feature map, [N, P, C] → [N, C]
 *   (the global-average-pooling reduction, `sumAxis1` with scale 1/P);
 * - the map: cam[n, p] = ReLU(Σ_c A[n, p, c] · α[n, c]);
 * - bilinear resizing of an NHWC map (half-pixel centres, as OpenCV's `resize` and TF's `resize(bilinear)` with
 *   half_pixel_centers), to show the map at the input's size.
 */

const WG = 64;

/** α[n, c] = (1/P) Σ_p g[n, p, c] for a gradient of `positions` positions × `channels` per image. */
export function channelMeans(e: Engine, g: Tensor, images: number, positions: number, channels: number): Tensor {
  return sumAxis1(e, g, [images, positions, channels], 1 / positions);
}

function weightedReluCode(n: number, p: number, c: number): string {
  const total = n * p;
  return `@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${total}u) { return; }
  let img = i / ${p}u;
  let base = i * ${c}u;
  let wb = img * ${c}u;
  var acc = 0.0;
  for (var k = 0u; k < ${c}u; k = k + 1u) {
    acc = acc + a[base + k] * w[wb + k];
  }
  out[i] = max(acc, 0.0);
}`;
}

/** cam[n, p] = max(0, Σ_c a[n, p, c] · w[n, c]) for `a` of N·P·C values and `w` of N·C; returns [N, P]. */
export function weightedChannelSumRelu(e: Engine, a: Tensor, w: Tensor, images: number, positions: number, channels: number, out?: Tensor): Tensor {
  if (a.size !== images * positions * channels) throw new Error(`weightedChannelSumRelu: a holds ${a.size} values, expected ${images}·${positions}·${channels}`);
  if (w.size !== images * channels) throw new Error(`weightedChannelSumRelu: w holds ${w.size} values, expected ${images}·${channels}`);
  const result = out ?? e.empty([images, positions], 'f32', 'cam');
  if (result.size !== images * positions) throw new Error(`weightedChannelSumRelu: output holds ${result.size} values, needs ${images * positions}`);
  e.run({
    name: 'cam_weighted_relu',
    key: `cam_weighted_relu:${images},${positions},${channels}`,
    code: () => weightedReluCode(images, positions, channels),
    bindings: [a, w, result],
    workgroups: grid(images * positions, WG),
  });
  return result;
}

function bilinearCode(n: number, h: number, w: number, c: number, oh: number, ow: number): string {
  const total = n * oh * ow * c;
  return `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${total}u) { return; }
  let ch = i % ${c}u;
  let ox = (i / ${c}u) % ${ow}u;
  let oy = (i / ${c * ow}u) % ${oh}u;
  let img = i / ${c * ow * oh}u;
  let sy = max((f32(oy) + 0.5) * ${f32(h / oh)} - 0.5, 0.0);
  let sx = max((f32(ox) + 0.5) * ${f32(w / ow)} - 0.5, 0.0);
  let y0 = min(u32(floor(sy)), ${h - 1}u);
  let x0 = min(u32(floor(sx)), ${w - 1}u);
  let y1 = min(y0 + 1u, ${h - 1}u);
  let x1 = min(x0 + 1u, ${w - 1}u);
  let fy = sy - f32(y0);
  let fx = sx - f32(x0);
  let base = img * ${h * w * c}u + ch;
  let v00 = x[base + (y0 * ${w}u + x0) * ${c}u];
  let v01 = x[base + (y0 * ${w}u + x1) * ${c}u];
  let v10 = x[base + (y1 * ${w}u + x0) * ${c}u];
  let v11 = x[base + (y1 * ${w}u + x1) * ${c}u];
  let top = v00 + (v01 - v00) * fx;
  let bottom = v10 + (v11 - v10) * fx;
  out[i] = top + (bottom - top) * fy;
}`;
}

/**
 * Bilinear resize of `x` [N, H, W, C] (or [N, H, W], one channel) to [N, outH, outW, C] with half-pixel centres:
 * source coordinate (o + 0.5)·in/out − 0.5, clamped to the edge.
 */
export function resizeBilinear(e: Engine, x: Tensor, outH: number, outW: number, out?: Tensor): Tensor {
  const [n, h, w, c = 1] = x.shape as [number, number, number, number?];
  if (x.shape.length !== 3 && x.shape.length !== 4) throw new Error(`resizeBilinear: expected [N, H, W] or [N, H, W, C], got [${x.shape.join(', ')}]`);
  if (!(outH >= 1 && outW >= 1 && Number.isInteger(outH) && Number.isInteger(outW))) throw new Error(`resizeBilinear: output size ${outH}×${outW} is not positive`);
  const shape = x.shape.length === 3 ? [n, outH, outW] : [n, outH, outW, c];
  const result = out ?? e.empty(shape, 'f32', 'resize_bilinear');
  if (result.size !== n * outH * outW * c) throw new Error(`resizeBilinear: output holds ${result.size} values, needs ${n * outH * outW * c}`);
  e.run({
    name: 'resize_bilinear',
    key: `resize_bilinear:${n},${h},${w},${c},${outH},${outW}`,
    code: () => bilinearCode(n, h, w, c, outH, outW),
    bindings: [x, result],
    workgroups: grid(n * outH * outW * c, WG),
  });
  return result;
}
