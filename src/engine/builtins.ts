import type { Engine } from './engine.js';
import type { Tensor } from './tensor.js';

/** The two kernels autograd itself needs: summing gradients that meet at one tensor. */

const WG = 64;

function addCode(n: number, inPlace: boolean): string {
  const bindings = inPlace
    ? `@group(0) @binding(0) var<storage, read_write> acc: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;`
    : `@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;`;
  const body = inPlace ? 'acc[i] = acc[i] + b[i];' : 'out[i] = a[i] + b[i];';
  return `${bindings}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * ${WG}u;
  if (i >= ${n}u) { return; }
  ${body}
}`;
}

export function grid(n: number, wg: number, maxPerDim = 65535): [number, number] {
  const groups = Math.ceil(n / wg);
  if (groups <= maxPerDim) return [groups, 1];
  const y = Math.ceil(groups / maxPerDim);
  return [Math.ceil(groups / y), y];
}

export function addTensors(engine: Engine, a: Tensor, b: Tensor): Tensor {
  if (a.size !== b.size) throw new Error(`add: sizes ${a.size} and ${b.size} differ`);
  const out = engine.empty(a.shape, 'f32', 'grad_add');
  engine.run({ name: 'grad_add', key: `grad_add:${a.size}`, code: () => addCode(a.size, false), bindings: [a, b, out], workgroups: grid(a.size, WG) });
  return out;
}

export function addInto(engine: Engine, acc: Tensor, b: Tensor): void {
  if (acc.size !== b.size) throw new Error(`accumulate: sizes ${acc.size} and ${b.size} differ`);
  engine.run({ name: 'grad_accumulate', key: `grad_accumulate:${acc.size}`, code: () => addCode(acc.size, true), bindings: [acc, b], workgroups: grid(acc.size, WG) });
}
