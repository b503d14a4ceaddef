import type { Tensor } from '../../engine/index.js';

export type OptimizerName = 'rmsprop' | 'adam';
export const OPTIMIZER_NAMES: readonly OptimizerName[] = ['rmsprop', 'adam'];

/** What training, checkpoints and the step runner need of an optimizer. */
export interface Optimizer {
  readonly name: OptimizerName;
  readonly params: Tensor[];
  readonly lr: number;
  /** Updates made so far (Keras' `iterations`); settable when restoring a checkpoint. */
  iterations: number;
  /** One update of every parameter that has a gradient (one fused kernel each; the others are skipped). */
  step(): void;
  /** Drops every gradient (backward allocates fresh ones; until then gradients accumulate). */
  zeroGrad(): void;
  /** Every state tensor by a name unique within this optimizer (for checkpoints; write into them to restore). */
  stateTensors(): Map<string, Tensor>;
  dispose(): void;
}

export function paramName(p: Tensor, i: number): string {
  return p.name ?? `param_${i}`;
}

/** Throws unless the parameters' names are distinct (they key the optimizer state in checkpoints). */
export function checkParamNames(optimizer: string, params: readonly Tensor[]): void {
  const names = new Set<string>();
  for (const [i, p] of params.entries()) {
    const name = paramName(p, i);
    if (names.has(name)) throw new Error(`${optimizer}: two parameters are named ${name}`);
    names.add(name);
  }
}

export function dropGrads(params: readonly Tensor[]): void {
  for (const p of params) {
    p.grad?.dispose();
    p.grad = null;
  }
}
