// A y4m video (the text header and raw I420 frames) for Chromium's fake camera (--use-file-for-fake-video-capture).
import { writeFile } from 'node:fs/promises';

export interface RgbFrame {
  width: number;
  height: number;
  /** height × width × 3 bytes. */
  rgb: Uint8Array;
}

/** BT.601 full-range RGB → I420 (4:2:0, chroma averaged over 2×2 blocks). */
function i420(f: RgbFrame): Uint8Array {
  const { width: w, height: h, rgb } = f;
  const out = new Uint8Array(w * h * 1.5);
  const u0 = w * h;
  const v0 = u0 + (w / 2) * (h / 2);
  for (let i = 0; i < w * h; i++) {
    const r = rgb[3 * i]!, g = rgb[3 * i + 1]!, b = rgb[3 * i + 2]!;
    out[i] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
  }
  for (let y = 0; y < h / 2; y++) {
    for (let x = 0; x < w / 2; x++) {
      let r = 0, g = 0, b = 0;
      for (const [dy, dx] of [[0, 0], [0, 1], [1, 0], [1, 1]] as const) {
        const p = 3 * ((2 * y + dy) * w + 2 * x + dx);
        r += rgb[p]!;
        g += rgb[p + 1]!;
        b += rgb[p + 2]!;
      }
      r /= 4;
      g /= 4;
      b /= 4;
      const k = y * (w / 2) + x;
      out[u0 + k] = Math.max(0, Math.min(255, Math.round(128 - 0.168736 * r - 0.331264 * g + 0.5 * b)));
      out[v0 + k] = Math.max(0, Math.min(255, Math.round(128 + 0.5 * r - 0.418688 * g - 0.081312 * b)));
    }
  }
  return out;
}

/** Writes `frames` (all one even size) as a y4m file at `fps` frames per second. */
export async function writeY4m(path: string, frames: readonly RgbFrame[], fps: number): Promise<void> {
  const { width, height } = frames[0]!;
  if (width % 2 || height % 2) throw new Error('y4m: I420 needs an even width and height');
  const parts: Uint8Array[] = [new TextEncoder().encode(`YUV4MPEG2 W${width} H${height} F${fps}:1 Ip A1:1 C420jpeg\n`)];
  const frameHeader = new TextEncoder().encode('FRAME\n');
  for (const f of frames) {
    if (f.width !== width || f.height !== height) throw new Error('y4m: every frame must have the same size');
    parts.push(frameHeader, i420(f));
  }
  await writeFile(path, Buffer.concat(parts));
}
