import { convGradCases } from './conv-grad.js';
import { convCases } from './conv.js';
import { denseCases } from './dense.js';
import { finetuneCases } from './finetune.js';
import { matmulCases } from './matmul.js';
import { poolCases } from './pool.js';
import type { CaseDef } from './types.js';
import { vgg16Cases } from './vgg16.js';

/** Every case in the order they run; `quick` shrinks batches and sizes (the names say what ran). */
export function allCases(quick: boolean, maxBindingBytes: number): CaseDef[] {
  return [
    ...matmulCases(quick),
    ...convCases(quick),
    ...convGradCases(quick),
    ...poolCases(quick),
    ...denseCases(),
    ...vgg16Cases(quick, maxBindingBytes),
    ...finetuneCases(quick, maxBindingBytes),
  ];
}

/**
 * Keeps the cases whose name, full-size name or group contains one of the comma-separated filters. `others`: the
 * names of the opt-in ONNX cases (bench/cases/onnx.ts), which the filter may select instead.
 */
export function filterCases(cases: CaseDef[], filter: string | undefined, others: { all: string[]; matched: number } = { all: [], matched: 0 }): CaseDef[] {
  if (!filter) return cases;
  const wanted = filter.split(',').map((s) => s.trim()).filter(Boolean);
  const kept = cases.filter((c) => wanted.some((w) => c.name.includes(w) || c.fullName.includes(w) || c.group === w));
  if (kept.length === 0 && others.matched === 0) throw new Error(`--cases ${filter} matches none of: ${[...cases.map((c) => c.name), ...others.all].join(', ')}`);
  return kept;
}
