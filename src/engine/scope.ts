import type { Tensor } from './tensor.js';

/** Nested lifetimes for tensors: what a scope creates is disposed when it ends, except what it returns or keeps. */
export class ScopeStack {
  private readonly stack: Set<Tensor>[] = [];
  private readonly owner = new WeakMap<Tensor, Set<Tensor>>();

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
