/**
 * Step 1, the pretrained base: the served weights (downloaded into the tab on demand) or your own .onnx network,
 * read, imported and checked in the tab with its cut and pooling; each base at its own input size.
 */
import { parameterCount } from '../src/formats/tensor.js';
import type { NamedArrays } from '../src/formats/types.js';
import { BACKBONE_NAMES, backboneDefaults } from '../src/models/registry.js';
import { parseOnnxRef, type BackboneName } from '../src/models/types.js';
import { baseStatus, ONNX_OPTION, state, updateButtons } from './app-state.js';
import { el, formatBytes } from './dom.js';
import { TabSession, type TabOnnxBase, type TabOnnxChoice, type TabPooling } from './session.js';
import { TAB_DEFAULT_BASE } from './tab-defaults.js';
import { fetchWeights, listServerWeights } from './weights.js';

/** .onnx files and cut/pooling changes checked so far, successfully or not (the browser test waits on it). */
export const onnxCounter = { checks: 0 };

/** The backbone a weights file is for: its name, or a name starting with it (e.g. `vgg16_notop`). */
export function backboneOf(weightsName: string): BackboneName {
  const b = [...BACKBONE_NAMES].sort((x, y) => y.length - x.length).find((n) => weightsName === n || weightsName.startsWith(`${n}_`) || weightsName.startsWith(`${n}.`));
  if (!b) throw new Error(`no model matches the weights '${weightsName}'; known models: ${BACKBONE_NAMES.join(', ')}`);
  return b;
}

/** Whether the weights chooser is on the picked .onnx network. */
export function usingOnnx(): boolean {
  return el<HTMLSelectElement>('weights-select').value === ONNX_OPTION;
}

export async function fillWeightsList(): Promise<void> {
  const select = el<HTMLSelectElement>('weights-select');
  const list = await listServerWeights();
  const picked = select.querySelector('optgroup.onnx');
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
  if (picked) select.append(picked);
  const preferred = list.find((w) => w.name === TAB_DEFAULT_BASE) ?? list.find((w) => w.name === 'squeezenet1_1');
  if (preferred && !state.onnx) {
    select.value = preferred.name;
    onBaseChange();
  }
  updateButtons();
}

/** The cut and pooling fields as they are (an empty cut: the classifier's input). */
export function readOnnxChoice(): TabOnnxChoice {
  const cut = el<HTMLInputElement>('onnx-cut').value.trim();
  return { ...(cut ? { cut } : {}), pool: el<HTMLSelectElement>('onnx-pool').value as TabPooling };
}

/** The fields back to what the base in use was built with. */
export function showOnnxChoice(base: TabOnnxBase | null): void {
  el<HTMLInputElement>('onnx-cut').value = base ? (parseOnnxRef(base.ref).cut ?? '') : '';
  el<HTMLSelectElement>('onnx-pool').value = base?.pool ?? 'avg';
}

const POOLING_WORDS: Record<TabPooling, string> = { avg: 'average-pooled', max: 'max-pooled', none: 'not pooled' };

export function describeOnnx(b: TabOnnxBase): string {
  const f = b.file;
  const info = f.info;
  const cut = info.defaultCut && b.cut === info.defaultCut.tensor ? `'${b.cut}' (${info.defaultCut.reason})` : `'${b.cut}'`;
  return (
    `${f.name} (${formatBytes(f.bytes.byteLength)}, ${info.producer}): ${info.nodes} nodes, ${b.parameters.toLocaleString('en')} parameters in the base, read in this tab (not uploaded).\n` +
    `Base ends at ${cut}, ${POOLING_WORDS[b.pool]} → features [${b.featureShape.join(', ')}]; SHA-256 ${f.checksum.slice(0, 12)}…`
  );
}

/** The chooser moved: the status and the ONNX fields follow it. */
export function onBaseChange(): void {
  const onnx = usingOnnx();
  // Each base at its own input size (VGG16 150, the others 224; a picked network its own).
  if (onnx && state.onnx) el<HTMLInputElement>('image-size').value = String(state.onnx.inputSize);
  else if (!onnx && el<HTMLSelectElement>('weights-select').value) {
    try {
      el<HTMLInputElement>('image-size').value = String(backboneDefaults(backboneOf(el<HTMLSelectElement>('weights-select').value)).inputSize);
    } catch {
      // an unknown weights name: the size stays, and Train says what is wrong
    }
  }
  el('onnx-options').hidden = !onnx;
  el('model-status').textContent = onnx && state.onnx ? describeOnnx(state.onnx) : baseStatus.server;
  updateButtons();
}

/** The picked network's entry in the weights chooser (one at a time), selected. */
export function offerOnnx(b: TabOnnxBase): void {
  const select = el<HTMLSelectElement>('weights-select');
  let group = select.querySelector<HTMLOptGroupElement>('optgroup.onnx');
  if (!group) {
    group = document.createElement('optgroup');
    group.className = 'onnx';
    group.label = 'your own network';
    select.append(group);
  }
  const o = document.createElement('option');
  o.value = ONNX_OPTION;
  o.textContent = `${b.file.name} (${formatBytes(b.file.bytes.byteLength)}, in this tab)`;
  group.replaceChildren(o);
  select.value = ONNX_OPTION;
}

/** What the base is now, for "could not … ; <this>" messages. */
export function currentBase(): string {
  if (usingOnnx() && state.onnx) return `the base is still ${state.onnx.file.name}`;
  const name = el<HTMLSelectElement>('weights-select').value;
  return name ? `the base is still ${name}` : 'no base chosen';
}

/**
 * A picked .onnx file: read in the tab, imported and built once as a base (then freed) at the network's own input
 * size; on success it becomes the base (the chooser selects it). A file that is not ONNX, an unsupported op or a
 * cut that does not exist leave everything as it was.
 */
export async function pickOnnx(f: File): Promise<void> {
  const status = el('model-status');
  const session = state.session;
  if (!session) throw new Error('no usable WebGPU device in this tab (see the message above)');
  if (state.running) throw new Error(`${f.name}: wait until the training run has finished`);
  try {
    state.running = true;
    updateButtons();
    status.textContent = `Reading ${f.name}…`;
    const file = await TabSession.readOnnxFile(f.name, new Uint8Array(await f.arrayBuffer()));
    status.textContent = `Checking ${f.name} as a base…`;
    // Another network's cut tensor means nothing here: the new one starts at its classifier's input.
    const base = await session.checkOnnxBase(file, { pool: readOnnxChoice().pool ?? 'avg' }, file.inputSize);
    session.useOnnx(base);
    state.onnx = base;
    el<HTMLInputElement>('image-size').value = String(base.inputSize);
    showOnnxChoice(base);
    offerOnnx(base);
    state.running = false;
    onBaseChange();
  } catch (e) {
    state.running = false;
    updateButtons();
    status.textContent = `Could not use ${f.name}; ${currentBase()}.`;
    throw e;
  } finally {
    onnxCounter.checks++;
  }
}

/** The cut or pooling field changed: the base is rebuilt with them, or the fields go back to the base in use. */
export async function recheckOnnx(): Promise<void> {
  const cur = state.onnx;
  const session = state.session;
  if (!cur || !session) return;
  const choice = readOnnxChoice();
  if ((choice.cut ?? '') === (parseOnnxRef(cur.ref).cut ?? '') && choice.pool === cur.pool) return;
  const status = el('model-status');
  if (state.running) {
    showOnnxChoice(cur);
    throw new Error('wait until the training run has finished');
  }
  try {
    state.running = true;
    updateButtons();
    status.textContent = `Checking ${cur.file.name}${choice.cut ? ` cut at '${choice.cut}'` : ''}…`;
    const size = Number(el<HTMLInputElement>('image-size').value);
    const base = await session.checkOnnxBase(cur.file, choice, Number.isInteger(size) && size >= 32 && size <= 512 ? size : cur.file.inputSize);
    session.useOnnx(base);
    state.onnx = base;
  } catch (e) {
    showOnnxChoice(cur);
    throw e;
  } finally {
    state.running = false;
    onnxCounter.checks++;
    onBaseChange();
  }
}

export async function loadWeights(): Promise<{ name: string; tensors: NamedArrays }> {
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
    state.session?.setWeights(backboneOf(name), { tensors: w.tensors, source: `${name}.safetensors` });
    baseStatus.server = `${name}: ${w.tensors.size} tensors, ${parameterCount(w.tensors).toLocaleString('en')} parameters (${formatBytes(w.bytes)}), in this tab`;
    status.textContent = baseStatus.server;
    return state.weights;
  } catch (e) {
    status.textContent = `Could not load ${name}.`;
    throw e;
  }
}
