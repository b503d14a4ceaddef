/**
 * The live preview: the camera's frames classified one after another by the current model, with a probability bar
 * per class, the frame rate achieved, and (optionally) the Grad-CAM heatmap of the predicted class over the frame.
 */
import { heatmapOverlay } from '../src/train/index.js';
import type { Camera } from './camera.js';
import { probabilityRow, rgbImageData } from './dom.js';
import { topClasses, type Classifier } from './session.js';

export interface LiveReading {
  /** Classes in the model's order with their probabilities. */
  probs: { className: string; probability: number }[];
  top: string;
  /** Frames classified per second over the last few frames. */
  fps: number;
  frames: number;
}

export interface PreviewHooks {
  camera(): Promise<Camera>;
  classifier(): Classifier | null;
  /** While true (training, exporting), the preview waits instead of using the GPU. */
  paused(): boolean;
  heatmap(): boolean;
  error(e: unknown): void;
}

export class LivePreview {
  private running = false;
  private frameTimes: number[] = [];
  /** The latest reading (the test reads it). */
  last: LiveReading | null = null;

  constructor(
    private readonly bars: HTMLElement,
    private readonly fpsText: HTMLElement,
    private readonly overlay: HTMLCanvasElement,
    private readonly hooks: PreviewHooks,
  ) {}

  get on(): boolean {
    return this.running;
  }

  async start(): Promise<void> {
    if (this.running) return;
    await this.hooks.camera();
    this.running = true;
    this.frameTimes = [];
    void this.loop();
  }

  stop(): void {
    this.running = false;
    this.fpsText.textContent = 'Live preview off.';
  }

  private async loop(): Promise<void> {
    let frames = 0;
    while (this.running) {
      const c = this.hooks.classifier();
      if (!c || this.hooks.paused()) {
        this.fpsText.textContent = c ? 'Live preview paused while the GPU is busy.' : 'Live preview: train or load a model to classify the camera.';
        await new Promise((r) => setTimeout(r, 250));
        continue;
      }
      try {
        const cam = await this.hooks.camera();
        const pixels = cam.grab(c.inputSize);
        const p = await c.classProbabilities(pixels, 1);
        let heat: Awaited<ReturnType<Classifier['explain']>> | null = null;
        const topIndex = topClasses(p, c.classNames, 1)[0]!.index;
        if (this.hooks.heatmap()) heat = await c.explain(pixels, topIndex);
        if (!this.running) break;
        const now = performance.now();
        this.frameTimes.push(now);
        while (this.frameTimes.length > 1 && now - this.frameTimes[0]! > 3000) this.frameTimes.shift();
        const span = (now - this.frameTimes[0]!) / 1000;
        const fps = this.frameTimes.length > 1 && span > 0 ? (this.frameTimes.length - 1) / span : 0;
        frames++;
        const probs = c.classNames.map((className, k) => ({ className, probability: p.probs[k]! }));
        this.last = { probs, top: c.classNames[topIndex]!, fps, frames };
        this.draw(this.last, { pixels, size: c.inputSize, heat });
      } catch (e) {
        this.running = false;
        this.fpsText.textContent = 'Live preview stopped (see the message above).';
        this.hooks.error(e);
      }
      // Lets the page paint and handle clicks between frames.
      await new Promise((r) => setTimeout(r, 0));
    }
  }

  private draw(r: LiveReading, frame: { pixels: Uint8Array; size: number; heat: Awaited<ReturnType<Classifier['explain']>> | null }): void {
    this.fpsText.textContent = `Live: ${r.top} · ${r.fps.toFixed(1)} frames/s`;
    const rows = r.probs.map((p) => {
      const row = probabilityRow('div', p.className, p.probability);
      row.className = `live-row${p.className === r.top ? ' top' : ''}`;
      return row;
    });
    this.bars.replaceChildren(...rows);
    this.overlay.hidden = false;
    const { pixels, size, heat } = frame;
    const rgb = heat ? heatmapOverlay({ width: size, height: size, data: pixels }, heat.heatmap, heat.height, heat.width, { alpha: 0.4 }) : pixels;
    this.overlay.width = size;
    this.overlay.height = size;
    this.overlay.getContext('2d')!.putImageData(rgbImageData(rgb, size, size), 0, 0);
  }
}
