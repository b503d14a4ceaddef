import type { ChartConfiguration } from 'chart.js';
import { smoothCurve, type History } from './history.js';

export type PlotKind = 'acc' | 'loss';

/** Turns a history into PNG bytes (Node: plots-node.ts; a browser can draw the same config on its canvas). */
export type PlotRenderer = (history: History, kind: PlotKind) => Promise<Uint8Array>;

export const SMOOTHING_FACTOR = 0.8;

const TRAIN_COLOR = '#1f77b4';
const VAL_COLOR = '#d62728';

/**
 * The book's figures on one chart: training as points, validation as a line, and both again smoothed with the
 * exponential moving average (factor 0.8), drawn lighter and dashed.
 */
export function historyChartConfig(history: History, kind: PlotKind, title?: string): ChartConfiguration<'line'> {
  const train = kind === 'acc' ? history.acc : history.loss;
  const val = kind === 'acc' ? history.val_acc : history.val_loss;
  const name = kind === 'acc' ? 'accuracy' : 'loss';
  const labels = train.map((_, i) => String(i + 1));
  const finite = (xs: number[]): (number | null)[] => xs.map((x) => (Number.isFinite(x) ? x : null));
  return {
    type: 'line',
    data: {
      labels,
      datasets: [
        { label: `Training ${name}`, data: finite(train), showLine: false, pointRadius: 3.5, pointBackgroundColor: TRAIN_COLOR, borderColor: TRAIN_COLOR },
        { label: `Validation ${name}`, data: finite(val), pointRadius: 0, borderWidth: 2, borderColor: VAL_COLOR, backgroundColor: VAL_COLOR },
        {
          label: `Smoothed training ${name} (EMA ${SMOOTHING_FACTOR})`,
          data: finite(smoothCurve(train, SMOOTHING_FACTOR)),
          pointRadius: 0,
          borderWidth: 1.5,
          borderDash: [6, 4],
          borderColor: 'rgba(31, 119, 180, 0.55)',
          backgroundColor: 'rgba(31, 119, 180, 0.55)',
        },
        {
          label: `Smoothed validation ${name} (EMA ${SMOOTHING_FACTOR})`,
          data: finite(smoothCurve(val, SMOOTHING_FACTOR)),
          pointRadius: 0,
          borderWidth: 1.5,
          borderDash: [6, 4],
          borderColor: 'rgba(214, 39, 40, 0.55)',
          backgroundColor: 'rgba(214, 39, 40, 0.55)',
        },
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
