export { RMSprop, RMSPROP_DEFAULTS, type RMSpropOptions } from './rmsprop.js';
export { Adam, ADAM_DEFAULTS, type AdamOptions } from './adam.js';
export { OPTIMIZER_NAMES, type Optimizer, type OptimizerName } from './optimizer.js';
export { createOptimizer, type OptimizerSettings } from './create.js';
