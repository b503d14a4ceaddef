import { createCanvas } from '@napi-rs/canvas';
import { Chart, registerables, type Plugin } from 'chart.js';
import type { History } from './history.js';
import { historyChartConfig, type PlotKind } from './plots.js';
import type { ClassReport } from './report.js';

Chart.register(...registerables);

const whiteBackground: Plugin<'line'> = {
  id: 'white-background',
  beforeDraw(chart) {
    const ctx = chart.ctx;
    ctx.save();
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, chart.width, chart.height);
    ctx.restore();
  },
};

/** Rasterises a history chart to PNG with Chart.js on @napi-rs/canvas. */
export async function renderHistoryPng(history: History, kind: PlotKind, width = 900, height = 560): Promise<Uint8Array> {
  const canvas = createCanvas(width, height);
  const config = historyChartConfig(history, kind);
  config.plugins = [whiteBackground];
  // Chart.js accepts any 2D context with the canvas API; @napi-rs/canvas provides one without a DOM.
  const chart = new Chart(canvas.getContext('2d') as unknown as CanvasRenderingContext2D, config);
  try {
    return new Uint8Array(await canvas.encode('png'));
  } finally {
    chart.destroy();
  }
}

/**
 * The confusion matrix as a PNG: rows the true class, columns the predicted one, each cell its count with a shade
 * from the row-normalised share (so each class's recall reads along the diagonal), class names on both axes.
 */
export async function renderConfusionPng(report: ClassReport): Promise<Uint8Array> {
  const names = report.classes;
  const n = names.length;
  const cell = n <= 4 ? 90 : n <= 12 ? 56 : Math.max(14, Math.floor(900 / n));
  const font = Math.max(8, Math.min(16, Math.floor(cell / 3.2)));
  const probe = createCanvas(10, 10).getContext('2d');
  probe.font = `${font}px sans-serif`;
  const label = Math.ceil(Math.max(...names.map((s) => probe.measureText(s).width))) + 16;
  const top = 40 + label;
  const left = 30 + label;
  const width = left + n * cell + 20;
  const height = top + n * cell + 50;
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = '#000000';
  ctx.font = `bold ${font + 2}px sans-serif`;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'top';
  const total = report.confusion.flat().reduce((a, b) => a + b, 0);
  const correct = report.confusion.reduce((a, r, i) => a + r[i]!, 0);
  ctx.fillText(`Confusion matrix (${report.split}, ${total} images, accuracy ${((100 * correct) / Math.max(total, 1)).toFixed(1)}%)`, 10, 8);
  ctx.font = `${font}px sans-serif`;
  for (let i = 0; i < n; i++) {
    const row = report.confusion[i]!;
    const support = row.reduce((a, b) => a + b, 0);
    for (let j = 0; j < n; j++) {
      const v = row[j]!;
      const share = support ? v / support : 0;
      // White → blue by share of the row; the diagonal in blue, errors in red.
      const [r, g, b] = i === j ? [33, 102, 172] : [202, 0, 32];
      const mix = (c: number): number => Math.round(255 + (c - 255) * share);
      ctx.fillStyle = `rgb(${mix(r)}, ${mix(g)}, ${mix(b)})`;
      ctx.fillRect(left + j * cell, top + i * cell, cell, cell);
      ctx.strokeStyle = '#dddddd';
      ctx.strokeRect(left + j * cell + 0.5, top + i * cell + 0.5, cell - 1, cell - 1);
      if (cell >= 18) {
        ctx.fillStyle = share > 0.55 ? '#ffffff' : '#000000';
        ctx.textAlign = 'center';
        ctx.textBaseline = 'middle';
        ctx.fillText(String(v), left + j * cell + cell / 2, top + i * cell + cell / 2);
      }
    }
  }
  ctx.fillStyle = '#000000';
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  names.forEach((s, i) => ctx.fillText(s, left - 8, top + i * cell + cell / 2));
  names.forEach((s, j) => {
    ctx.save();
    ctx.translate(left + j * cell + cell / 2, top - 8);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'left';
    ctx.fillText(s, 0, 0);
    ctx.restore();
  });
  ctx.font = `bold ${font}px sans-serif`;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  ctx.fillText('predicted class', left + (n * cell) / 2, top + n * cell + 12);
  ctx.save();
  ctx.translate(12, top + (n * cell) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = 'top';
  ctx.fillText('true class', 0, 0);
  ctx.restore();
  return new Uint8Array(await canvas.encode('png'));
}
