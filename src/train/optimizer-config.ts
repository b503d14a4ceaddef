// config.json's `optimizer` entry: what it may hold, how a new run fills it, and how training reads it back.
import { ADAM_DEFAULTS, OPTIMIZER_NAMES, RMSPROP_DEFAULTS, type OptimizerName } from '../nn/optim/index.js';
import type { TrainingPlan } from './run.js';

export { OPTIMIZER_NAMES, type OptimizerName };

export interface RmspropConfig {
  name: 'rmsprop';
  lr: number;
  rho: number;
  epsilon: number;
}

export interface AdamConfig {
  name: 'adam';
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

export type OptimizerConfig = RmspropConfig | AdamConfig;

const SETTINGS = { rmsprop: ['rho', 'epsilon'], adam: ['beta1', 'beta2', 'epsilon'] } as const;
const LABEL: Record<OptimizerName, string> = { rmsprop: 'RMSprop', adam: 'Adam' };

/** A new run's entry: Keras' defaults besides the learning rate. */
export function optimizerConfig(name: OptimizerName, lr: number): OptimizerConfig {
  return name === 'adam' ? { name, lr, ...ADAM_DEFAULTS } : { name, lr, ...RMSPROP_DEFAULTS };
}

/**
 * Checks (and completes) a stored entry. Runs made before there was a choice may lack the name (they are RMSprop)
 * and the settings (Keras' defaults); a setting of the other optimizer is refused rather than silently ignored.
 */
export function parseOptimizerConfig(value: unknown, file: string): OptimizerConfig {
  const fail = (field: string, want: string): never => {
    throw new Error(`${file}: field '${field}' is missing or not ${want}`);
  };
  if (typeof value !== 'object' || value === null || !((value as { lr?: unknown }).lr as number > 0)) fail('optimizer', '{ name, lr > 0, … }');
  const o = value as Record<string, unknown>;
  o.name ??= 'rmsprop';
  if (!OPTIMIZER_NAMES.includes(o.name as OptimizerName)) fail('optimizer.name', OPTIMIZER_NAMES.join(' | '));
  const name = o.name as OptimizerName;
  const other = name === 'adam' ? 'rmsprop' : 'adam';
  for (const k of SETTINGS[other]) {
    if (k in o && !(SETTINGS[name] as readonly string[]).includes(k)) {
      throw new Error(`${file}: field 'optimizer.${k}' is a setting of ${LABEL[other]}, not of ${LABEL[name]} (which takes lr, ${SETTINGS[name].join(', ')})`);
    }
  }
  const defaults: Record<string, number> = name === 'adam' ? ADAM_DEFAULTS : RMSPROP_DEFAULTS;
  for (const k of SETTINGS[name]) {
    o[k] ??= defaults[k];
    const v = o[k] as number;
    if (k === 'epsilon' ? !(typeof v === 'number' && v >= 0) : !(typeof v === 'number' && v >= 0 && v < 1)) fail(`optimizer.${k}`, k === 'epsilon' ? 'a number ≥ 0' : 'a number in [0, 1)');
  }
  return o as unknown as OptimizerConfig;
}

/** The plan fields that make runTraining build the optimizer config.json describes. */
export function planOptimizer(c: OptimizerConfig): Pick<TrainingPlan, 'optimizer' | 'lr' | 'rho' | 'beta1' | 'beta2' | 'epsilon'> {
  return c.name === 'adam' ? { optimizer: 'adam', lr: c.lr, beta1: c.beta1, beta2: c.beta2, epsilon: c.epsilon } : { optimizer: 'rmsprop', lr: c.lr, rho: c.rho, epsilon: c.epsilon };
}
