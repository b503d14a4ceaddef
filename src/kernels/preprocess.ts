// u8 RGB images (NHWC, packed four bytes per u32 word) → f32 NHWC, normalised for a backbone (the modes: util/preprocess.ts).
import type { Engine, Tensor } from '../engine/index.js';
import { CAFFE_BGR_MEAN, IMAGENET_MEAN, IMAGENET_STD, RESCALE, type PreprocessMode } from '../util/preprocess.js';
import { entry1d, f32, flatIndex, grid } from './common.js';

export type { PreprocessMode };

const WG = 256;

const NAMES: Record<PreprocessMode, string> = { rescale: 'preprocess_rescale', imagenet: 'preprocess_imagenet', caffe: 'preprocess_caffe' };

/** Per output channel: which input channel it reads, and (x·scale − offset) / div applied to it. */
export function preprocessChannels(mode: PreprocessMode): { source: number; scale: number; offset: number; div: number }[] {
  switch (mode) {
    case 'rescale':
      return [0, 1, 2].map((c) => ({ source: c, scale: RESCALE, offset: 0, div: 1 }));
    case 'imagenet':
      return [0, 1, 2].map((c) => ({ source: c, scale: RESCALE, offset: IMAGENET_MEAN[c]!, div: IMAGENET_STD[c]! }));
    case 'caffe':
      return [0, 1, 2].map((c) => ({ source: 2 - c, scale: 1, offset: CAFFE_BGR_MEAN[c]!, div: 1 }));
  }
}

export function preprocessCode(size: number, mode: PreprocessMode): string {
  const ch = preprocessChannels(mode);
  const pick = (f: (c: (typeof ch)[number]) => string) => `select(select(${f(ch[2]!)}, ${f(ch[1]!)}, c == 1u), ${f(ch[0]!)}, c == 0u)`;
  return `@group(0) @binding(0) var<storage, read> X: array<u32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
${entry1d(WG)} {
  let i = ${flatIndex(WG)};
  if (i >= ${size}u) { return; }
  let c = i % 3u;
  let src = i - c + ${pick((k) => `${k.source}u`)};
  let v = f32((X[src >> 2u] >> ((src & 3u) * 8u)) & 255u);
  Y[i] = (v * ${pick((k) => f32(k.scale))} - ${pick((k) => f32(k.offset))}) / ${pick((k) => f32(k.div))};
}`;
}

/** Converts a u8 [..., 3] tensor (e.g. [N, H, W, 3]) to f32 of the same shape, written into `out` when given. */
export function preprocess(e: Engine, x: Tensor, mode: PreprocessMode, out?: Tensor): Tensor {
  if (x.dtype !== 'u8') throw new Error(`preprocess: input must be u8, got ${x.dtype}`);
  if (x.shape[x.shape.length - 1] !== 3) throw new Error(`preprocess: last dimension must be 3 (RGB), shape is [${x.shape.join(', ')}]`);
  const y = out ?? e.empty(x.shape, 'f32', 'preprocess');
  if (y.dtype !== 'f32' || y.size !== x.size) throw new Error(`preprocess: output must be f32 with ${x.size} elements`);
  e.run({ name: NAMES[mode], key: `preprocess:${x.size},${mode}`, code: () => preprocessCode(x.size, mode), bindings: [x, y], workgroups: grid(x.size, WG) });
  return y;
}
