/** Per-epoch results of a training run, in the shape of Keras' `History.history`. */
export interface History {
  loss: number[];
  acc: number[];
  val_loss: number[];
  val_acc: number[];
  /** Wall-clock seconds of each epoch (training and validation). */
  epoch_s: number[];
}

export interface EpochLogs {
  /** 1-based epoch number. */
  epoch: number;
  epochs: number;
  loss: number;
  acc: number;
  val_loss: number;
  val_acc: number;
  seconds: number;
  /** Training images per second in this epoch. */
  images_per_s: number;
}

export function emptyHistory(): History {
  return { loss: [], acc: [], val_loss: [], val_acc: [], epoch_s: [] };
}

export function appendEpoch(h: History, logs: EpochLogs): void {
  h.loss.push(logs.loss);
  h.acc.push(logs.acc);
  h.val_loss.push(logs.val_loss);
  h.val_acc.push(logs.val_acc);
  h.epoch_s.push(logs.seconds);
}

export function historyLength(h: History): number {
  return h.loss.length;
}

/** Validates a parsed history.json / checkpoint field; throws naming what is wrong. */
export function parseHistory(value: unknown, source: string): History {
  const h = value as Partial<Record<keyof History, unknown>>;
  const keys: (keyof History)[] = ['loss', 'acc', 'val_loss', 'val_acc', 'epoch_s'];
  if (typeof value !== 'object' || value === null) throw new Error(`${source}: history is not an object`);
  const out = emptyHistory();
  let n = -1;
  for (const k of keys) {
    const arr = h[k];
    if (!Array.isArray(arr) || arr.some((v) => typeof v !== 'number')) throw new Error(`${source}: history.${k} is not an array of numbers`);
    if (n >= 0 && arr.length !== n) throw new Error(`${source}: history.${k} has ${arr.length} entries, expected ${n}`);
    n = arr.length;
    out[k] = [...(arr as number[])];
  }
  return out;
}

/**
 * The book's exponential moving average: s₀ = x₀, sᵢ = f·sᵢ₋₁ + (1 − f)·xᵢ (factor 0.8), which makes noisy
 * validation curves readable.
 */
export function smoothCurve(points: readonly number[], factor = 0.8): number[] {
  const out: number[] = [];
  for (const p of points) out.push(out.length === 0 ? p : out[out.length - 1]! * factor + p * (1 - factor));
  return out;
}
