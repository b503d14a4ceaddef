/**
 * Float64 reference of Grad-CAM's last steps, the oracle for src/kernels/gradcam.ts: per-channel means of the
 * gradient, the ReLU of the weighted channel sum, and bilinear resizing with half-pixel centres.
 */

/** Grad-CAM map [N, P] from the feature map `a` and its gradient `g` (both [N, P, C], NHWC flattened). */
export function refGradCamMap(a: ArrayLike<number>, g: ArrayLike<number>, images: number, positions: number, channels: number): Float64Array {
  const cam = new Float64Array(images * positions);
  for (let n = 0; n < images; n++) {
    const alpha = new Float64Array(channels);
    for (let p = 0; p < positions; p++) for (let c = 0; c < channels; c++) alpha[c] += g[(n * positions + p) * channels + c]!;
    for (let c = 0; c < channels; c++) alpha[c] /= positions;
    for (let p = 0; p < positions; p++) {
      let s = 0;
      for (let c = 0; c < channels; c++) s += a[(n * positions + p) * channels + c]! * alpha[c]!;
      cam[n * positions + p] = Math.max(s, 0);
    }
  }
  return cam;
}

/** Bilinear resize of [N, H, W, C] to [N, outH, outW, C]; source (o + 0.5)·in/out − 0.5, clamped to the edges. */
export function refResizeBilinear(x: ArrayLike<number>, shape: readonly number[], outH: number, outW: number): Float64Array {
  const [n, h, w, c = 1] = shape as [number, number, number, number?];
  const y = new Float64Array(n * outH * outW * c);
  const axis = (o: number, inSize: number, outSize: number): [number, number, number] => {
    const s = Math.max((o + 0.5) * (inSize / outSize) - 0.5, 0);
    const i0 = Math.min(Math.floor(s), inSize - 1);
    return [i0, Math.min(i0 + 1, inSize - 1), s - i0];
  };
  let o = 0;
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < outH; oy++) {
      const [y0, y1, fy] = axis(oy, h, outH);
      for (let ox = 0; ox < outW; ox++) {
        const [x0, x1, fx] = axis(ox, w, outW);
        for (let ch = 0; ch < c; ch++, o++) {
          const at = (yy: number, xx: number): number => x[((b * h + yy) * w + xx) * c + ch]!;
          const top = at(y0, x0) + (at(y0, x1) - at(y0, x0)) * fx;
          const bottom = at(y1, x0) + (at(y1, x1) - at(y1, x0)) * fx;
          y[o] = top + (bottom - top) * fy;
        }
      }
    }
  return y;
}
