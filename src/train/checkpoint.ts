import type { Engine, Tensor } from '../engine/index.js';
import { parseSafetensors, writeSafetensors } from '../formats/safetensors.js';
import type { HostTensor, NamedArrays } from '../formats/types.js';
import { OPTIMIZER_NAMES, type Optimizer, type OptimizerName } from '../nn/optim/index.js';
import { Rng } from '../util/rng.js';
import { parseHistory, type History } from './history.js';
import { mixSeed, STREAM } from './seeds.js';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
const FORMAT = 'webgpu-transfer-checkpoint/1';
const PARAM = 'param/';
/** Optimizer state is stored under `<optimizer name>/`; files without an `optimizer` entry predate Adam and hold RMSprop's. */
const DEFAULT_OPTIMIZER: OptimizerName = 'rmsprop';

/** What a checkpoint records besides tensors: enough to continue the run exactly. */
export interface CheckpointState {
  /** Epochs finished (the next epoch to run, 0-based). */
  epoch: number;
  /** Optimizer updates made so far. */
  iterations: number;
  /** The run seed. Every draw is a pure function of (seed, epoch, step); the file also records the generator state the next epoch starts from. */
  seed: number;
  history: History;
}

export interface Checkpoint {
  state: CheckpointState;
  params: NamedArrays;
  /** Which optimizer's state `optimizer` holds. */
  optimizerName: OptimizerName;
  optimizer: NamedArrays;
  metadata: Record<string, string>;
}

function nameOf(t: Tensor, i: number): string {
  return t.name ?? `param_${i}`;
}

/** Reads `params` and the optimizer's accumulators back from the GPU and serialises them with the run state. */
export async function snapshotCheckpoint(params: readonly Tensor[], optimizer: Optimizer | null, state: CheckpointState): Promise<Uint8Array> {
  const tensors: NamedArrays = new Map();
  const read = async (t: Tensor): Promise<HostTensor> => ({ shape: [...t.shape], data: (await t.readF32()).slice() });
  for (const [i, p] of params.entries()) tensors.set(PARAM + nameOf(p, i), await read(p));
  if (optimizer) for (const [name, acc] of optimizer.stateTensors()) tensors.set(`${optimizer.name}/${name}`, await read(acc));
  const metadata: Record<string, string> = {
    format: FORMAT,
    ...(optimizer ? { optimizer: optimizer.name } : {}),
    epoch: String(state.epoch),
    iterations: String(state.iterations),
    seed: String(state.seed),
    history: JSON.stringify(state.history),
    rng_state: JSON.stringify(nextEpochRngState(state.seed, state.epoch)),
  };
  return writeSafetensors(tensors, metadata);
}

/**
 * The generator state the next epoch starts from (its shuffle stream). Draws are derived from (seed, epoch, step), so
 * this is recomputable; it is stored so a resume can check that the derivation it uses is the one that made the run.
 */
export function nextEpochRngState(seed: number, epoch: number): number[] {
  return new Rng(mixSeed(seed, STREAM.shuffle, epoch)).getState();
}

function intField(meta: Record<string, string>, key: string, file: string): number {
  const v = Number(meta[key]);
  if (meta[key] === undefined || !Number.isSafeInteger(v) || v < 0) throw new Error(`${file}: checkpoint metadata '${key}' is missing or not a non-negative integer`);
  return v;
}

export function parseCheckpoint(bytes: Uint8Array, file: string): Checkpoint {
  const { tensors, metadata } = parseSafetensors(bytes, file);
  if (metadata.format !== FORMAT) throw new Error(`${file}: not a webgpu-transfer checkpoint (format '${metadata.format ?? ''}')`);
  let history: unknown;
  try {
    history = JSON.parse(metadata.history ?? '');
  } catch {
    throw new Error(`${file}: checkpoint history is not valid JSON`);
  }
  const state: CheckpointState = {
    epoch: intField(metadata, 'epoch', file),
    iterations: intField(metadata, 'iterations', file),
    seed: intField(metadata, 'seed', file),
    history: parseHistory(history, file),
  };
  const optimizerName = (metadata.optimizer ?? DEFAULT_OPTIMIZER) as OptimizerName;
  if (!OPTIMIZER_NAMES.includes(optimizerName)) throw new Error(`${file}: unknown optimizer '${optimizerName}' (known: ${OPTIMIZER_NAMES.join(', ')})`);
  const prefix = `${optimizerName}/`;
  const params: NamedArrays = new Map();
  const optimizer: NamedArrays = new Map();
  for (const [name, t] of tensors) {
    if (name.startsWith(PARAM)) params.set(name.slice(PARAM.length), t);
    else if (name.startsWith(prefix)) optimizer.set(name.slice(prefix.length), t);
  }
  return { state, params, optimizerName, optimizer, metadata };
}

/** Throws unless the checkpoint's recorded generator state is the one this code derives for its seed and epoch. */
export function assertResumable(ckpt: Checkpoint, file: string): void {
  const { seed, epoch } = ckpt.state;
  if (ckpt.metadata.rng_state !== JSON.stringify(nextEpochRngState(seed, epoch))) {
    throw new Error(`${file}: its random-number state does not match seed ${seed} at epoch ${epoch} (made by another version of the random streams); it cannot be resumed exactly`);
  }
}

/** Writes host arrays into GPU tensors by name; every target must be present with the same shape. */
export function restoreTensors(e: Engine, targets: Map<string, Tensor>, arrays: NamedArrays, file: string, what: string): void {
  const problems: string[] = [];
  for (const [name, t] of targets) {
    const a = arrays.get(name);
    if (!a) problems.push(`missing ${what} '${name}'`);
    else if (a.shape.length !== t.shape.length || a.shape.some((d, i) => d !== t.shape[i])) {
      problems.push(`${what} '${name}' has shape [${a.shape.join(', ')}], expected [${t.shape.join(', ')}]`);
    } else if (!(a.data instanceof Float32Array)) problems.push(`${what} '${name}' is not float32`);
  }
  if (problems.length) throw new Error(`${file}: ${problems.slice(0, 6).join('; ')}${problems.length > 6 ? ` … (${problems.length} problems)` : ''}`);
  for (const [name, t] of targets) e.write(t, arrays.get(name)!.data as Float32Array);
}

export function tensorsByName(params: readonly Tensor[]): Map<string, Tensor> {
  return new Map(params.map((p, i) => [nameOf(p, i), p]));
}

/** Restores parameters, optimizer state and the iteration counter from a parsed checkpoint (of the same optimizer). */
export function restoreCheckpoint(e: Engine, ckpt: Checkpoint, params: readonly Tensor[], optimizer: Optimizer | null, file: string): void {
  if (optimizer && optimizer.name !== ckpt.optimizerName) {
    throw new Error(`${file}: the run was trained with ${ckpt.optimizerName}; it cannot continue with ${optimizer.name} (its optimizer state would be lost)`);
  }
  restoreTensors(e, tensorsByName(params), ckpt.params, file, 'parameter');
  if (optimizer) {
    restoreTensors(e, optimizer.stateTensors(), ckpt.optimizer, file, `${optimizer.name} state`);
    optimizer.iterations = ckpt.state.iterations;
  }
}
