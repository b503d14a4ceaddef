import type { Engine } from './engine.js';

/**
 * A named piece of per-engine state that a kernel family keeps (caches of adapter-specific choices, the Winograd
 * filter transforms, tuning results). The engine owns one value per slot, created on first use by `init`; kernels
 * reach it through `engine.state(slot)`, so nothing of theirs hides in module-level maps and every value dies with
 * its engine.
 */
export interface StateSlot<T> {
  readonly name: string;
  readonly init: (engine: Engine) => T;
}

export function stateSlot<T>(name: string, init: (engine: Engine) => T): StateSlot<T> {
  return { name, init };
}

/** The values of every slot an engine has used. */
export class EngineStates {
  private readonly values = new Map<StateSlot<unknown>, unknown>();

  get<T>(slot: StateSlot<T>, engine: Engine): T {
    if (this.values.has(slot)) return this.values.get(slot) as T;
    const value = slot.init(engine);
    this.values.set(slot, value);
    return value;
  }

  /** Names of the slots in use (diagnostics). */
  get names(): string[] {
    return [...this.values.keys()].map((s) => s.name);
  }
}
