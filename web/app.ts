import { MemoryPixelCache } from '../src/data/cache.js';
import { BrowserImageDecoder } from '../src/data/decoder-browser.js';
import { formatBadImages } from '../src/data/errors.js';
import type { Engine } from '../src/engine/index.js';
import { parameterCount } from '../src/formats/tensor.js';
import type { NamedArrays } from '../src/formats/types.js';
import { BACKBONE_NAMES } from '../src/models/registry.js';
import type { BackboneName } from '../src/models/types.js';
import type { TrainEvent } from '../src/train/events.js';
import type { History } from '../src/train/history.js';
import { TrainingCharts } from './charts.js';
import { el, formatBytes, numberInput } from './dom.js';
import { catchUncaught, showError, shownErrors } from './errors.js';
import { startEngine } from './gpu.js';
import { PredictPanel } from './predict.js';
import { trainInTab, type Classifier, type TabRecipe, type TabTrainingConfig } from './session.js';
import { demoImages, fetchDemoListing, folderImages, summarize, TRAIN_DIR, VALIDATION_DIR, type PickedImages } from './sources.js';
import { fetchWeights, listServerWeights } from './weights.js';

interface AppState {
  engine: Engine | null;
  weights: { name: string; tensors: NamedArrays } | null;
  images: PickedImages | null;
  classifier: Classifier | null;
  running: boolean;
  stopRequested: boolean;
}

const state: AppState = { engine: null, weights: null, images: null, classifier: null, running: false, stopRequested: false };
const decoder = new BrowserImageDecoder();
/** Decoded pixels of every image seen in this tab, so a second run decodes nothing. */
const pixelCache = new MemoryPixelCache();
let charts: TrainingCharts;
let predict: PredictPanel;

class StopRequested extends Error {
  constructor() {
    super('stopped by the user');
    this.name = 'StopRequested';
  }
}

/** The backbone a weights file is for: its name, or a name starting with it (e.g. `vgg16_notop`). */
function backboneOf(weightsName: string): BackboneName {
  const b = [...BACKBONE_NAMES].sort((x, y) => y.length - x.length).find((n) => weightsName === n || weightsName.startsWith(`${n}_`) || weightsName.startsWith(`${n}.`));
  if (!b) throw new Error(`no model matches the weights '${weightsName}'; known models: ${BACKBONE_NAMES.join(', ')}`);
  return b;
}

function updateButtons(): void {
  const ready = !!state.engine && !state.engine.lost;
  el<HTMLButtonElement>('load-model').disabled = !ready || state.running || !el<HTMLSelectElement>('weights-select').value;
  el<HTMLButtonElement>('train').disabled = !ready || state.running || !state.images || !el<HTMLSelectElement>('weights-select').value;
  el<HTMLButtonElement>('stop').disabled = !state.running;
}

async function fillWeightsList(): Promise<void> {
  const select = el<HTMLSelectElement>('weights-select');
  const list = await listServerWeights();
  select.replaceChildren();
  for (const w of list) {
    const o = document.createElement('option');
    o.value = w.name;
    o.textContent = `${w.name}${w.bytes ? ` (${formatBytes(w.bytes)})` : w.source === 'npy' ? ' (converted from .npy)' : ''}`;
    select.append(o);
  }
  if (list.length === 0) {
    const o = document.createElement('option');
    o.value = '';
    o.textContent = '(no weights on this server)';
    select.append(o);
  }
  const preferred = list.find((w) => w.name === 'squeezenet1_1');
  if (preferred) select.value = preferred.name;
  updateButtons();
}

async function loadWeights(): Promise<{ name: string; tensors: NamedArrays }> {
  const name = el<HTMLSelectElement>('weights-select').value;
  if (state.weights?.name === name) return state.weights;
  const status = el('model-status');
  backboneOf(name);
  status.textContent = `Downloading ${name}…`;
  try {
    const w = await fetchWeights(name, (loaded, total) => {
      status.textContent = `Downloading ${name}: ${formatBytes(loaded)}${total ? ` of ${formatBytes(total)}` : ''}`;
    });
    state.weights = { name, tensors: w.tensors };
    status.textContent = `${name}: ${w.tensors.size} tensors, ${parameterCount(w.tensors).toLocaleString('en')} parameters (${formatBytes(w.bytes)}), in this tab`;
    return state.weights;
  } catch (e) {
    status.textContent = `Could not load ${name}.`;
    throw e;
  }
}

let lastFolder: FileList | null = null;

async function refreshImages(): Promise<void> {
  const summary = el('data-summary');
  const source = (document.querySelector('input[name="source"]:checked') as HTMLInputElement).value;
  el('folder-label').hidden = source !== 'folder';
  try {
    const limits = { trainPerClass: numberInput('per-class', 1, 1000), valPerClass: numberInput('val-per-class', 1, 500) };
    if (source === 'demo') state.images = demoImages(await fetchDemoListing(), limits);
    else if (lastFolder && lastFolder.length > 0) state.images = folderImages(lastFolder, limits);
    else state.images = null;
    summary.textContent = state.images ? summarize(state.images) : 'Choose a folder.';
  } catch (e) {
    state.images = null;
    summary.textContent = 'No usable images.';
    showError(e, 'Images');
  }
  updateButtons();
}

function readConfig(backbone: BackboneName): TabTrainingConfig {
  const lrText = el<HTMLInputElement>('lr').value.trim();
  const lr = Number(lrText);
  if (!(lr > 0 && lr < 1)) throw new Error(`Learning rate: enter a number between 0 and 1, e.g. 2e-5 (got "${lrText}")`);
  return {
    recipe: el<HTMLSelectElement>('recipe').value as TabRecipe,
    backbone,
    inputSize: numberInput('image-size', 32, 512),
    epochs: numberInput('epochs', 1, 1000),
    batch: numberInput('batch', 1, 1024),
    lr,
    seed: numberInput('seed', -2147483648, 4294967295),
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
  const engine = state.engine;
  if (!engine || engine.lost) throw new Error('no usable WebGPU device in this tab (see the message above)');
  const images = state.images;
  if (!images) throw new Error('choose images first');
  state.running = true;
  state.stopRequested = false;
  updateButtons();
  const status = el('train-status');
  try {
    const weights = await loadWeights();
    const cfg = readConfig(backboneOf(weights.name));
    charts.reset();
    state.classifier?.dispose();
    state.classifier = null;
    predict.setClassifier(null);
    status.textContent = 'Reading and decoding the images…';
    const t0 = performance.now();
    const result = await trainInTab(
      engine,
      { tensors: weights.tensors, source: `${weights.name}.safetensors` },
      { fs: images.fs, decoder, cache: pixelCache, trainDir: TRAIN_DIR, validationDir: VALIDATION_DIR },
      cfg,
      {
        sink: onEvent,
        logger: { warn: (m) => showError(new Error(m), 'Warning') },
        onStep: () => {
          if (state.stopRequested) throw new StopRequested();
        },
      },
    );
    const bad = result.skipped;
    if (bad.length) showError(new Error(`left out ${bad.length} file${bad.length === 1 ? '' : 's'} that could not be decoded:\n${formatBadImages(bad)}`), 'Bad image');
    state.classifier = result.classifier;
    predict.setClassifier(result.classifier);
    const m = result.metrics;
    status.textContent =
      `Done in ${((performance.now() - t0) / 1000).toFixed(1)} s: val_acc ${Number(m.val_acc).toFixed(3)}, ` +
      `val_loss ${Number(m.val_loss).toFixed(4)} · ${Number(m.images_per_s).toFixed(1)} images/s. Drop an image below to classify it.`;
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

/** Settings the browser test passes to `window.__runTraining`; missing fields keep the form's values. */
interface TestRunConfig {
  /** 'demo' (default) or 'folder': the folder already chosen in the folder input. */
  source?: 'demo' | 'folder';
  weights?: string;
  recipe?: TabRecipe;
  inputSize?: number;
  epochs?: number;
  batch?: number;
  lr?: number;
  seed?: number;
  trainPerClass?: number;
  valPerClass?: number;
}

async function runFromTest(c: TestRunConfig): Promise<History> {
  await ready;
  const set = (id: string, v: unknown) => {
    if (v !== undefined) el<HTMLInputElement | HTMLSelectElement>(id).value = String(v);
  };
  set('weights-select', c.weights);
  set('recipe', c.recipe);
  set('image-size', c.inputSize);
  set('epochs', c.epochs);
  set('batch', c.batch);
  set('lr', c.lr);
  set('seed', c.seed);
  set('per-class', c.trainPerClass);
  set('val-per-class', c.valPerClass);
  (document.querySelector(`input[name="source"][value="${c.source ?? 'demo'}"]`) as HTMLInputElement).checked = true;
  await refreshImages();
  return train();
}

async function main(): Promise<void> {
  catchUncaught();
  charts = new TrainingCharts(el<HTMLCanvasElement>('loss-chart'), el<HTMLCanvasElement>('acc-chart'));
  predict = new PredictPanel(decoder);
  document.querySelectorAll<HTMLInputElement>('input[name="source"]').forEach((r) => r.addEventListener('change', () => void refreshImages()));
  for (const id of ['per-class', 'val-per-class']) el(id).addEventListener('change', () => void refreshImages());
  el<HTMLInputElement>('folder-input').addEventListener('change', (ev) => {
    lastFolder = (ev.target as HTMLInputElement).files;
    void refreshImages();
  });
  el('weights-select').addEventListener('change', updateButtons);
  el('load-model').addEventListener('click', () => {
    el<HTMLButtonElement>('load-model').disabled = true;
    loadWeights()
      .catch((e) => showError(e, 'Could not load the weights'))
      .finally(updateButtons);
  });
  el('train').addEventListener('click', () => void train().catch(() => undefined));
  el('stop').addEventListener('click', () => {
    state.stopRequested = true;
    el('train-status').textContent = 'Stopping after this step…';
  });
  state.engine = await startEngine();
  if (state.engine) void state.engine.device.lost.then(updateButtons);
  await Promise.all([fillWeightsList().catch((e) => showError(e, 'Weights list')), refreshImages()]);
}

const ready = main().catch((e) => showError(e, 'The page failed to start'));

declare global {
  interface Window {
    __ready: Promise<unknown>;
    __errors: () => readonly { title: string; message: string }[];
    __runTraining: (config: TestRunConfig) => Promise<History>;
    __predictions: () => PredictPanel['results'];
    __engine: () => Engine | null;
  }
}
window.__ready = ready;
window.__errors = shownErrors;
window.__runTraining = runFromTest;
window.__predictions = () => predict.results;
window.__engine = () => state.engine;
