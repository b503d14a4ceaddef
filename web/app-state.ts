/**
 * What the page's parts share: the engine and session, the chosen base, the model in use, whether a run or an
 * export is going, the class board, and the one function that enables and disables the controls from all that.
 */
import type { Engine } from '../src/engine/index.js';
import type { NamedArrays } from '../src/formats/types.js';
import type { Camera } from './camera.js';
import { ClassBoard } from './classes.js';
import { el } from './dom.js';
import type { Classifier, TabOnnxBase, TabSession } from './session.js';

export interface AppState {
  engine: Engine | null;
  weights: { name: string; tensors: NamedArrays } | null;
  /** The .onnx network the user picked, checked as a base (the weights chooser's `ONNX_OPTION` selects it). */
  onnx: TabOnnxBase | null;
  camera: Camera | null;
  /** The model the predict panel uses (trained or loaded in this tab); its run can be downloaded and fine-tuned. */
  classifier: Classifier | null;
  session: TabSession | null;
  running: boolean;
  /** An ONNX / TF.js export is being made (it builds the model on the GPU): training and other downloads wait. */
  exporting: boolean;
  stopRequested: boolean;
}

export const state: AppState = { engine: null, weights: null, onnx: null, camera: null, classifier: null, session: null, running: false, exporting: false, stopRequested: false };
/** The classes and their images (the cards). */
export const board = new ClassBoard();
board.addClass();
board.addClass();

/** The weights chooser's entry for the picked .onnx network. */
export const ONNX_OPTION = 'onnx:picked';
/** What the model status says about the served weights (shown again when the chooser goes back to them). */
export const baseStatus = { server: 'No model loaded.' };

export function updateButtons(): void {
  const ready = !!state.engine && !state.engine.lost;
  const value = el<HTMLSelectElement>('weights-select').value;
  const baseReady = value === ONNX_OPTION ? !!state.onnx : !!value;
  el<HTMLButtonElement>('load-model').disabled = !ready || state.running || !value || value === ONNX_OPTION;
  el<HTMLButtonElement>('train').disabled = !ready || state.running || state.exporting || board.trainingProblem() !== null || !baseReady;
  for (const id of ['add-class', 'load-demo', 'folder-input', 'project-input', 'few-shot-settings', 'book-settings']) el<HTMLButtonElement>(id).disabled = state.running;
  el<HTMLButtonElement>('save-project').disabled = state.running || state.exporting;
  for (const id of ['onnx-input', 'onnx-cut', 'onnx-pool']) el<HTMLInputElement>(id).disabled = !ready || state.running;
  el<HTMLButtonElement>('stop').disabled = !state.running;
  for (const id of ['download-model', 'download-onnx', 'download-tfjs']) el<HTMLButtonElement>(id).disabled = state.running || state.exporting || !state.classifier;
  el<HTMLInputElement>('model-input').disabled = !ready || state.running || state.exporting;
}
