/**
 * The one description of a GEMM that both GEMM kernels consume — the lanes kernel (matmul.ts: one subgroup per
 * workgroup) and the workgroup-memory tiles (gemm-tiled.ts):
 *
 *   C[b, m, n] = Σ_k A[b, m, k]·B[b, k, n]   (+ bias[n], ReLU or ReLU6), stored at out[b·batchStride + m·rowStride + offset + n]
 *
 * Each operand says where its elements are. An operand has a contiguous index (stride 1 in memory: its depth k, or
 * its x — m for A, n for B) and an outer one (the other); element (outer o, contiguous c) is `buf[base(o) + c]`. A
 * convolution's depth (or, for its filter gradient, its rows) is taps × channels, flat index (ky·KW + kx)·inner + i:
 * the inner index then stands in for that axis and the operand's base also depends on the tap. The base is WGSL in
 * two stages, `pre` (the outer index alone: a pixel's coordinates) and `at` (with the tap: the pixel the tap reaches,
 * whether it lies in the image), so the lanes kernel evaluates each where its inputs change (per workgroup, per
 * tap, per K step) while the tiled kernel's load functions evaluate both for every element. So every product's
 * index maths — matmul's, and each convolution's — is written once, in the description.
 */

/** A GEMM axis that is a convolution's taps × `inner` channels (tap = ky·KW + kx). */
export interface GemmTaps {
  axis: 'm' | 'k';
  KH: number;
  KW: number;
  inner: number;
}

/** The tap's kernel row and column, as WGSL u32 expressions. */
export interface TapVars {
  ky: string;
  kx: string;
}

export interface GemmOperand {
  /** Binding name: bound as `${name}4: array<vec4f>` when `vec`, else `${name}: array<f32>`. */
  name: string;
  /** Which index is contiguous: the depth k, or x (m for A, n for B). */
  along: 'k' | 'x';
  /** The contiguous index's extent is a multiple of 4: elements are read 4 at a time. */
  vec: boolean;
  /** WGSL lines from the outer index `o` (a u32 expression) alone; every name they define ends in `s`. */
  pre?: (o: string, s: string) => string;
  /**
   * The float index of element (o, 0): WGSL `lines` (may use `pre`'s names; names end in `s`), whether the element
   * exists (`ok`, a bool expression; absent: always — elements that do not exist read as 0) and the index `base` (a
   * u32 expression, only used where `ok`). `tap` is null when the GEMM has no taps; `b` (u32) is the batch index.
   */
  at: (o: string, s: string, tap: TapVars | null) => { lines?: string; ok?: string; base: string };
}

/** The activation a GEMM's epilogue applies: none, max(v, 0), or clamp(v, 0, 6). */
export type GemmActivation = 'linear' | 'relu' | 'relu6';

/** WGSL applying `act` to `v` of type `ty` (f32 or vec4f). */
export function activate(act: GemmActivation, v: string, ty: 'f32' | 'vec4f'): string {
  if (act === 'relu') return `max(${v}, ${ty}(0.0))`;
  if (act === 'relu6') return `clamp(${v}, ${ty}(0.0), ${ty}(6.0))`;
  return v;
}

/** The pipeline-cache key character of an activation. */
export function actKey(act: GemmActivation): string {
  return act === 'relu' ? '1' : act === 'relu6' ? '6' : '0';
}

/** Where C goes and what is applied first. */
export interface GemmStore {
  rowStride: number;
  offset?: number;
  /** Elements between consecutive batch slices (needed when batch > 1). */
  batchStride?: number;
  /** Add `bias[n]` (a binding after A and B). */
  bias: boolean;
  act: GemmActivation;
}

export interface GemmSpec {
  M: number;
  N: number;
  K: number;
  /** Independent products (the batch index b). */
  batch: number;
  taps?: GemmTaps;
  a: GemmOperand;
  b: GemmOperand;
  c: GemmStore;
}

/**
 * A row-major operand: element (o, c) at `o·rowLen + c`, one of `batch` stacked slices of `sliceSize` elements when
 * `sliceSize` is given.
 */
export function denseOperand(name: string, along: 'k' | 'x', rowLen: number, sliceSize?: number): GemmOperand {
  const slice = sliceSize ? `b * ${sliceSize}u + ` : '';
  return { name, along, vec: rowLen % 4 === 0, at: (o) => ({ base: `${slice}${o} * ${rowLen}u` }) };
}

/** The binding declaration of an operand (or of a scalar / vec4 buffer). */
export function bufferDecl(name: string, vec: boolean, access: 'read' | 'read_write' = 'read'): [string, 'read' | 'read_write', string] {
  return vec ? [`${name}4`, access, 'vec4f'] : [name, access, 'f32'];
}

/** Bindings in order: each [name, access, element type]. */
export function bindingDecls(decls: [string, 'read' | 'read_write', string][]): string {
  return decls.map(([name, access, ty], i) => `@group(0) @binding(${i}) var<storage, ${access}> ${name}: array<${ty}>;`).join('\n');
}

/** The float index of C[b, m, n] (`b` omitted for one product). */
export function storeIndex(s: GemmSpec, m: string, n: string): string {
  const c = s.c;
  const b = s.batch > 1 ? `b * ${c.batchStride ?? s.M * s.N}u + ` : '';
  return `${b}${m} * ${c.rowStride}u${c.offset ? ` + ${c.offset}u` : ''}${n ? ` + ${n}` : ''}`;
}
