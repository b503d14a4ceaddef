/**
 * The tab's classes and their images (Teachable Machine's cards), without the DOM: each sample is decoded once and
 * kept as a 24-bit BMP at the size it was added at (compact, and the data module decodes it with no codec), in the
 * training or the validation split. The board mounts as the small file system the recipes read
 * (`train/<class>/<id>.bmp`, `validation/<class>/<id>.bmp`), so training streams batches from it as from a folder.
 */
import { encodeBmp } from '../src/data/bmp.js';
import type { DataFs, DirEntry } from '../src/data/types.js';

export type SampleSplit = 'train' | 'validation';

export interface Sample {
  readonly id: number;
  /** The image as a 24-bit BMP (RGB, `size` × `size`). */
  readonly bmp: Uint8Array;
  readonly size: number;
  readonly split: SampleSplit;
  /** Where it came from: a file name, `webcam`, or the demo set's file. */
  readonly origin: string;
}

export interface ClassCard {
  readonly id: number;
  name: string;
  readonly samples: Sample[];
}

/** One image in `HOLD_OUT_EVERY` added to a class from the camera or a file (the 2nd, 8th, …) goes to validation (Teachable Machine holds out 15%). */
export const HOLD_OUT_EVERY = 6;

const BAD_NAME = /[/\\]|^\.|^\s|\s$/;

/** Why `name` cannot be a class name among `others` (null: it can). */
export function classNameProblem(name: string, others: readonly string[]): string | null {
  if (name === '') return 'a class needs a name';
  if (name.length > 80) return 'class names are at most 80 characters';
  if (BAD_NAME.test(name)) return `'${name}': a class name cannot contain / or \\, start with a dot, or start or end with a space`;
  if (others.includes(name)) return `there is already a class named '${name}'`;
  return null;
}

export class ClassBoard {
  readonly classes: ClassCard[] = [];
  private nextId = 1;
  /** Changes since the board was made (the page redraws on it; the test waits on it). */
  version = 0;

  addClass(name?: string): ClassCard {
    const names = this.classes.map((c) => c.name);
    let n = this.classes.length + 1;
    let chosen = name?.trim() ?? '';
    if (!name) while (names.includes((chosen = `Class ${n}`))) n++;
    const problem = classNameProblem(chosen, names);
    if (problem) throw new Error(problem);
    const card: ClassCard = { id: this.nextId++, name: chosen, samples: [] };
    this.classes.push(card);
    this.version++;
    return card;
  }

  card(id: number): ClassCard {
    const c = this.classes.find((x) => x.id === id);
    if (!c) throw new Error(`no class with id ${id}`);
    return c;
  }

  rename(id: number, name: string): void {
    const c = this.card(id);
    const trimmed = name.trim();
    if (trimmed === c.name) return;
    const problem = classNameProblem(trimmed, this.classes.filter((x) => x !== c).map((x) => x.name));
    if (problem) throw new Error(problem);
    c.name = trimmed;
    this.version++;
  }

  removeClass(id: number): void {
    const i = this.classes.findIndex((x) => x.id === id);
    if (i < 0) throw new Error(`no class with id ${id}`);
    this.classes.splice(i, 1);
    this.version++;
  }

  clear(): void {
    this.classes.length = 0;
    this.version++;
  }

  /**
   * Adds an image (RGB bytes, `size` × `size`) to a class. Without a split, one image in `HOLD_OUT_EVERY` of the class
   * (the 2nd, 8th, …) goes to validation, so captures and uploads keep a held-out part without the user choosing one.
   */
  addSample(classId: number, rgb: Uint8Array, size: number, origin: string, split?: SampleSplit): Sample {
    if (rgb.length !== size * size * 3) throw new Error(`${origin}: ${rgb.length} bytes is not a ${size}×${size} RGB image`);
    const c = this.card(classId);
    const s: Sample = { id: this.nextId++, bmp: encodeBmp(rgb, size, size), size, split: split ?? (c.samples.length % HOLD_OUT_EVERY === 1 ? 'validation' : 'train'), origin };
    c.samples.push(s);
    this.version++;
    return s;
  }

  /** Puts an already encoded sample back (opening a project). */
  restoreSample(classId: number, bmp: Uint8Array, size: number, origin: string, split: SampleSplit): Sample {
    const s: Sample = { id: this.nextId++, bmp, size, split, origin };
    this.card(classId).samples.push(s);
    this.version++;
    return s;
  }

  removeSample(classId: number, sampleId: number): void {
    const c = this.card(classId);
    const i = c.samples.findIndex((s) => s.id === sampleId);
    if (i < 0) throw new Error(`class '${c.name}' has no image ${sampleId}`);
    c.samples.splice(i, 1);
    this.version++;
  }

  counts(c: ClassCard): Record<SampleSplit, number> {
    let train = 0;
    for (const s of c.samples) if (s.split === 'train') train++;
    return { train, validation: c.samples.length - train };
  }

  /** Bytes the samples hold (what the page's memory for images is). */
  get bytes(): number {
    let n = 0;
    for (const c of this.classes) for (const s of c.samples) n += s.bmp.byteLength;
    return n;
  }

  /** Why the board cannot be trained on yet, in the page's words (null: it can). */
  trainingProblem(): string | null {
    if (this.classes.length < 2) return 'add at least two classes';
    for (const c of this.classes) {
      const k = this.counts(c);
      if (k.train === 0) return `class '${c.name}' has no training images yet (record or upload some)`;
      if (k.validation === 0) return `class '${c.name}' has no validation image yet: add one more`;
    }
    return null;
  }

  /** The board as the recipes' file system: `<split>/<class name>/<sample id>.bmp`. */
  dataFs(): DataFs {
    const files = new Map<string, Uint8Array>();
    const dirs = new Map<string, Map<string, DirEntry['kind']>>();
    const add = (dir: string, name: string, kind: DirEntry['kind']): void => {
      let m = dirs.get(dir);
      if (!m) dirs.set(dir, (m = new Map()));
      m.set(name, kind);
    };
    for (const split of ['train', 'validation'] as const) {
      add('', split, 'dir');
      dirs.set(split, dirs.get(split) ?? new Map());
      for (const c of this.classes) {
        add(split, c.name, 'dir');
        dirs.set(`${split}/${c.name}`, dirs.get(`${split}/${c.name}`) ?? new Map());
        for (const s of c.samples) {
          if (s.split !== split) continue;
          // Zero-padded, so the data module's sorted listing keeps the order images were added in.
          const file = `${String(s.id).padStart(7, '0')}.bmp`;
          add(`${split}/${c.name}`, file, 'file');
          files.set(`${split}/${c.name}/${file}`, s.bmp);
        }
      }
    }
    const norm = (p: string): string => p.split('/').filter((x) => x !== '' && x !== '.').join('/');
    return {
      readDir: async (path) => {
        const m = dirs.get(norm(path));
        if (!m) throw new Error(`${path}: no such folder among the classes`);
        return [...m].map(([name, kind]) => ({ name, kind }));
      },
      readFile: async (path) => {
        const f = files.get(norm(path));
        if (!f) throw new Error(`${path}: no such image among the classes`);
        return f;
      },
      join: (...parts) => norm(parts.join('/')),
    };
  }
}
