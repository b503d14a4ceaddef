import type { ImageDecoder } from '../src/data/types.js';
import { heatmapOverlay } from '../src/train/index.js';
import { el, probabilityRow, rgbImageData } from './dom.js';
import { showError } from './errors.js';
import { topClasses, type Classifier } from './session.js';

/** Classes listed per image for a model of more than two classes. */
export const TOP_K = 3;

/** One of the most probable classes of an image, as the panel shows it. */
export interface PanelClass {
  index: number;
  className: string;
  probability: number;
}

/** What the browser test reads about an image's Grad-CAM heatmap. */
export interface PanelHeatmap {
  layer: string;
  height: number;
  width: number;
  classIndex: number;
  max: number;
  /** Every value finite and non-negative. */
  finite: boolean;
}

/** The predict panel: dropped or chosen images are decoded in the tab and classified by the last trained model. */
export class PredictPanel {
  private classifier: Classifier | null = null;
  private readonly list = el('predictions');
  /** Results of the images classified so far (the browser test reads them). */
  readonly results: {
    name: string;
    /** Two classes: P(class 1) (the sigmoid output); more: the predicted class's probability. */
    probability: number | null;
    className: string | null;
    /** The most probable classes, most probable first: both for two classes, the top 3 (softmax) for more. */
    top: PanelClass[];
    error: string | null;
    heatmap: PanelHeatmap | null;
  }[] = [];

  constructor(private readonly decoder: ImageDecoder) {
    const zone = el('drop-zone');
    zone.addEventListener('dragover', (ev) => {
      ev.preventDefault();
      zone.classList.add('over');
    });
    zone.addEventListener('dragleave', () => zone.classList.remove('over'));
    zone.addEventListener('drop', (ev) => {
      ev.preventDefault();
      zone.classList.remove('over');
      void this.classifyFiles(Array.from(ev.dataTransfer?.files ?? []));
    });
    el<HTMLInputElement>('predict-input').addEventListener('change', (ev) => {
      const input = ev.target as HTMLInputElement;
      void this.classifyFiles(Array.from(input.files ?? [])).finally(() => (input.value = ''));
    });
    // The Grad-CAM overlays are shown beside each image unless switched off.
    const toggle = el<HTMLInputElement>('heatmap-toggle');
    const apply = (): void => void this.list.classList.toggle('hide-heatmaps', !toggle.checked);
    toggle.addEventListener('change', apply);
    apply();
    // Dropping a file elsewhere on the page must not navigate away from it (and lose the trained model).
    window.addEventListener('dragover', (ev) => ev.preventDefault());
    window.addEventListener('drop', (ev) => ev.preventDefault());
  }

  setClassifier(c: Classifier | null): void {
    this.classifier = c;
  }

  async classifyFiles(files: File[]): Promise<void> {
    for (const f of files) await this.classify(f);
  }

  private card(file: File): { root: HTMLElement; text: HTMLElement; bar: HTMLElement; views: HTMLElement } {
    const root = document.createElement('div');
    root.className = 'prediction';
    const img = document.createElement('img');
    img.alt = file.name;
    img.src = URL.createObjectURL(file);
    img.addEventListener('error', () => img.remove());
    const views = document.createElement('div');
    views.className = 'views';
    views.append(img);
    const text = document.createElement('div');
    text.textContent = `${file.name}: …`;
    const bar = document.createElement('div');
    bar.className = 'bar';
    bar.append(document.createElement('div'));
    root.append(views, text, bar);
    this.list.prepend(root);
    return { root, text, bar, views };
  }

  private async classify(file: File): Promise<void> {
    const { text, bar, views } = this.card(file);
    const fill = bar.firstElementChild as HTMLElement;
    try {
      const c = this.classifier;
      const bytes = new Uint8Array(await file.arrayBuffer());
      // Decoding first: a bad file is reported even before a model exists.
      const size = c?.inputSize ?? 32;
      const pixels = await this.decoder.decode(bytes, file.name, [size, size], 'nearest');
      if (!c) throw new Error('train a model first (step 3), or load one; then drop the image again');
      const probs = await c.classProbabilities(pixels, 1);
      let p: number;
      let cls: string;
      let classIndex: number;
      let top: PanelClass[];
      if (probs.classes === 2) {
        // Binary: P(class 1), as the sigmoid head gives it.
        p = Math.fround(probs.probs[1]!);
        classIndex = p > 0.5 ? 1 : 0;
        cls = c.classNames[classIndex]!;
        const confidence = p > 0.5 ? p : 1 - p;
        text.textContent = `${file.name}: ${cls} (${(confidence * 100).toFixed(1)}%) · P(${c.classNames[1]}) = ${p.toFixed(3)}`;
        fill.style.width = `${(p * 100).toFixed(1)}%`;
        top = topClasses(probs, c.classNames, 2);
      } else {
        // Softmax over N classes: the three most probable, each with its probability.
        top = topClasses(probs, c.classNames, TOP_K);
        classIndex = top[0]!.index;
        cls = top[0]!.className;
        p = top[0]!.probability;
        text.textContent = `${file.name}: ${cls} (${(p * 100).toFixed(1)}%)`;
        bar.remove();
        const list = document.createElement('ol');
        list.className = 'top-classes';
        for (const t of top) list.append(probabilityRow('li', t.className, t.probability));
        text.after(list);
      }
      // The heatmap is extra: if it fails, the prediction stays and the error is shown on its own.
      const heatmap = await this.showHeatmap(c, pixels, bytes, file.name, views, classIndex).catch((err: unknown) => {
        showError(err, 'Heatmap failed');
        return null;
      });
      this.results.push({ name: file.name, probability: p, className: cls, top, error: null, heatmap });
    } catch (e) {
      const d = showError(e, e instanceof Error && e.name === 'BadImageError' ? 'Bad image' : 'Prediction failed');
      text.textContent = d.message.startsWith(file.name) ? d.message : `${file.name}: ${d.message}`;
      bar.remove();
      this.results.push({ name: file.name, probability: null, className: null, top: [], error: d.message, heatmap: null });
    }
  }

  /** Grad-CAM of the predicted class, blended over the image at its own size, on a canvas beside it. */
  private async showHeatmap(c: Classifier, pixels: Uint8Array, bytes: Uint8Array, name: string, views: HTMLElement, classIndex: number): Promise<PanelHeatmap> {
    const h = await c.explain(pixels, classIndex);
    const image = await this.decoder.decodeRaw(bytes, name);
    const rgb = heatmapOverlay(image, h.heatmap, h.height, h.width, { alpha: 0.4 });
    const canvas = document.createElement('canvas');
    canvas.className = 'heatmap';
    canvas.width = image.width;
    canvas.height = image.height;
    canvas.title = `Grad-CAM at ${h.layer}: where the model finds ${c.classNames[h.classIndex] ?? `class ${h.classIndex}`}`;
    canvas.getContext('2d')!.putImageData(rgbImageData(rgb, image.width, image.height), 0, 0);
    views.append(canvas);
    let max = 0;
    for (const v of h.heatmap) max = Math.max(max, v);
    return { layer: h.layer, height: h.height, width: h.width, classIndex: h.classIndex, max, finite: h.heatmap.every((v) => Number.isFinite(v) && v >= 0) };
  }
}
