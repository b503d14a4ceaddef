/**
 * The class cards: add, rename and delete classes; per class a hold-to-record webcam button (frames at a steady
 * rate while held), file and folder upload, thumbnails, counts and removing an image. The board (classes.ts) holds
 * the data; this draws it and turns clicks into board changes.
 */
import { decodeBmp } from '../src/data/bmp.js';
import type { Camera } from './camera.js';
import { thumbnail } from './camera.js';
import type { ClassBoard, ClassCard, Sample } from './classes.js';

/** Frames per second recorded while a record button is held. */
export const RECORD_FPS = 10;
/** Thumbnails shown per card (the newest); the count says how many there are. */
export const MAX_THUMBS = 48;
const THUMB_SIDE = 48;

export interface CardsHooks {
  /** The size new images are stored at (the model's input size). */
  inputSize(): number;
  /** The camera, opened on first use. */
  camera(): Promise<Camera>;
  /** A picked file as RGB bytes at `size` (the tab's decoder). */
  decode(file: File, size: number): Promise<Uint8Array>;
  /** While true (training), the cards cannot change. */
  locked(): boolean;
  /** The board changed (counts, classes). */
  changed(): void;
  error(e: unknown, title: string): void;
}

const IMAGE_FILE = /\.(jpe?g|png|bmp|gif|webp)$/i;

export class CardsView {
  private readonly thumbs = new Map<number, HTMLCanvasElement>();
  private readonly elements = new Map<number, { root: HTMLElement; count: HTMLElement; grid: HTMLElement }>();
  /** The class being recorded into, if a record button is held. */
  recording: number | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly board: ClassBoard,
    private readonly root: HTMLElement,
    private readonly hooks: CardsHooks,
  ) {}

  /** Redraws every card (after the board changed from outside: demo set, folder, project). */
  render(): void {
    const keep = new Set(this.board.classes.flatMap((c) => c.samples.map((s) => s.id)));
    for (const id of [...this.thumbs.keys()]) if (!keep.has(id)) this.thumbs.delete(id);
    this.elements.clear();
    this.root.replaceChildren(...this.board.classes.map((c) => this.cardElement(c)));
    this.hooks.changed();
  }

  /** Redraws one card's count and thumbnails in place (its buttons stay: one may be held down). */
  refresh(card: ClassCard): void {
    const parts = this.elements.get(card.id);
    if (!parts) this.root.append(this.cardElement(card));
    else this.fill(card, parts.count, parts.grid);
    this.hooks.changed();
  }

  private fill(card: ClassCard, count: HTMLElement, grid: HTMLElement): void {
    const k = this.board.counts(card);
    count.textContent = `${card.samples.length} image${card.samples.length === 1 ? '' : 's'} (${k.validation} for validation)`;
    const shown = card.samples.slice(-MAX_THUMBS);
    const items: HTMLElement[] = shown.map((s) => this.thumbItem(card, s));
    if (card.samples.length > shown.length) {
      const more = document.createElement('span');
      more.className = 'more';
      more.textContent = `+${card.samples.length - shown.length} more`;
      items.unshift(more);
    }
    grid.replaceChildren(...items);
  }

  /** The thumbnail of a sample, made from `rgb` when given (just captured) or from its BMP. */
  private thumb(s: Sample, rgb?: Uint8Array): HTMLCanvasElement {
    let t = this.thumbs.get(s.id);
    if (!t) {
      t = thumbnail(rgb ?? decodeBmp(s.bmp).data, s.size, THUMB_SIDE);
      t.title = `${s.origin} (${s.split})`;
      this.thumbs.set(s.id, t);
    }
    return t;
  }

  private cardElement(card: ClassCard): HTMLElement {
    const root = document.createElement('div');
    root.className = 'class-card';
    root.dataset['classId'] = String(card.id);

    const head = document.createElement('div');
    head.className = 'class-head';
    const name = document.createElement('input');
    name.type = 'text';
    name.className = 'class-name';
    name.value = card.name;
    name.setAttribute('aria-label', 'class name');
    name.addEventListener('change', () => {
      try {
        this.guard();
        this.board.rename(card.id, name.value);
        this.hooks.changed();
      } catch (e) {
        name.value = card.name;
        this.hooks.error(e, 'Could not rename the class');
      }
    });
    const count = document.createElement('span');
    count.className = 'class-count';
    const del = document.createElement('button');
    del.type = 'button';
    del.className = 'class-delete';
    del.textContent = 'Delete class';
    del.addEventListener('click', () => {
      try {
        this.guard();
        this.board.removeClass(card.id);
        this.elements.get(card.id)?.root.remove();
        this.elements.delete(card.id);
        this.hooks.changed();
      } catch (e) {
        this.hooks.error(e, 'Could not delete the class');
      }
    });
    head.append(name, count, del);

    const actions = document.createElement('div');
    actions.className = 'class-actions';
    const rec = document.createElement('button');
    rec.type = 'button';
    rec.className = 'record';
    rec.textContent = this.recording === card.id ? 'Recording…' : 'Hold to record';
    rec.title = `Hold down to capture webcam frames into '${card.name}' (${RECORD_FPS} per second)`;
    const start = (ev: Event): void => {
      ev.preventDefault();
      void this.startRecording(card, rec);
    };
    rec.addEventListener('pointerdown', start);
    rec.addEventListener('keydown', (ev) => {
      if ((ev.key === ' ' || ev.key === 'Enter') && !ev.repeat) start(ev);
    });
    for (const t of ['pointerup', 'pointercancel', 'keyup', 'blur'] as const) rec.addEventListener(t, () => this.stopRecording());
    actions.append(rec, this.uploadButton(card, false), this.uploadButton(card, true));

    const grid = document.createElement('div');
    grid.className = 'thumbs';
    this.fill(card, count, grid);
    root.append(head, actions, grid);
    this.elements.set(card.id, { root, count, grid });
    return root;
  }

  private thumbItem(card: ClassCard, s: Sample): HTMLElement {
    const item = document.createElement('div');
    item.className = `thumb ${s.split}`;
    item.dataset['sampleId'] = String(s.id);
    const x = document.createElement('button');
    x.type = 'button';
    x.className = 'remove-sample';
    x.textContent = '×';
    x.title = 'Remove this image';
    x.addEventListener('click', () => {
      try {
        this.guard();
        this.board.removeSample(card.id, s.id);
        this.thumbs.delete(s.id);
        this.refresh(card);
      } catch (e) {
        this.hooks.error(e, 'Could not remove the image');
      }
    });
    item.append(this.thumb(s), x);
    return item;
  }

  private uploadButton(card: ClassCard, folder: boolean): HTMLElement {
    const label = document.createElement('label');
    label.className = 'button upload';
    label.textContent = folder ? 'Upload a folder' : 'Upload images';
    const input = document.createElement('input');
    input.type = 'file';
    input.hidden = true;
    input.multiple = true;
    if (folder) input.webkitdirectory = true;
    else input.accept = 'image/*';
    input.className = folder ? 'upload-folder' : 'upload-files';
    input.addEventListener('change', () => {
      const files = Array.from(input.files ?? []).filter((f) => IMAGE_FILE.test(f.name));
      input.value = '';
      void this.addFiles(card, files).catch((e) => this.hooks.error(e, 'Could not add the images'));
    });
    label.append(input);
    return label;
  }

  /** Adds picked image files to a class (each decoded once at the input size); undecodable ones are reported, the rest added. */
  async addFiles(card: ClassCard, files: File[]): Promise<void> {
    this.guard();
    if (files.length === 0) throw new Error('no image files (.jpg, .png, .bmp, .gif, .webp) among the picked files');
    const size = this.hooks.inputSize();
    const bad: string[] = [];
    for (const f of files) {
      try {
        const rgb = await this.hooks.decode(f, size);
        this.thumb(this.board.addSample(card.id, rgb, size, f.name), rgb);
      } catch (e) {
        bad.push((e as Error).message);
      }
    }
    this.refresh(card);
    if (bad.length) throw new Error(`left out ${bad.length} file${bad.length === 1 ? '' : 's'}:\n${bad.join('\n')}`);
  }

  /** Adds one webcam frame to a class now (the record button's loop, and the test's single shots). */
  async captureInto(card: ClassCard): Promise<void> {
    const cam = await this.hooks.camera();
    const size = this.hooks.inputSize();
    const rgb = cam.grab(size);
    this.thumb(this.board.addSample(card.id, rgb, size, 'webcam'), rgb);
  }

  private async startRecording(card: ClassCard, button: HTMLButtonElement): Promise<void> {
    if (this.recording !== null) return;
    try {
      this.guard();
      this.recording = card.id;
      button.textContent = 'Recording…';
      button.classList.add('on');
      // Released anywhere (the pointer may leave the button while held).
      window.addEventListener('pointerup', () => this.stopRecording(), { once: true });
      await this.hooks.camera();
      if (this.recording !== card.id) return; // released while the camera was opening
      await this.captureInto(card);
      this.refresh(card);
      this.timer = setInterval(() => {
        if (this.recording !== card.id || this.hooks.locked()) return this.stopRecording();
        void this.captureInto(card)
          .then(() => this.refresh(card))
          .catch((e) => {
            this.stopRecording();
            this.hooks.error(e, 'Recording failed');
          });
      }, 1000 / RECORD_FPS);
    } catch (e) {
      this.stopRecording();
      this.hooks.error(e, 'Could not record');
    }
  }

  stopRecording(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const id = this.recording;
    this.recording = null;
    const rec = id === null ? null : this.elements.get(id)?.root.querySelector<HTMLButtonElement>('button.record');
    if (rec) {
      rec.textContent = 'Hold to record';
      rec.classList.remove('on');
    }
  }

  private guard(): void {
    if (this.hooks.locked()) throw new Error('wait until the training run has finished');
  }
}
