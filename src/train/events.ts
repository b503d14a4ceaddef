import type { EpochLogs } from './history.js';

/**
 * What training reports while it runs. src/train never prints: the CLI renders these as Keras-like lines,
 * a progress bar or JSON lines; the browser app draws them.
 */
export type TrainEvent =
  | { type: 'info'; message: string }
  /** A long phase starts (feature extraction of a split, an epoch's training steps, an evaluation). */
  | { type: 'phase'; name: string; total: number; unit: 'images' | 'steps' }
  /** Progress inside the current phase; `images_per_s` over the phase so far. */
  | { type: 'progress'; name: string; done: number; total: number; images: number; elapsed_s: number; images_per_s: number }
  | ({ type: 'epoch' } & EpochLogs)
  | { type: 'checkpoint'; epoch: number; file: string }
  | { type: 'result'; metrics: Record<string, number | string> };

export type EventSink = (event: TrainEvent) => void;

export const silentSink: EventSink = () => {};

/** Throttles progress events to at most one per `minIntervalS` (the last one of a phase is always sent). */
export function throttledProgress(sink: EventSink, minIntervalS = 0.5, now: () => number = () => performance.now() / 1000): EventSink {
  let last = -Infinity;
  return (ev) => {
    if (ev.type === 'progress') {
      const t = now();
      if (ev.done < ev.total && t - last < minIntervalS) return;
      last = t;
    } else if (ev.type === 'phase') last = -Infinity;
    sink(ev);
  };
}
