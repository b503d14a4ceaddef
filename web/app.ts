import type { Engine } from '../src/engine/index.js';
import { parameterCount } from '../src/formats/tensor.js';
import type { NamedArrays } from '../src/formats/types.js';
import { TrainingCharts } from './charts.js';
import { el, formatBytes, numberInput } from './dom.js';
import { catchUncaught, showError, shownErrors } from './errors.js';
import { startEngine } from './gpu.js';
import { demoImages, fetchDemoListing, folderImages, summarize, type LabeledImages } from './sources.js';
import { fetchWeights, listServerWeights } from './weights.js';

interface AppState {
  engine: Engine | null;
  weights: { name: string; tensors: NamedArrays } | null;
  images: LabeledImages | null;
}

const state: AppState = { engine: null, weights: null, images: null };

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
  el<HTMLButtonElement>('load-model').disabled = list.length === 0 || !state.engine;
}

async function loadWeights(): Promise<void> {
  const name = el<HTMLSelectElement>('weights-select').value;
  const status = el('model-status');
  const button = el<HTMLButtonElement>('load-model');
  button.disabled = true;
  try {
    status.textContent = `Downloading ${name}…`;
    const w = await fetchWeights(name, (loaded, total) => {
      status.textContent = `Downloading ${name}: ${formatBytes(loaded)}${total ? ` of ${formatBytes(total)}` : ''}`;
    });
    state.weights = { name, tensors: w.tensors };
    status.textContent = `${name}: ${w.tensors.size} tensors, ${parameterCount(w.tensors).toLocaleString('en')} parameters (${formatBytes(w.bytes)})`;
  } catch (e) {
    status.textContent = `Could not load ${name}.`;
    showError(e, 'Could not load the weights');
  } finally {
    button.disabled = false;
  }
}

let lastFolder: FileList | null = null;

async function refreshImages(): Promise<void> {
  const summary = el('data-summary');
  const source = (document.querySelector('input[name="source"]:checked') as HTMLInputElement).value;
  el('folder-label').hidden = source !== 'folder';
  try {
    const limits = { trainPerClass: numberInput('per-class', 1, 1000), valPerClass: numberInput('val-per-class', 0, 500) };
    if (source === 'demo') state.images = demoImages(await fetchDemoListing(), limits);
    else if (lastFolder && lastFolder.length > 0) state.images = folderImages(lastFolder, limits);
    else state.images = null;
    summary.textContent = state.images ? summarize(state.images) : 'Choose a folder.';
  } catch (e) {
    state.images = null;
    summary.textContent = 'No usable images.';
    showError(e, 'Images');
  }
}

async function main(): Promise<void> {
  catchUncaught();
  new TrainingCharts(el<HTMLCanvasElement>('loss-chart'), el<HTMLCanvasElement>('acc-chart'));
  document.querySelectorAll<HTMLInputElement>('input[name="source"]').forEach((r) => r.addEventListener('change', () => void refreshImages()));
  for (const id of ['per-class', 'val-per-class']) el(id).addEventListener('change', () => void refreshImages());
  el<HTMLInputElement>('folder-input').addEventListener('change', (ev) => {
    lastFolder = (ev.target as HTMLInputElement).files;
    void refreshImages();
  });
  el('load-model').addEventListener('click', () => void loadWeights());
  state.engine = await startEngine();
  await Promise.all([fillWeightsList().catch((e) => showError(e, 'Weights list')), refreshImages()]);
}

const ready = main().catch((e) => showError(e, 'The page failed to start'));

declare global {
  interface Window {
    __ready: Promise<unknown>;
    __errors: () => readonly { title: string; message: string }[];
  }
}
window.__ready = ready;
window.__errors = shownErrors;
