/** Per-class results of a classifier from its confusion matrix: what metrics.json, `evaluate` and the tab show. */

export const CONFUSION_PLOT = 'confusion.png';

export interface ClassResult {
  class: string;
  /** Of the images predicted as this class, the share that are (NaN when none was predicted). */
  precision: number;
  /** Of the images of this class, the share predicted as it: the class's accuracy. */
  recall: number;
  f1: number;
  /** Images of this class. */
  support: number;
}

export interface ClassReport {
  /** The split the matrix was counted on. */
  split: string;
  classes: string[];
  /** counts[true][predicted]. */
  confusion: number[][];
  per_class: ClassResult[];
}

/** Renders a report's confusion matrix as an image (Node: PNG on @napi-rs/canvas). */
export type ConfusionRenderer = (report: ClassReport) => Promise<Uint8Array>;

export function classReport(split: string, classes: readonly string[], confusion: number[][]): ClassReport {
  const n = confusion.length;
  if (classes.length !== n) throw new Error(`class report: ${classes.length} class names for a ${n}×${n} confusion matrix`);
  const per_class = classes.map((name, c) => {
    const tp = confusion[c]![c]!;
    const support = confusion[c]!.reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((a, r) => a + r[c]!, 0);
    const precision = predicted ? tp / predicted : NaN;
    const recall = support ? tp / support : NaN;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : precision === 0 && recall === 0 ? 0 : NaN;
    return { class: name, precision, recall, f1, support };
  });
  return { split, classes: [...classes], confusion: confusion.map((r) => [...r]), per_class };
}

/** The report as it goes into metrics.json (NaN as null). */
export function reportJson(r: ClassReport): Record<string, unknown> {
  const num = (v: number): number | null => (Number.isFinite(v) ? Number(v.toFixed(6)) : null);
  return {
    confusion_split: r.split,
    classes: r.classes,
    confusion_matrix: r.confusion,
    per_class: r.per_class.map((c) => ({ class: c.class, precision: num(c.precision), recall: num(c.recall), f1: num(c.f1), support: c.support })),
  };
}

/** A plain-text per-class table (class, precision, recall, f1, support), one line each, then the confusion matrix. */
export function formatClassReport(r: ClassReport): string[] {
  const w = Math.max(5, ...r.classes.map((c) => c.length));
  const pct = (v: number): string => (Number.isFinite(v) ? (v * 100).toFixed(1).padStart(9) : '        -');
  const lines = [`${'class'.padEnd(w)}  precision    recall        f1  support`];
  for (const c of r.per_class) lines.push(`${c.class.padEnd(w)}  ${pct(c.precision)}% ${pct(c.recall)}% ${pct(c.f1)}% ${String(c.support).padStart(8)}`);
  const cw = Math.max(4, ...r.confusion.flat().map((v) => String(v).length));
  lines.push(`confusion matrix (${r.split}; rows true, columns predicted in the same class order):`);
  r.confusion.forEach((row, i) => lines.push(`${r.classes[i]!.padEnd(w)}  ${row.map((v) => String(v).padStart(cw)).join(' ')}`));
  return lines;
}
