import type { Tensor } from './tensor.js';

/** Nested lifetimes for tensors: what a scope creates is disposed when it ends, except what it returns or keeps. */
export class ScopeStack {
  private readonly stack: Set<Tensor>[] = [];
  private readonly owner = new WeakMap<Tensor, Set<Tensor>>();

  /** `onOutermostEnd` runs whenever the last open scope ends (the engine prunes its tape then). */
  constructor(private readonly onOutermostEnd: () => void = () => {}) {}

  get depth(): number {
    return this.stack.length;
  }

  track(t: Tensor): void {
    const top = this.stack[this.stack.length - 1];
    if (!top) return;
    top.add(t);
    this.owner.set(t, top);
  }

  untrack(t: Tensor): void {
    this.owner.get(t)?.delete(t);
    this.owner.delete(t);
  }

  keep(t: Tensor): void {
    this.untrack(t);
  }

  /** Runs `fn` in a new scope: disposes every tensor it created except those it returns (in arrays/objects) or kept. */
  tidy<T>(fn: () => T): T {
    this.push();
    let result: T;
    try {
      result = fn();
    } catch (e) {
      this.end(undefined);
      throw e;
    }
    this.end(result);
    return result;
  }

  async tidyAsync<T>(fn: () => Promise<T>): Promise<T> {
    this.push();
    let result: T;
    try {
      result = await fn();
    } catch (e) {
      this.end(undefined);
      throw e;
    }
    this.end(result);
    return result;
  }

  private end(result: unknown): void {
    this.pop(result);
    if (this.depth === 0) this.onOutermostEnd();
  }

  push(): void {
    this.stack.push(new Set());
  }

  pop(result: unknown): void {
    const scope = this.stack.pop();
    if (!scope) throw new Error('scope stack underflow');
    const survivors = new Set<Tensor>();
    collectTensors(result, survivors, 0);
    const parent = this.stack[this.stack.length - 1];
    for (const t of [...scope]) {
      if (survivors.has(t)) {
        scope.delete(t);
        if (parent) {
          parent.add(t);
          this.owner.set(t, parent);
        } else this.owner.delete(t);
      } else t.dispose();
    }
  }
}

function isTensor(v: unknown): v is Tensor {
  return typeof v === 'object' && v !== null && 'storage' in v && 'shape' in v && typeof (v as Tensor).dispose === 'function';
}

function collectTensors(v: unknown, out: Set<Tensor>, depth: number): void {
  if (depth > 4 || v === null || typeof v !== 'object') return;
  if (isTensor(v)) {
    out.add(v);
    return;
  }
  if (Array.isArray(v)) for (const x of v) collectTensors(x, out, depth + 1);
  else if (v instanceof Map) for (const x of v.values()) collectTensors(x, out, depth + 1);
  else if (Object.getPrototypeOf(v) === Object.prototype) for (const x of Object.values(v)) collectTensors(x, out, depth + 1);
}
