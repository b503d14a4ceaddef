import type { ClassReport } from '../src/train/index.js';
import { el } from './dom.js';

/**
 * The run's per-class results after training: each class's accuracy (recall), precision and image count, and the
 * confusion matrix (rows true, columns predicted; counts, shaded by the share of the row), as the jobs count them
 * on the validation images after the last epoch — for two classes as for twelve.
 */
export class ResultsPanel {
  private readonly root = el('class-results');
  private readonly card = el('results-card');

  clear(): void {
    this.root.replaceChildren();
    this.card.hidden = true;
  }

  show(report: ClassReport, run: string): void {
    const total = report.confusion.flat().reduce((a, b) => a + b, 0);
    const correct = report.confusion.reduce((a, r, i) => a + r[i]!, 0);
    const summary = document.createElement('p');
    summary.className = 'status';
    summary.id = 'class-results-summary';
    summary.textContent =
      `Run ${run}, ${report.split} images: ${correct} of ${total} right (${((100 * correct) / Math.max(total, 1)).toFixed(1)}%), ` +
      `${report.classes.length} classes (chance ${(100 / report.classes.length).toFixed(1)}%).`;
    const tables = document.createElement('div');
    tables.className = 'result-tables';
    tables.append(this.perClassTable(report), this.confusionTable(report));
    this.root.replaceChildren(summary, tables);
    this.card.hidden = false;
  }

  private perClassTable(r: ClassReport): HTMLTableElement {
    const pct = (v: number): string => (Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : '–');
    const t = document.createElement('table');
    t.id = 'per-class';
    t.className = 'results';
    const cap = t.createCaption();
    cap.textContent = 'Per class';
    const head = t.createTHead().insertRow();
    for (const h of ['class', 'accuracy', 'precision', 'images']) {
      const th = document.createElement('th');
      th.textContent = h;
      th.title = h === 'accuracy' ? 'of the images of this class, the share predicted as it (recall)' : h === 'precision' ? 'of the images predicted as this class, the share that are' : '';
      head.append(th);
    }
    const body = t.createTBody();
    r.per_class.forEach((c, i) => {
      const row = body.insertRow();
      row.dataset['class'] = c.class;
      row.dataset['accuracy'] = String(c.recall);
      const cells = [`${i} ${c.class}`, pct(c.recall), pct(c.precision), String(c.support)];
      for (const text of cells) row.insertCell().textContent = text;
    });
    return t;
  }

  private confusionTable(r: ClassReport): HTMLTableElement {
    const t = document.createElement('table');
    t.id = 'confusion';
    t.className = 'results confusion';
    const cap = t.createCaption();
    cap.textContent = `Confusion matrix (${r.split}): rows true class, columns predicted`;
    const head = t.createTHead().insertRow();
    head.append(document.createElement('th'));
    r.classes.forEach((name, j) => {
      const th = document.createElement('th');
      th.className = 'predicted';
      th.textContent = String(j);
      th.title = `predicted ${name}`;
      head.append(th);
    });
    const body = t.createTBody();
    r.confusion.forEach((counts, i) => {
      const row = body.insertRow();
      const th = document.createElement('th');
      th.textContent = `${i} ${r.classes[i]}`;
      row.append(th);
      const n = counts.reduce((a, b) => a + b, 0);
      counts.forEach((v, j) => {
        const td = row.insertCell();
        td.className = i === j ? 'count diagonal' : 'count';
        td.dataset['count'] = String(v);
        td.textContent = String(v);
        td.title = `${v} ${r.classes[i]} image${v === 1 ? '' : 's'} predicted as ${r.classes[j]}`;
        const share = n ? v / n : 0;
        td.style.background = `rgba(47, 111, 222, ${(0.85 * share).toFixed(3)})`;
        if (share > 0.55) td.style.color = 'white';
      });
    });
    return t;
  }
}
