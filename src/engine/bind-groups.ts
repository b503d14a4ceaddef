import type { Tensor } from './tensor.js';

interface Node {
  /** Next binding: its buffer (held weakly), then its bound size. */
  next: WeakMap<GPUBuffer, Map<number, Node>>;
  group?: GPUBindGroup;
}

/**
 * Bind groups by (layout, buffers, sizes). Creating one costs Dawn ~70 µs of host time, more than the rest of an
 * eager dispatch; the buffer pool hands out the same buffers step after step, so an eager step finds its bind groups
 * here from the second step on. Keyed weakly: entries go with their buffers.
 */
export class BindGroupCache {
  private readonly roots = new WeakMap<GPUBindGroupLayout, Node>();
  hits = 0;
  misses = 0;

  constructor(private readonly device: GPUDevice) {}

  get(layout: GPUBindGroupLayout, bindings: readonly Tensor[], params: GPUBuffer | null, label: string): GPUBindGroup {
    let node = this.roots.get(layout);
    if (!node) this.roots.set(layout, (node = { next: new WeakMap() }));
    for (const t of bindings) node = step(node, t.storage.buffer, t.storage.bytes);
    if (params) node = step(node, params, params.size);
    if (node.group) {
      this.hits++;
      return node.group;
    }
    this.misses++;
    const entries: GPUBindGroupEntry[] = bindings.map((t, i) => ({ binding: i, resource: { buffer: t.storage.buffer, size: t.storage.bytes } }));
    if (params) entries.push({ binding: bindings.length, resource: { buffer: params, size: params.size } });
    node.group = this.device.createBindGroup({ layout, entries, label });
    return node.group;
  }
}

function step(node: Node, buffer: GPUBuffer, size: number): Node {
  let bySize = node.next.get(buffer);
  if (!bySize) node.next.set(buffer, (bySize = new Map()));
  let next = bySize.get(size);
  if (!next) bySize.set(size, (next = { next: new WeakMap() }));
  return next;
}
