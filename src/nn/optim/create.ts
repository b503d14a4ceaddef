import type { Tensor } from '../../engine/index.js';
import { Adam, type AdamOptions } from './adam.js';
import type { Optimizer } from './optimizer.js';
import { RMSprop, type RMSpropOptions } from './rmsprop.js';

/** An optimizer by name with its settings (what a run's config.json records). */
export type OptimizerSettings = ({ name: 'rmsprop' } & RMSpropOptions) | ({ name: 'adam' } & AdamOptions);

export function createOptimizer(params: Tensor[], s: OptimizerSettings): Optimizer {
  const { name, ...opts } = s;
  return name === 'adam' ? new Adam(params, opts as AdamOptions) : new RMSprop(params, opts as RMSpropOptions);
}
