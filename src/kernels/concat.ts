import type { Engine, Tensor } from '../engine/index.js';
import { entry1d, flatIndex, grid } from './common.js';

/** Concatenation on the last (channel) axis of NHWC tensors, and its backward: channel slices. */

const WG = 64;

/** Channel counts and the number of positions (N·H·W) shared by every input; throws when the leading dims differ. */
export function concatLayout(shapes: readonly (readonly number[])[]): { positions: number; channels: number[]; total: number } {
  if (shapes.length === 0) throw new Error('concatChannels: no inputs');
  const lead = shapes[0]!.slice(0, -1);
  for (const s of shapes) {
    if (s.length !== lead.length + 1 || s.slice(0, -1).some((d, i) => d !== lead[i])) {
      throw new Error(`concatChannels: shapes ${shapes.map((t) => `[${t.join(', ')}]`).join(', ')} differ outside the last axis`);
    }
  }
  const channels = shapes.map((s) => s[s.length - 1]!);
  return { positions: lead.reduce((a, d) => a * d, 1), channels, total: channels.reduce((a, c) => a + c, 0) };
}

function concatCode(positions: number, channels: number[], total: number): string {
  const decls = channels.map((_, k) => `@group(0) @binding(${k}) var<storage, read> x${k}: array<f32>;`).join('\n');
  let branches = '';
  let offset = 0;
  channels.forEach((ck, k) => {
    const end = offset + ck;
    const read = `x${k}[p * ${ck}u + c - ${offset}u]`;
    branches += k === channels.length - 1 ? `{ v = ${read}; }` : `if (c < ${end}u) { v = ${read}; } else `;
    offset = end;
  });
  return `${decls}
@group(0) @binding(${channels.length}) var<storage, read_write> out: array<f32>;
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${positions * total}u) { return; }
  let p = i / ${total}u;
  let c = i % ${total}u;
  var v = 0.0;
  ${branches}
  out[i] = v;
}`;
}

export function concatChannelsForward(e: Engine, xs: Tensor[], out?: Tensor): Tensor {
  const { positions, channels, total } = concatLayout(xs.map((x) => x.shape));
  const shape = [...xs[0]!.shape.slice(0, -1), total];
  const y = out ?? e.empty(shape, 'f32', 'concat');
  if (y.size !== positions * total) throw new Error('concatChannels: output has the wrong size');
  if (xs.length < e.device.limits.maxStorageBuffersPerShaderStage) {
    e.run({ name: 'concat_fwd', key: `concat_fwd:${positions},${channels.join(',')}`, code: () => concatCode(positions, channels, total), bindings: [...xs, y], workgroups: grid(y.size, WG) });
    return y;
  }
  // More inputs than one shader may bind: place them one at a time.
  let offset = 0;
  xs.forEach((x, k) => {
    const ck = channels[k]!;
    const at = offset;
    e.run({ name: 'concat_place', key: `concat_place:${positions},${total},${at},${ck}`, code: () => placeCode(positions, total, at, ck), bindings: [x, y], workgroups: grid(x.size, WG) });
    offset += ck;
  });
  return y;
}

function placeCode(positions: number, total: number, offset: number, count: number): string {
  return `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${positions * count}u) { return; }
  out[(i / ${count}u) * ${total}u + ${offset}u + i % ${count}u] = x[i];
}`;
}

function sliceCode(positions: number, total: number, offset: number, count: number): string {
  return `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${positions * count}u) { return; }
  out[i] = x[(i / ${count}u) * ${total}u + ${offset}u + i % ${count}u];
}`;
}

/** Channels [offset, offset + count) of an NHWC tensor: the gradient of one concatenated input. */
export function sliceChannels(e: Engine, x: Tensor, offset: number, count: number, out?: Tensor): Tensor {
  const total = x.shape[x.rank - 1]!;
  if (offset < 0 || count < 1 || offset + count > total) throw new Error(`sliceChannels: [${offset}, ${offset + count}) outside ${total} channels`);
  const positions = x.size / total;
  const y = out ?? e.empty([...x.shape.slice(0, -1), count], 'f32', 'channel_slice');
  e.run({ name: 'concat_bwd_slice', key: `concat_slice:${positions},${total},${offset},${count}`, code: () => sliceCode(positions, total, offset, count), bindings: [x, y], workgroups: grid(y.size, WG) });
  return y;
}
