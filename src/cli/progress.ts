import type { EpochLogs, EventSink, TrainEvent } from '../train/index.js';

export interface Output {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface Reporter {
  sink: EventSink;
  /** A line of human-readable output (suppressed with --json). */
  say(line: string): void;
  /** A final machine-readable record (printed with --json only). */
  json(value: Record<string, unknown>): void;
  /** Ends a live progress bar, if one is showing. */
  close(): void;
}

/** Keras' epoch line: `Epoch 3/30 - 4.1s - loss: 0.3100 - acc: 0.8700 - val_loss: 0.2500 - val_acc: 0.9000`. */
export function formatEpochLine(l: EpochLogs): string {
  const f = (x: number): string => (Number.isFinite(x) ? x.toFixed(4) : String(x));
  return `Epoch ${l.epoch}/${l.epochs} - ${l.seconds.toFixed(1)}s - loss: ${f(l.loss)} - acc: ${f(l.acc)} - val_loss: ${f(l.val_loss)} - val_acc: ${f(l.val_acc)}`;
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '--:--';
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(sec).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export function formatProgressBar(done: number, total: number, imagesPerS: number, elapsedS: number, width = 30): string {
  const frac = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.floor(frac * width);
  const bar = '='.repeat(Math.max(0, filled - (done < total ? 1 : 0))) + (done < total && filled > 0 ? '>' : '') + '.'.repeat(width - filled);
  const eta = done > 0 && done < total ? (elapsedS / done) * (total - done) : done >= total ? 0 : NaN;
  const digits = String(total).length;
  return `${String(done).padStart(digits)}/${total} [${bar}] ${imagesPerS.toFixed(1)} img/s - ETA ${formatDuration(eta)}`;
}

/**
 * Renders training events: Keras-like lines, a live bar on a terminal, or (with `json`) one JSON object per line
 * and nothing else.
 */
export function createReporter(opts: { json: boolean; out?: Output }): Reporter {
  const out = opts.out ?? process.stdout;
  const tty = Boolean(out.isTTY) && !opts.json;
  let barShowing = false;
  let phaseLabel = '';
  let lastJsonProgress = -Infinity;
  let lastDraw = -Infinity;

  const clearBar = (): void => {
    if (barShowing) {
      out.write('\r\x1b[2K');
      barShowing = false;
    }
  };
  const line = (s: string): void => {
    clearBar();
    out.write(s + '\n');
  };

  const human = (ev: TrainEvent): void => {
    switch (ev.type) {
      case 'info':
        line(ev.message);
        break;
      case 'phase':
        phaseLabel = ev.name;
        break;
      case 'progress': {
        if (!tty) break;
        // Redraw at most ten times a second (and always at the end of a phase).
        const now = performance.now();
        if (ev.done < ev.total && now - lastDraw < 100) break;
        lastDraw = now;
        const text = `${phaseLabel || ev.name} ${formatProgressBar(ev.done, ev.total, ev.images_per_s, ev.elapsed_s)}`;
        const cols = out.columns && out.columns > 0 ? out.columns : 120;
        out.write('\r\x1b[2K' + text.slice(0, Math.max(20, cols - 1)));
        barShowing = true;
        break;
      }
      case 'epoch':
        line(formatEpochLine(ev));
        break;
      case 'checkpoint':
      case 'result':
        break;
    }
  };

  const machine = (ev: TrainEvent): void => {
    if (ev.type === 'progress') {
      const now = performance.now();
      if (ev.done < ev.total && now - lastJsonProgress < 1000) return;
      lastJsonProgress = now;
    }
    out.write(JSON.stringify(ev) + '\n');
  };

  return {
    sink: opts.json ? machine : human,
    say: (s) => {
      if (!opts.json) line(s);
    },
    json: (value) => {
      if (opts.json) out.write(JSON.stringify(value) + '\n');
    },
    close: clearBar,
  };
}
