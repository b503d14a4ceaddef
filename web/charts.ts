import { CategoryScale, Chart, Legend, LinearScale, LineController, LineElement, PointElement, Title, Tooltip } from 'chart.js';

Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale, Legend, Title, Tooltip);

export interface EpochPoint {
  epoch: number;
  loss: number;
  acc: number;
  valLoss?: number;
  valAcc?: number;
}

function lineChart(canvas: HTMLCanvasElement, title: string, yLabel: string, yRange?: { min: number; max: number }): Chart<'line'> {
  return new Chart(canvas, {
    type: 'line',
    data: {
      labels: [],
      datasets: [
        { label: 'training', data: [], borderColor: '#2f6fde', backgroundColor: '#2f6fde', tension: 0.15, pointRadius: 3 },
        { label: 'validation', data: [], borderColor: '#e07b1f', backgroundColor: '#e07b1f', tension: 0.15, pointRadius: 3 },
      ],
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      plugins: { title: { display: true, text: title }, legend: { position: 'bottom' } },
      scales: {
        x: { title: { display: true, text: 'epoch' } },
        y: { title: { display: true, text: yLabel }, ...(yRange ?? {}) },
      },
    },
  });
}

/** The live loss and accuracy curves, one point per epoch (training and validation). */
export class TrainingCharts {
  private readonly loss: Chart<'line'>;
  private readonly acc: Chart<'line'>;

  constructor(lossCanvas: HTMLCanvasElement, accCanvas: HTMLCanvasElement) {
    this.loss = lineChart(lossCanvas, 'Loss (binary cross-entropy)', 'loss');
    this.acc = lineChart(accCanvas, 'Accuracy', 'accuracy', { min: 0, max: 1 });
  }

  /** Empties both charts; `classes` names the loss (binary cross-entropy for 2, softmax cross-entropy above). */
  reset(classes = 2): void {
    const title = this.loss.options.plugins?.title;
    if (title) title.text = classes > 2 ? 'Loss (softmax cross-entropy)' : 'Loss (binary cross-entropy)';
    for (const c of [this.loss, this.acc]) {
      c.data.labels = [];
      for (const d of c.data.datasets) d.data = [];
      c.update();
    }
  }

  add(p: EpochPoint): void {
    const put = (c: Chart<'line'>, train: number, val: number | undefined) => {
      c.data.labels!.push(String(p.epoch));
      c.data.datasets[0]!.data.push(train);
      c.data.datasets[1]!.data.push(val ?? Number.NaN);
      c.update();
    };
    put(this.loss, p.loss, p.valLoss);
    put(this.acc, p.acc, p.valAcc);
  }
}
