export { RMSprop, type RMSpropOptions } from './rmsprop.js';
