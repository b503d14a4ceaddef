import type { ChartConfiguration } from 'chart.js';
import { smoothCurve, type History } from './history.js';

export type PlotKind = 'acc' | 'loss';

/** Turns a history into PNG bytes (Node: plots-node.ts; a browser can draw the same config on its canvas). */
export type PlotRenderer = (history: History, kind: PlotKind) => Promise<Uint8Array>;

export const SMOOTHING_FACTOR = 0.8;

const TRAIN_COLOR = '#1f77b4';
const VAL_COLOR = '#d62728';

/** Non-finite values (a diverged loss) as gaps in the line. */
const finite = (xs: number[]): (number | null)[] => xs.map((x) => (Number.isFinite(x) ? x : null));

/** A curve's exponential moving average, drawn lighter and dashed in the curve's colour. */
function smoothed(what: string, xs: number[], colour: string) {
  return {
    label: `Smoothed ${what} (EMA ${SMOOTHING_FACTOR})`,
    data: finite(smoothCurve(xs, SMOOTHING_FACTOR)),
    pointRadius: 0,
    borderWidth: 1.5,
    borderDash: [6, 4],
    borderColor: colour,
    backgroundColor: colour,
  };
}

/**
 * The book's figures on one chart: training as points, validation as a line, and both again smoothed with the
 * exponential moving average (factor 0.8), drawn lighter and dashed.
 */
export function historyChartConfig(history: History, kind: PlotKind, title?: string): ChartConfiguration<'line'> {
  const train = kind === 'acc' ? history.acc : history.loss;
  const val = kind === 'acc' ? history.val_acc : history.val_loss;
  const name = kind === 'acc' ? 'accuracy' : 'loss';
  const labels = train.map((_, i) => String(i + 1));
  return {
    type: 'line',
    data: {
      labels,
      datasets: [
        { label: `Training ${name}`, data: finite(train), showLine: false, pointRadius: 3.5, pointBackgroundColor: TRAIN_COLOR, borderColor: TRAIN_COLOR },
        { label: `Validation ${name}`, data: finite(val), pointRadius: 0, borderWidth: 2, borderColor: VAL_COLOR, backgroundColor: VAL_COLOR },
        smoothed(`training ${name}`, train, 'rgba(31, 119, 180, 0.55)'),
        smoothed(`validation ${name}`, val, 'rgba(214, 39, 40, 0.55)'),
      ],
    },
    options: {
      animation: false,
      responsive: false,
      devicePixelRatio: 1,
      plugins: {
        title: { display: true, text: title ?? `Training and validation ${name}`, font: { size: 16 } },
        legend: { position: 'bottom' },
      },
      scales: {
        x: { title: { display: true, text: 'epoch' } },
        y: { title: { display: true, text: name } },
      },
    },
  };
}
