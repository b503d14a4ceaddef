import type { ImageDecoder } from '../src/data/types.js';
import { el } from './dom.js';
import { showError } from './errors.js';
import type { Classifier } from './session.js';

/** The predict panel: dropped or chosen images are decoded in the tab and classified by the last trained model. */
export class PredictPanel {
  private classifier: Classifier | null = null;
  private readonly list = el('predictions');
  /** Results of the images classified so far (the browser test reads them). */
  readonly results: { name: string; probability: number | null; className: string | null; error: string | null }[] = [];

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

  private card(file: File): { root: HTMLElement; text: HTMLElement; bar: HTMLElement } {
    const root = document.createElement('div');
    root.className = 'prediction';
    const img = document.createElement('img');
    img.alt = file.name;
    img.src = URL.createObjectURL(file);
    img.addEventListener('error', () => img.remove());
    const text = document.createElement('div');
    text.textContent = `${file.name}: …`;
    const bar = document.createElement('div');
    bar.className = 'bar';
    bar.append(document.createElement('div'));
    root.append(img, text, bar);
    this.list.prepend(root);
    return { root, text, bar };
  }

  private async classify(file: File): Promise<void> {
    const { text, bar } = this.card(file);
    const fill = bar.firstElementChild as HTMLElement;
    try {
      const c = this.classifier;
      const bytes = new Uint8Array(await file.arrayBuffer());
      // Decoding first: a bad file is reported even before a model exists.
      const size = c?.inputSize ?? 32;
      const pixels = await this.decoder.decode(bytes, file.name, [size, size], 'nearest');
      if (!c) throw new Error('train a model first (step 3), or load one; then drop the image again');
      const p = (await c.probabilities(pixels, 1))[0]!;
      const cls = p > 0.5 ? c.classNames[1]! : c.classNames[0]!;
      const confidence = p > 0.5 ? p : 1 - p;
      text.textContent = `${file.name}: ${cls} (${(confidence * 100).toFixed(1)}%) · P(${c.classNames[1]}) = ${p.toFixed(3)}`;
      fill.style.width = `${(p * 100).toFixed(1)}%`;
      this.results.push({ name: file.name, probability: p, className: cls, error: null });
    } catch (e) {
      const d = showError(e, e instanceof Error && e.name === 'BadImageError' ? 'Bad image' : 'Prediction failed');
      text.textContent = d.message.startsWith(file.name) ? d.message : `${file.name}: ${d.message}`;
      bar.remove();
      this.results.push({ name: file.name, probability: null, className: null, error: d.message });
    }
  }
}
