import { createCanvas } from '@napi-rs/canvas';
import { Chart, registerables, type Plugin } from 'chart.js';
import type { History } from './history.js';
import { historyChartConfig, type PlotKind } from './plots.js';

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
