/** Helpers shared by the WGSL generators. Kernels bake shapes in as constants; these format them. */
export { grid } from '../engine/builtins.js';

/** 0, 1, …, n − 1: the generators unroll loops over these. */
export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** A WGSL f32 literal that round-trips the number (integers get a trailing `.0`). */
export function f32(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`non-finite constant ${x} in a kernel`);
  const s = String(Math.fround(x));
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

/** The flat invocation index for a 2-D grid made by `grid(n, wg)`. Declare `nwg: vec3u` as @builtin(num_workgroups). */
export function flatIndex(wg: number): string {
  return `gid.x + gid.y * nwg.x * ${wg}u`;
}

/** The standard entry-point signature for a 1-D kernel over a grid made by `grid(n, wg)`. */
export function entry1d(wg: number): string {
  return `@compute @workgroup_size(${wg})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u)`;
}
