// Showing a Grad-CAM heatmap over its image, on the host and platform-neutral (the CLI writes the result as a PNG,
// the browser tab draws it on a canvas): scale the map to [0, 1] by its maximum, resize it bilinearly to the image's
// own size, colour it with viridis (perceptually uniform, readable in greyscale and by colour-blind viewers), blend.

/** Viridis, as a degree-6 polynomial fit per channel (t in [0, 1] → RGB in [0, 1]). */
const VIRIDIS: readonly (readonly [number, number, number])[] = [
  [0.2777273272234177, 0.005407344544966578, 0.3340998053353061],
  [0.1050930431085774, 1.404613529898575, 1.384590162594685],
  [-0.3308618287255563, 0.214847559468213, 0.09509516302823659],
  [-4.634230498983486, -5.799100973351585, -19.33244095627987],
  [6.228269936347081, 14.17993336680509, 56.69055260068105],
  [4.776384997670288, -13.74514537774601, -65.35303263337234],
  [-5.435455855934631, 4.645852612178535, 26.3124352495832],
];

/** The viridis colour of `t` (clamped to [0, 1]) as 8-bit RGB. */
export function viridis(t: number): [number, number, number] {
  const x = Math.min(Math.max(t, 0), 1);
  const out: [number, number, number] = [0, 0, 0];
  for (let ch = 0; ch < 3; ch++) {
    let v = 0;
    for (let k = VIRIDIS.length - 1; k >= 0; k--) v = v * x + VIRIDIS[k]![ch]!;
    out[ch] = Math.round(Math.min(Math.max(v, 0), 1) * 255);
  }
  return out;
}

/** The map divided by its maximum (all zeros stays zeros): what the overlay shows. */
export function normaliseHeatmap(map: ArrayLike<number>): Float32Array {
  let max = 0;
  for (let i = 0; i < map.length; i++) if (map[i]! > max) max = map[i]!;
  const out = new Float32Array(map.length);
  if (max > 0) for (let i = 0; i < map.length; i++) out[i] = Math.max(map[i]!, 0) / max;
  return out;
}

/** Bilinear resize of a one-channel map (half-pixel centres, clamped at the edges, as the GPU kernel does). */
export function resizeMap(map: ArrayLike<number>, height: number, width: number, outH: number, outW: number): Float32Array {
  const out = new Float32Array(outH * outW);
  const axis = (o: number, n: number, m: number): [number, number, number] => {
    const s = Math.max((o + 0.5) * (n / m) - 0.5, 0);
    const i0 = Math.min(Math.floor(s), n - 1);
    return [i0, Math.min(i0 + 1, n - 1), s - i0];
  };
  const xs = Array.from({ length: outW }, (_, x) => axis(x, width, outW));
  for (let y = 0; y < outH; y++) {
    const [y0, y1, fy] = axis(y, height, outH);
    for (let x = 0; x < outW; x++) {
      const [x0, x1, fx] = xs[x]!;
      const top = map[y0 * width + x0]! + (map[y0 * width + x1]! - map[y0 * width + x0]!) * fx;
      const bottom = map[y1 * width + x0]! + (map[y1 * width + x1]! - map[y1 * width + x0]!) * fx;
      out[y * outW + x] = top + (bottom - top) * fy;
    }
  }
  return out;
}

export interface OverlayImage {
  width: number;
  height: number;
  /** RGB (3 channels) or RGBA (4: alpha kept). */
  data: Uint8Array | Uint8ClampedArray;
}

/**
 * The image with the heatmap (`map`, mapHeight × mapWidth, any scale) blended over it at the image's own size:
 * out = (1 − alpha)·image + alpha·viridis(map / max). Returns a new array with the image's channel count.
 */
export function heatmapOverlay(image: OverlayImage, map: ArrayLike<number>, mapHeight: number, mapWidth: number, opts: { alpha?: number } = {}): Uint8ClampedArray {
  const alpha = opts.alpha ?? 0.4;
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`overlay alpha must be in [0, 1], got ${alpha}`);
  if (map.length !== mapHeight * mapWidth) throw new Error(`heatmap holds ${map.length} values, not ${mapHeight}×${mapWidth}`);
  const channels = image.data.length / (image.width * image.height);
  if (channels !== 3 && channels !== 4) throw new Error(`overlay: the image must be RGB or RGBA, got ${image.data.length} bytes for ${image.width}×${image.height}`);
  const up = resizeMap(normaliseHeatmap(map), mapHeight, mapWidth, image.height, image.width);
  const lut = Array.from({ length: 256 }, (_, i) => viridis(i / 255));
  const out = new Uint8ClampedArray(image.data.length);
  for (let p = 0; p < up.length; p++) {
    const colour = lut[Math.round(Math.min(Math.max(up[p]!, 0), 1) * 255)]!;
    const o = p * channels;
    for (let ch = 0; ch < 3; ch++) out[o + ch] = Math.round((1 - alpha) * image.data[o + ch]! + alpha * colour[ch]!);
    if (channels === 4) out[o + 3] = image.data[o + 3]!;
  }
  return out;
}
