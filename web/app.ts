import { BrowserImageDecoder } from '../src/data/decoder-browser.js';
import { formatBadImages } from '../src/data/errors.js';
import type { Engine } from '../src/engine/index.js';
import { isOnnxModelRef, type BackboneName } from '../src/models/types.js';
import { type ExportFormat, type History, type TrainEvent } from '../src/train/index.js';
import { board, state, updateButtons } from './app-state.js';
import { backboneOf, fillWeightsList, loadWeights, offerOnnx, onBaseChange, onnxCounter, pickOnnx, readOnnxChoice, recheckOnnx, showOnnxChoice, usingOnnx } from './base-picker.js';
import { fillBoard } from './board-sources.js';
import { Camera } from './camera.js';
import { CardsView } from './cards.js';
import { TrainingCharts } from './charts.js';
import { el, formatBytes, numberInput } from './dom.js';
import { catchUncaught, showError, shownErrors } from './errors.js';
import { startEngine } from './gpu.js';
import { PredictPanel } from './predict.js';
import { LivePreview } from './preview.js';
import { PROJECT_EXTENSION, readProject, writeProject, type ProjectSettings } from './project.js';
import { installDecoderWithoutEval } from './protobuf-no-eval.js';
import { ResultsPanel } from './results.js';
import {
  OnnxBaseNeededError,
  TabSession,
  validateConfig,
  type Classifier,
  type TabPooling,
  type TabExport,
  type TabRecipe,
  type TabTrainingConfig,
} from './session.js';
import { DEFAULT_DEMO_SET, demoImages, fetchDemoListing, fetchDemoSets, folderImages, TRAIN_DIR, VALIDATION_DIR } from './sources.js';
import { bookRecipe, TAB_DEFAULTS, type TabOptimizer, type TabRecipeSettings } from './tab-defaults.js';

// The page's Content-Security-Policy forbids the code protobufjs generates to read .onnx files.
installDecoderWithoutEval();

/** Training epochs finished in this page so far (the browser test waits on it). */
let epochsDone = 0;
/** Projects opened so far, successfully or not (the browser test waits on it). */
let projectOpens = 0;
/** Model files read so far, successfully or not (the browser test waits on it). */
let modelLoads = 0;
/** ONNX / TF.js downloads asked for so far, made or refused (the browser test waits on it). */
let exports = 0;
const decoder = new BrowserImageDecoder();
let charts: TrainingCharts;
let predict: PredictPanel;
let results: ResultsPanel;
let cards: CardsView;
let live: LivePreview;

class StopRequested extends Error {
  constructor() {
    super('stopped by the user');
    this.name = 'StopRequested';
  }
}

/** The demo sets the server offers, in the chooser; the default set first selected. */
async function fillDemoSets(): Promise<void> {
  const select = el<HTMLSelectElement>('demo-set');
  const sets = await fetchDemoSets();
  select.replaceChildren();
  for (const s of sets) {
    const o = document.createElement('option');
    o.value = s.name;
    o.textContent = s.available ? `${s.name} (${s.classes} classes)` : `${s.name} (missing on this machine)`;
    o.disabled = !s.available;
    select.append(o);
  }
  const preferred = sets.find((s) => s.name === DEFAULT_DEMO_SET && s.available) ?? sets.find((s) => s.available);
  if (preferred) select.value = preferred.name;
}

/** The board in a line or two: classes, images, how many held out, the memory they take. */
function showBoardSummary(): void {
  let images = 0;
  let validation = 0;
  for (const c of board.classes) {
    const k = board.counts(c);
    images += c.samples.length;
    validation += k.validation;
  }
  const problem = board.trainingProblem();
  el('board-summary').textContent =
    `${board.classes.length} class${board.classes.length === 1 ? '' : 'es'}, ${images} image${images === 1 ? '' : 's'} (${validation} for validation), ${formatBytes(board.bytes)} in this tab` +
    (problem ? ` · to train: ${problem}` : '');
  updateButtons();
}

/** The current input size field, checked (new images are stored at it). */
function inputSize(): number {
  return numberInput('image-size', 32, 512);
}

/** Fills the cards from the chosen demo set (or a picked folder): each image decoded once at the input size. */
async function fillFrom(source: 'demo' | 'folder', folder?: FileList | null): Promise<void> {
  if (state.running) throw new Error('wait until the training run has finished');
  const summary = el('data-summary');
  state.running = true;
  updateButtons();
  try {
    const limits = { trainPerClass: numberInput('per-class', 1, 5000), valPerClass: numberInput('val-per-class', 1, 5000) };
    const picked =
      source === 'demo'
        ? demoImages(await fetchDemoListing(el<HTMLSelectElement>('demo-set').value || undefined), limits)
        : folderImages(folder && folder.length ? folder : [], limits);
    const size = inputSize();
    const bad = await fillBoard(board, picked, size, decoder, (done, total) => (summary.textContent = `Decoding ${picked.origin} at ${size}×${size}: ${done}/${total}`));
    cards.render();
    summary.textContent = `Filled from ${picked.origin}: ${picked.classes.join(', ')}.`;
    if (bad.length) showError(new Error(`left out ${bad.length} file${bad.length === 1 ? '' : 's'} that could not be decoded:\n${bad.join('\n')}`), 'Bad image');
  } catch (e) {
    summary.textContent = 'The classes are as they were.';
    throw e;
  } finally {
    state.running = false;
    showBoardSummary();
  }
}

/** The camera, opened on first use and shown above the cards. */
async function camera(): Promise<Camera> {
  if (state.camera?.live) return state.camera;
  const video = el<HTMLVideoElement>('camera');
  const status = el('camera-status');
  status.textContent = 'Opening the camera…';
  try {
    state.camera = await Camera.open(video);
  } catch (e) {
    status.textContent = 'No camera.';
    throw e;
  }
  video.hidden = false;
  status.textContent = `Camera: ${video.videoWidth}×${video.videoHeight}; the centre square is used, at the input size.`;
  return state.camera;
}

/** Puts a recipe's settings into the fields. */
function applySettings(s: TabRecipeSettings): void {
  el<HTMLInputElement>('epochs').value = String(s.epochs);
  el<HTMLInputElement>('batch').value = String(s.batch);
  el<HTMLInputElement>('lr').value = String(s.lr);
  el<HTMLSelectElement>('optimizer').value = s.optimizer;
  el<HTMLInputElement>('steps').value = s.steps === null ? '' : String(s.steps);
}

/** The form's settings as they are; `validateConfig` (web/session.ts) is the one check of them. */
function readConfig(backbone: BackboneName): TabTrainingConfig {
  const num = (id: string): number => {
    const text = el<HTMLInputElement>(id).value.trim();
    return text === '' ? NaN : Number(text);
  };
  const recipe = el<HTMLSelectElement>('recipe').value as TabRecipe;
  return {
    recipe,
    ...(recipe === 'finetune' && state.classifier ? { from: state.classifier.run } : {}),
    ...(el<HTMLInputElement>('steps').value.trim() ? { steps: num('steps') } : {}),
    backbone,
    inputSize: num('image-size'),
    epochs: num('epochs'),
    batch: num('batch'),
    lr: num('lr'),
    optimizer: el<HTMLSelectElement>('optimizer').value as TabOptimizer,
    seed: num('seed'),
  };
}

/** Progress, phase and images/s from the training events; one chart point per epoch. */
function onEvent(ev: TrainEvent): void {
  const status = el('train-status');
  const bar = el<HTMLProgressElement>('progress');
  switch (ev.type) {
    case 'phase':
      bar.max = Math.max(1, ev.total);
      bar.value = 0;
      status.textContent = `${ev.name}…`;
      break;
    case 'progress':
      bar.max = Math.max(1, ev.total);
      bar.value = ev.done;
      status.textContent = `${ev.name}: ${ev.done}/${ev.total} · ${ev.images_per_s.toFixed(1)} images/s`;
      break;
    case 'epoch':
      epochsDone++;
      charts.add({ epoch: ev.epoch, loss: ev.loss, acc: ev.acc, valLoss: ev.val_loss, valAcc: ev.val_acc });
      status.textContent =
        `Epoch ${ev.epoch}/${ev.epochs}: loss ${ev.loss.toFixed(4)}, acc ${ev.acc.toFixed(3)}, ` +
        `val_loss ${ev.val_loss.toFixed(4)}, val_acc ${ev.val_acc.toFixed(3)} · ${ev.images_per_s.toFixed(1)} images/s`;
      break;
    case 'info':
      status.textContent = ev.message;
      break;
    default:
      break;
  }
}

/** One training run from the form's settings; resolves with its history (also what the test hook returns). */
async function train(): Promise<History> {
  if (state.running) throw new Error('a training run is already going');
  if (state.exporting) throw new Error('wait until the model download has been made');
  const engine = state.engine;
  if (!engine || engine.lost) throw new Error('no usable WebGPU device in this tab (see the message above)');
  const problem = board.trainingProblem();
  if (problem) throw new Error(`the classes are not ready: ${problem}`);
  state.running = true;
  state.stopRequested = false;
  updateButtons();
  const status = el('train-status');
  try {
    // Checked before anything is downloaded; the session checks with the same function.
    const onnx = usingOnnx();
    if (onnx && !state.onnx) throw new Error('pick an .onnx file first (step 1)');
    const cfg = readConfig(onnx ? state.onnx!.ref : backboneOf(el<HTMLSelectElement>('weights-select').value));
    validateConfig(cfg);
    if (!onnx) await loadWeights();
    const session = state.session!;
    charts.reset(board.classes.length);
    results.clear();
    state.classifier?.dispose();
    state.classifier = null;
    predict.setClassifier(null);
    status.textContent = 'Reading and decoding the images…';
    const t0 = performance.now();
    const result = await session.train(
      { fs: board.dataFs(), trainDir: TRAIN_DIR, validationDir: VALIDATION_DIR },
      cfg,
      {
        sink: onEvent,
        onStep: () => {
          if (state.stopRequested) throw new StopRequested();
        },
      },
    );
    const bad = result.skipped;
    if (bad.length) showError(new Error(`left out ${bad.length} file${bad.length === 1 ? '' : 's'} that could not be decoded:\n${formatBadImages(bad)}`), 'Bad image');
    state.classifier = result.classifier;
    predict.setClassifier(result.classifier);
    if (result.report) results.show(result.report, result.run);
    const m = result.metrics;
    status.textContent =
      `Done in ${((performance.now() - t0) / 1000).toFixed(1)} s: val_acc ${Number(m.val_acc).toFixed(3)}, ` +
      `val_loss ${Number(m.val_loss).toFixed(4)} · ${Number(m.images_per_s).toFixed(1)} images/s. Drop an image below to classify it.`;
    el('model-file-status').textContent = `Model: run ${result.run} (${describeRun(result.classifier)}), trained in this tab.`;
    return result.history;
  } catch (e) {
    if (e instanceof StopRequested) status.textContent = 'Stopped.';
    else {
      status.textContent = 'Training failed (see the message above).';
      showError(e, 'Training failed');
    }
    throw e;
  } finally {
    state.running = false;
    updateButtons();
  }
}

function describeRun(c: Classifier): string {
  const k = c.config;
  return `${k.recipe}, ${k.model} at ${k.input_size}×${k.input_size}, classes ${k.classes.join(' / ')}`;
}

/** Hands `bytes` to the browser as a download named `name`. */
function saveFile(name: string, bytes: Uint8Array, type: string): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Saves the current model as one .safetensors file (checkpoint + config.json in its metadata). */
async function downloadModel(): Promise<void> {
  const c = state.classifier;
  if (!c || !state.session) throw new Error('train or load a model first');
  const { name, bytes } = await state.session.exportRun(c.run);
  saveFile(name, bytes, 'application/octet-stream');
  el('model-file-status').textContent = `Saved ${name} (${formatBytes(bytes.byteLength)}): load it here again later, or use it with the CLI.`;
}

const FORMAT_WORDS: Record<ExportFormat, string> = { onnx: 'ONNX', tfjs: 'TF.js' };

/**
 * Saves the current model (base + head, preprocessing inside) as ONNX or as a TF.js layers model: one zip of what
 * `webgpu-transfer export` writes. A refused export (e.g. TF.js for your own .onnx base) downloads nothing.
 */
async function downloadExport(format: ExportFormat): Promise<void> {
  const c = state.classifier;
  const status = el('model-file-status');
  try {
    if (!c || !state.session) throw new Error('train or load a model first');
    if (state.running || state.exporting) throw new Error('wait until the current run or download has finished');
    state.exporting = true;
    updateButtons();
    status.textContent = `Exporting run ${c.run} to ${FORMAT_WORDS[format]}…`;
    let out: TabExport;
    try {
      out = await state.session.exportZip(c.run, format);
    } catch (e) {
      status.textContent = `Could not export run ${c.run} to ${FORMAT_WORDS[format]}; nothing was downloaded.`;
      throw e;
    }
    saveFile(out.name, out.bytes, 'application/zip');
    status.textContent =
      `Saved ${out.name} (${formatBytes(out.bytes.byteLength)}): ${out.files.map((f) => f.path).join(', ')}. ` +
      `It takes RGB pixels 0–255 at ${c.inputSize}×${c.inputSize} (the preprocessing is inside) and gives the probabilities; README.txt shows how to call it.`;
  } finally {
    state.exporting = false;
    exports++;
    updateButtons();
  }
}

/**
 * Loads a model file (downloaded from this page, or a CLI run's checkpoint.safetensors + config.json) for the predict
 * panel. The base's weights it was trained with are fetched from the server when another base is loaded; a file
 * that is not a model, or weights that differ from the run's, leave the current model in place.
 */
async function loadModel(files: File[]): Promise<void> {
  const status = el('model-file-status');
  const session = state.session;
  if (!session) throw new Error('no usable WebGPU device in this tab (see the message above)');
  if (state.running) throw new Error('wait until the training run has finished');
  state.running = true;
  updateButtons();
  try {
    status.textContent = `Reading ${files.map((f) => f.name).join(', ')}…`;
    const read = await Promise.all(files.map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })));
    const model = TabSession.readModelFiles(read);
    const need = model.config.model;
    // A model made on an .onnx base needs that file picked in step 1 (the session checks it by SHA-256).
    if (!isOnnxModelRef(need) && (!state.weights || backboneOf(state.weights.name) !== need)) {
      const select = el<HTMLSelectElement>('weights-select');
      const option = Array.from(select.options).find((o) => {
        try {
          return o.value !== '' && backboneOf(o.value) === need;
        } catch {
          return false;
        }
      });
      if (!option) throw new Error(`${files.map((f) => f.name).join(' + ')}: this model was trained on ${need}, and this server has no ${need} weights`);
      select.value = option.value;
      onBaseChange();
      await loadWeights();
    }
    const classifier = await session.addModel(model);
    state.classifier?.dispose();
    state.classifier = classifier;
    predict.setClassifier(classifier);
    status.textContent = `Model: run ${classifier.run} (${describeRun(classifier)}), loaded from ${model.source}. Drop an image below to classify it.`;
  } catch (e) {
    const still = state.classifier ? `; still using run ${state.classifier.run}` : '';
    if (e instanceof OnnxBaseNeededError) {
      status.textContent =
        e.reason === 'missing'
          ? `Could not load that model${still}: it was trained on your own network ${e.network}. Pick that .onnx file in step 1, then load the model again.`
          : `Could not load that model${still}: the .onnx file picked in step 1 is not ${e.network}, the network it was trained on. Pick that file, then load the model again.`;
    } else status.textContent = `Could not load that model${still}.`;
    throw e;
  } finally {
    state.running = false;
    modelLoads++;
    updateButtons();
  }
}

/** Settings the browser test passes to `window.__runTraining`; missing fields keep the form's values. */
interface TestRunConfig {
  /** 'demo' (default): fill the classes from the demo set; 'folder': from the folder chosen in the folder input; 'cards': train on the classes as they are. */
  source?: 'demo' | 'folder' | 'cards';
  /** The demo set (cats_and_dogs_small, flowers12) when the source is 'demo'. */
  demoSet?: string;
  /** Served weights by name, or 'onnx:picked': the network picked in the .onnx file input. */
  weights?: string;
  recipe?: TabRecipe;
  inputSize?: number;
  /** Training batches per epoch (recipes 2 and 3); omitted: the form's. */
  steps?: number;
  epochs?: number;
  batch?: number;
  lr?: number;
  optimizer?: TabOptimizer;
  seed?: number;
  trainPerClass?: number;
  valPerClass?: number;
}

async function runFromTest(c: TestRunConfig): Promise<History> {
  await ready;
  const set = (id: string, v: unknown) => {
    if (v !== undefined) el<HTMLInputElement | HTMLSelectElement>(id).value = String(v);
  };
  if (c.weights !== undefined) {
    set('weights-select', c.weights);
    onBaseChange();
  }
  set('recipe', c.recipe);
  set('image-size', c.inputSize);
  set('epochs', c.epochs);
  set('batch', c.batch);
  set('lr', c.lr);
  set('optimizer', c.optimizer);
  set('seed', c.seed);
  if (c.steps !== undefined) set('steps', c.steps);
  set('per-class', c.trainPerClass);
  set('val-per-class', c.valPerClass);
  set('demo-set', c.demoSet);
  const source = c.source ?? 'demo';
  if (source !== 'cards') await fillFrom(source, el<HTMLInputElement>('folder-input').files);
  return train();
}

/** The form's settings as a project records them. */
function readSettings(): ProjectSettings {
  const onnx = usingOnnx() && state.onnx ? state.onnx : null;
  const steps = el<HTMLInputElement>('steps').value.trim();
  return {
    base: onnx ? `onnx:${onnx.file.name}` : el<HTMLSelectElement>('weights-select').value,
    ...(onnx ? { onnx: { ...readOnnxChoice(), pool: onnx.pool } } : {}),
    inputSize: Number(el<HTMLInputElement>('image-size').value),
    recipe: el<HTMLSelectElement>('recipe').value,
    optimizer: el<HTMLSelectElement>('optimizer').value,
    epochs: Number(el<HTMLInputElement>('epochs').value),
    batch: Number(el<HTMLInputElement>('batch').value),
    lr: Number(el<HTMLInputElement>('lr').value),
    seed: Number(el<HTMLInputElement>('seed').value),
    ...(steps ? { steps: Number(steps) } : {}),
  };
}

/** Saves classes, images, settings and the trained model (and a picked .onnx base) as one file. */
async function saveProject(): Promise<void> {
  const session = state.session;
  if (state.running || state.exporting) throw new Error('wait until the current run or download has finished');
  const model = state.classifier && session ? await session.exportRun(state.classifier.run) : null;
  const onnx = usingOnnx() && state.onnx ? { name: state.onnx.file.name, bytes: state.onnx.file.bytes } : null;
  const bytes = writeProject(board, readSettings(), model, onnx);
  const name = `project${PROJECT_EXTENSION}`;
  saveFile(name, bytes, 'application/zip');
  el('data-summary').textContent = `Saved ${name} (${formatBytes(bytes.byteLength)}): ${board.classes.length} classes, their images, the settings${model ? ' and the trained model' : ''}. Open it here later to go on.`;
}

/**
 * Opens a saved project: the base (served weights, or the .onnx file inside), then the trained model, then the
 * classes, images and settings. A file that is not a project changes nothing; a model that cannot be rebuilt leaves
 * the classes and settings restored and says why.
 */
async function openProject(f: File): Promise<void> {
  const session = state.session;
  const status = el('data-summary');
  if (!session) throw new Error('no usable WebGPU device in this tab (see the message above)');
  if (state.running) throw new Error(`${f.name}: wait until the training run has finished`);
  state.running = true;
  updateButtons();
  try {
    status.textContent = `Reading ${f.name}…`;
    const project = readProject(new Uint8Array(await f.arrayBuffer()), f.name);
    const st = project.settings;
    if (st.base.startsWith('onnx:')) {
      if (!project.onnx) throw new Error(`${f.name}: the project's base is ${st.base.slice(5)}, but the file holds no .onnx network`);
      const file = await TabSession.readOnnxFile(project.onnx.name, project.onnx.bytes);
      const base = await session.checkOnnxBase(file, { ...(st.onnx?.cut ? { cut: st.onnx.cut } : {}), pool: (st.onnx?.pool ?? 'avg') as TabPooling }, st.inputSize);
      session.useOnnx(base);
      state.onnx = base;
      showOnnxChoice(base);
      offerOnnx(base);
    } else {
      const select = el<HTMLSelectElement>('weights-select');
      if (!Array.from(select.options).some((o) => o.value === st.base)) throw new Error(`${f.name}: the project's base ${st.base} is not served by this machine`);
      select.value = st.base;
      await loadWeights();
    }
    onBaseChange();
    board.clear();
    for (const c of project.classes) {
      const card = board.addClass(c.name);
      for (const smp of c.samples) board.restoreSample(card.id, smp.bmp, smp.size, smp.origin, smp.split);
    }
    cards.render();
    el<HTMLInputElement>('image-size').value = String(st.inputSize);
    el<HTMLSelectElement>('recipe').value = st.recipe;
    applySettings({ epochs: st.epochs, batch: st.batch, lr: st.lr, optimizer: st.optimizer as TabOptimizer, steps: st.steps ?? null });
    el<HTMLInputElement>('seed').value = String(st.seed);
    state.classifier?.dispose();
    state.classifier = null;
    predict.setClassifier(null);
    if (project.model) {
      const classifier = await session.addModel(TabSession.readModelFiles([project.model]));
      state.classifier = classifier;
      predict.setClassifier(classifier);
      el('model-file-status').textContent = `Model: run ${classifier.run} (${describeRun(classifier)}), from ${f.name}.`;
    }
    status.textContent = `Opened ${f.name}: ${board.classes.length} classes${project.model ? ' and the trained model' : ' (no trained model in it)'}.`;
  } catch (e) {
    status.textContent = `Could not open ${f.name}.`;
    throw e;
  } finally {
    state.running = false;
    projectOpens++;
    showBoardSummary();
  }
}

async function main(): Promise<void> {
  catchUncaught();
  charts = new TrainingCharts(el<HTMLCanvasElement>('loss-chart'), el<HTMLCanvasElement>('acc-chart'));
  predict = new PredictPanel(decoder);
  results = new ResultsPanel();
  results.clear();
  cards = new CardsView(board, el('classes'), {
    inputSize,
    camera,
    decode: async (f, size) => decoder.decode(new Uint8Array(await f.arrayBuffer()), f.name, [size, size], 'nearest'),
    locked: () => state.running,
    changed: showBoardSummary,
    error: (e, title) => showError(e, title),
  });
  cards.render();
  live = new LivePreview(el('live-bars'), el('live-fps'), el<HTMLCanvasElement>('live-frame'), {
    camera,
    classifier: () => state.classifier,
    paused: () => state.running || state.exporting,
    heatmap: () => el<HTMLInputElement>('live-heatmap').checked,
    error: (e) => showError(e, 'Live preview'),
  });
  el('live-toggle').addEventListener('click', () => {
    const button = el<HTMLButtonElement>('live-toggle');
    if (live.on) {
      live.stop();
      button.textContent = 'Start the live preview';
    } else {
      button.textContent = 'Stop the live preview';
      live.start().catch((e) => {
        button.textContent = 'Start the live preview';
        showError(e, 'Live preview');
      });
    }
  });
  el('add-class').addEventListener('click', () => {
    try {
      cards.refresh(board.addClass());
    } catch (e) {
      showError(e, 'Could not add a class');
    }
  });
  el('load-demo').addEventListener('click', () => void fillFrom('demo').catch((e) => showError(e, 'Could not use the demo set')));
  el<HTMLInputElement>('folder-input').addEventListener('change', (ev) => {
    const files = (ev.target as HTMLInputElement).files;
    if (files?.length) void fillFrom('folder', files).catch((e) => showError(e, 'Could not use that folder'));
  });
  el('few-shot-settings').addEventListener('click', () => applySettings(TAB_DEFAULTS[el<HTMLSelectElement>('recipe').value as TabRecipe]));
  el('book-settings').addEventListener('click', () => applySettings(bookRecipe(el<HTMLSelectElement>('recipe').value as TabRecipe)));
  el('save-project').addEventListener('click', () => void saveProject().catch((e) => showError(e, 'Could not save the project')));
  el<HTMLInputElement>('project-input').addEventListener('change', (ev) => {
    const input = ev.target as HTMLInputElement;
    const f = input.files?.[0];
    input.value = '';
    if (f) void openProject(f).catch((e) => showError(e, 'Could not open the project'));
  });
  el('weights-select').addEventListener('change', onBaseChange);
  el<HTMLInputElement>('onnx-input').addEventListener('change', (ev) => {
    const input = ev.target as HTMLInputElement;
    const f = input.files?.[0];
    input.value = '';
    if (f) void pickOnnx(f).catch((e) => showError(e, 'Could not use that network'));
  });
  for (const id of ['onnx-cut', 'onnx-pool']) el(id).addEventListener('change', () => void recheckOnnx().catch((e) => showError(e, 'Could not use that network')));
  el('load-model').addEventListener('click', () => {
    el<HTMLButtonElement>('load-model').disabled = true;
    loadWeights()
      .catch((e) => showError(e, 'Could not load the weights'))
      .finally(updateButtons);
  });
  el('train').addEventListener('click', () => void train().catch(() => undefined));
  // Each recipe starts from its few-shot settings (the book's are one click away).
  el('recipe').addEventListener('change', () => applySettings(TAB_DEFAULTS[el<HTMLSelectElement>('recipe').value as TabRecipe]));
  el('download-model').addEventListener('click', () => void downloadModel().catch((e) => showError(e, 'Could not save the model')));
  for (const format of ['onnx', 'tfjs'] as const) {
    el(`download-${format}`).addEventListener('click', () => void downloadExport(format).catch((e) => showError(e, `Could not export to ${FORMAT_WORDS[format]}`)));
  }
  el<HTMLInputElement>('model-input').addEventListener('change', (ev) => {
    const input = ev.target as HTMLInputElement;
    const files = Array.from(input.files ?? []);
    input.value = '';
    if (files.length) void loadModel(files).catch((e) => showError(e, 'Could not load the model'));
  });
  el('stop').addEventListener('click', () => {
    state.stopRequested = true;
    el('train-status').textContent = 'Stopping after this step…';
  });
  state.engine = await startEngine();
  if (state.engine) {
    state.session = new TabSession(state.engine, {
      decoder,
      // The cards hold every image decoded once at the input size: nothing to cache.
      cache: null,
      logger: { warn: (m) => showError(new Error(m), 'Warning') },
      software: { node: 'none (browser tab)', platform: navigator.userAgent },
    });
  }
  if (state.engine) void state.engine.device.lost.then(updateButtons);
  await Promise.all([fillWeightsList().catch((e) => showError(e, 'Weights list')), fillDemoSets().catch((e) => showError(e, 'Demo sets'))]);
  showBoardSummary();
}

const ready = main().catch((e) => showError(e, 'The page failed to start'));

declare global {
  interface Window {
    __ready: Promise<unknown>;
    __errors: () => readonly { title: string; message: string }[];
    __runTraining: (config: TestRunConfig) => Promise<History>;
    __predictions: () => PredictPanel['results'];
    __engine: () => Engine | null;
    __modelLoads: () => number;
    __onnxChecks: () => number;
    __exports: () => number;
    __probe: (url: string) => Promise<{ pixels: number[]; probs: number[]; classes: number; inputSize: number }>;
    __board: () => { version: number; bytes: number; classes: { id: number; name: string; train: number; validation: number }[] };
    __live: () => LivePreview['last'];
    __projectOpens: () => number;
    __epochs: () => number;
    __cameraFrame: (size: number) => Promise<number[]>;
  }
}
window.__ready = ready;
window.__errors = shownErrors;
window.__runTraining = runFromTest;
window.__predictions = () => predict.results;
window.__engine = () => state.engine;
window.__modelLoads = () => modelLoads;
window.__onnxChecks = () => onnxCounter.checks;
window.__exports = () => exports;
/** The image at `url` decoded by the tab's decoder at the model's input size, and the current model's probabilities. */
window.__probe = async (url) => {
  const c = state.classifier;
  if (!c) throw new Error('no model in the tab');
  const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
  const pixels = await decoder.decode(bytes, url, [c.inputSize, c.inputSize], 'nearest');
  const p = await c.classProbabilities(pixels, 1);
  return { pixels: Array.from(pixels), probs: Array.from(p.probs), classes: p.classes, inputSize: c.inputSize };
};
window.__board = () => ({ version: board.version, bytes: board.bytes, classes: board.classes.map((c) => ({ id: c.id, name: c.name, ...board.counts(c) })) });
window.__live = () => live.last;
window.__projectOpens = () => projectOpens;
window.__epochs = () => epochsDone;
/** The camera's current frame as the cards and the preview see it (the test tells which part of its video plays). */
window.__cameraFrame = async (size) => Array.from((await camera()).grab(size));
