import { rgbFromRgba } from '../src/data/decoder-browser.js';
import { resizeRgb } from '../src/data/resize.js';
import { rgbImageData } from './dom.js';

/**
 * The webcam: one `getUserMedia` stream shown in a <video>, and its current frame as RGB bytes, the centre square
 * scaled to the model's input size (what both recording and the live preview classify).
 */
export class Camera {
  private readonly canvas = new OffscreenCanvas(1, 1);
  private readonly ctx: OffscreenCanvasRenderingContext2D;

  private constructor(
    readonly video: HTMLVideoElement,
    private readonly stream: MediaStream,
  ) {
    const ctx = this.canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error('no 2D canvas context for the camera frames');
    this.ctx = ctx;
  }

  /** Asks for the camera (the browser prompts the first time) and starts showing it in `video`. */
  static async open(video: HTMLVideoElement): Promise<Camera> {
    if (!navigator.mediaDevices?.getUserMedia) throw new Error('this browser gives no camera access here (pages must be served from localhost or https)');
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
    } catch (e) {
      const err = e as DOMException;
      const why = err.name === 'NotAllowedError' ? 'permission was refused (allow the camera for this page in the browser)' : err.name === 'NotFoundError' ? 'no camera was found' : err.message || err.name;
      throw new Error(`could not open the camera: ${why}`);
    }
    video.srcObject = stream;
    video.muted = true;
    video.playsInline = true;
    await video.play();
    if (video.videoWidth === 0) await new Promise<void>((r) => video.addEventListener('loadedmetadata', () => r(), { once: true }));
    return new Camera(video, stream);
  }

  get live(): boolean {
    return this.stream.getVideoTracks().some((t) => t.readyState === 'live');
  }

  /** The current frame's centre square as `size` × `size` RGB bytes. */
  grab(size: number): Uint8Array {
    const { videoWidth: w, videoHeight: h } = this.video;
    if (!w || !h) throw new Error('the camera has no picture yet');
    if (this.canvas.width !== size) {
      this.canvas.width = size;
      this.canvas.height = size;
    }
    const side = Math.min(w, h);
    this.ctx.drawImage(this.video, (w - side) / 2, (h - side) / 2, side, side, 0, 0, size, size);
    return rgbFromRgba(this.ctx.getImageData(0, 0, size, size).data);
  }

  close(): void {
    for (const t of this.stream.getTracks()) t.stop();
    this.video.srcObject = null;
  }
}

/** RGB bytes (`size` × `size`) drawn into a small canvas of `side` × `side` (nearest), for thumbnails. */
export function thumbnail(src: Uint8Array, size: number, side: number): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = side;
  c.height = side;
  const rgb = resizeRgb({ width: size, height: size, data: src }, [side, side], 'nearest');
  c.getContext('2d')!.putImageData(rgbImageData(rgb, side, side), 0, 0);
  return c;
}
