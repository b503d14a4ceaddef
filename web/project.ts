/**
 * A whole tab project as one file: the classes and their images, the settings, the trained model (the run's
 * checkpoint with its config inside, as the checkpoint download) and, for a base picked as an .onnx file, that file.
 * A zip of `project.json`, `images/<class index>/<sample>.bmp`, `model.safetensors` and `base/<name>.onnx`. No DOM
 * here: the Node test reads and writes the same files.
 */
import { unzipSync, zipSync, type Zippable } from 'fflate';
import { decodeBmp } from '../src/data/bmp.js';
import type { ClassBoard, SampleSplit } from './classes.js';

export const PROJECT_FORMAT = 'webgpu-transfer-project';
export const PROJECT_VERSION = 1;
export const PROJECT_EXTENSION = '.wtproject.zip';

/** What the form holds, as the project records it. */
export interface ProjectSettings {
  /** Served weights by name (e.g. mobilenet_v2), or `onnx:<file name>` for the picked network. */
  base: string;
  /** The picked network's cut and pooling, when the base is an .onnx file. */
  onnx?: { cut?: string; pool: string };
  inputSize: number;
  recipe: string;
  optimizer: string;
  epochs: number;
  batch: number;
  lr: number;
  seed: number;
  steps?: number;
}

export interface ProjectClass {
  name: string;
  samples: { bmp: Uint8Array; size: number; split: SampleSplit; origin: string }[];
}

export interface Project {
  settings: ProjectSettings;
  classes: ProjectClass[];
  /** The trained model: the checkpoint download's bytes (config.json in its metadata). */
  model: { name: string; bytes: Uint8Array } | null;
  /** The .onnx base's file, when the base is one. */
  onnx: { name: string; bytes: Uint8Array } | null;
}

interface ProjectJson {
  format: string;
  version: number;
  created: string;
  settings: ProjectSettings;
  classes: { name: string; samples: { file: string; size: number; split: SampleSplit; origin: string }[] }[];
  model: { file: string; name: string } | null;
  onnx: { file: string; name: string } | null;
}

const safe = (name: string): string => name.replace(/[^A-Za-z0-9_.-]+/g, '_');

export function writeProject(board: ClassBoard, settings: ProjectSettings, model: Project['model'], onnx: Project['onnx']): Uint8Array {
  const entries: Zippable = {};
  const json: ProjectJson = {
    format: PROJECT_FORMAT,
    version: PROJECT_VERSION,
    created: new Date().toISOString(),
    settings,
    classes: board.classes.map((c, ci) => ({
      name: c.name,
      samples: c.samples.map((s) => {
        const file = `images/${ci}/${s.id}.bmp`;
        entries[file] = [s.bmp, { level: 1 }];
        return { file, size: s.size, split: s.split, origin: s.origin };
      }),
    })),
    model: model ? { file: 'model.safetensors', name: model.name } : null,
    onnx: onnx ? { file: `base/${safe(onnx.name)}`, name: onnx.name } : null,
  };
  if (model) entries['model.safetensors'] = [model.bytes, { level: 0 }];
  if (onnx) entries[json.onnx!.file] = [onnx.bytes, { level: 0 }];
  entries['project.json'] = [new TextEncoder().encode(JSON.stringify(json, null, 1)), { level: 6 }];
  return zipSync(entries);
}

/** Reads a project file; throws naming the file and what is wrong with it (nothing in the tab changes then). */
export function readProject(bytes: Uint8Array, fileName: string): Project {
  const hint = `choose a project saved from this page (*${PROJECT_EXTENSION})`;
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (e) {
    throw new Error(`${fileName}: not a zip file (${(e as Error).message}); ${hint}`);
  }
  const raw = files['project.json'];
  if (!raw) throw new Error(`${fileName}: no project.json inside; ${hint}`);
  let json: ProjectJson;
  try {
    json = JSON.parse(new TextDecoder().decode(raw)) as ProjectJson;
  } catch (e) {
    throw new Error(`${fileName}: project.json is not valid JSON (${(e as Error).message})`);
  }
  if (json.format !== PROJECT_FORMAT) throw new Error(`${fileName}: project.json is not a webgpu-transfer project (format '${String(json.format)}'); ${hint}`);
  if (json.version !== PROJECT_VERSION) throw new Error(`${fileName}: project version ${json.version}; this page reads version ${PROJECT_VERSION}`);
  if (!json.settings || typeof json.settings.base !== 'string' || !Array.isArray(json.classes)) throw new Error(`${fileName}: project.json lacks its settings or classes`);
  const need = (path: string, what: string): Uint8Array => {
    const b = files[path];
    if (!b) throw new Error(`${fileName}: ${what} ${path} is missing from the file`);
    return b;
  };
  const classes: ProjectClass[] = json.classes.map((c) => ({
    name: String(c.name),
    samples: c.samples.map((s) => {
      const bmp = need(s.file, 'image');
      let img;
      try {
        img = decodeBmp(bmp);
      } catch (e) {
        throw new Error(`${fileName}: image ${s.file}: ${(e as Error).message}`);
      }
      if (img.width !== s.size || img.height !== s.size) throw new Error(`${fileName}: image ${s.file} is ${img.width}×${img.height}, the project says ${s.size}×${s.size}`);
      if (s.split !== 'train' && s.split !== 'validation') throw new Error(`${fileName}: image ${s.file} has split '${String(s.split)}' (train or validation)`);
      return { bmp, size: s.size, split: s.split, origin: String(s.origin ?? '') };
    }),
  }));
  return {
    settings: json.settings,
    classes,
    model: json.model ? { name: json.model.name, bytes: need(json.model.file, 'the model') } : null,
    onnx: json.onnx ? { name: json.onnx.name, bytes: need(json.onnx.file, 'the .onnx base') } : null,
  };
}
