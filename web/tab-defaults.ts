/**
 * The tab's training defaults, chosen for tens of images per class (what people bring to a tab, as to Teachable
 * Machine: Adam at 1e-3 for a new head, batch 16, enough epochs), beside the book's settings for its 2,000 images
 * (RMSprop, RECIPE_DEFAULTS), one click away. The CLI keeps the book's.
 */
import { RECIPE_DEFAULTS } from '../src/train/index.js';
import type { TabRecipe } from './session.js';

export type TabOptimizer = 'adam' | 'rmsprop';

export interface TabRecipeSettings {
  epochs: number;
  batch: number;
  lr: number;
  optimizer: TabOptimizer;
  /** Training batches per epoch (recipes 2 and 3); null: one pass over the images. */
  steps: number | null;
}

/** The served base the tab starts with (Teachable Machine's is a MobileNet too). */
export const TAB_DEFAULT_BASE = 'mobilenet_v2';

export const TAB_DEFAULTS: Readonly<Record<TabRecipe, TabRecipeSettings>> = {
  features: { epochs: 50, batch: 16, lr: 1e-3, optimizer: 'adam', steps: null },
  augment: { epochs: 10, batch: 16, lr: 1e-3, optimizer: 'adam', steps: null },
  // Fine-tuning moves pretrained filters: a small step even with Adam.
  finetune: { epochs: 5, batch: 16, lr: 1e-5, optimizer: 'adam', steps: null },
};

/** The book's settings (Deep Learning with Python, 5.3) for a recipe, as the tab's fields take them. */
export function bookRecipe(recipe: TabRecipe): TabRecipeSettings {
  if (recipe === 'features') {
    const d = RECIPE_DEFAULTS['feature-head'];
    return { epochs: d.epochs, batch: d.batch, lr: d.lr, optimizer: 'rmsprop', steps: null };
  }
  const d = RECIPE_DEFAULTS[recipe];
  return { epochs: d.epochs, batch: d.batch, lr: d.lr, optimizer: 'rmsprop', steps: d.steps };
}
