// The VGG16 convolutional base at the recipe's 150×150 input: layer names, shapes and costs, and one set of
// random Glorot weights shared by every implementation and every case that needs them.
import { bias, heUniform, lazy } from '../host-data.js';

export const INPUT = 150;

export interface ConvLayer {
  name: string;
  block: number;
  /** Input (= output, 'same' padding) height and width. */
  size: number;
  cin: number;
  cout: number;
}

const CHANNELS: [number, number[]][] = [
  [1, [64, 64]],
  [2, [128, 128]],
  [3, [256, 256, 256]],
  [4, [512, 512, 512]],
  [5, [512, 512, 512]],
];

/** The 13 conv layers in order; each block ends with a 2×2 stride-2 max-pool (floor). */
export const VGG16_CONVS: ConvLayer[] = (() => {
  const out: ConvLayer[] = [];
  let size = INPUT;
  let cin = 3;
  for (const [block, couts] of CHANNELS) {
    couts.forEach((cout, i) => {
      out.push({ name: `block${block}_conv${i + 1}`, block, size, cin, cout });
      cin = cout;
    });
    size = Math.floor(size / 2);
  }
  return out;
})();

/** Spatial size after the base: 150 → 75 → 37 → 18 → 9 → 4. */
export const OUTPUT_SIZE = VGG16_CONVS.reduce((s, l, i, all) => (all[i + 1]?.block !== l.block ? Math.floor(s / 2) : s), INPUT);

export function convFlops(l: ConvLayer, batch: number): number {
  return 2 * batch * l.size * l.size * l.cout * 9 * l.cin;
}

/** Forward FLOPs of the whole base per image (13 convs; pools and bias/ReLU not counted). */
export const BASE_FLOPS_PER_IMAGE = VGG16_CONVS.reduce((a, l) => a + convFlops(l, 1), 0);

/** The distinct conv shapes, each named after its first layer, with the layers sharing it. */
export function distinctConvs(): { layer: ConvLayer; same: string[] }[] {
  const seen = new Map<string, { layer: ConvLayer; same: string[] }>();
  for (const l of VGG16_CONVS) {
    const key = `${l.size}x${l.cin}x${l.cout}`;
    const hit = seen.get(key);
    if (hit) hit.same.push(l.name);
    else seen.set(key, { layer: l, same: [] });
  }
  return [...seen.values()];
}

export interface ConvWeights {
  w: Float32Array; // HWIO [3, 3, cin, cout]
  b: Float32Array;
}

/** He-uniform kernels (see heUniform) and small random biases for all 13 layers, by layer name (≈59 MB, made once). */
export const vggWeights = lazy(() => {
  const m = new Map<string, ConvWeights>();
  VGG16_CONVS.forEach((l, i) => m.set(l.name, { w: heUniform([3, 3, l.cin, l.cout], 1000 + i), b: bias(l.cout, 2000 + i) }));
  return m;
});

export function weightsOf(name: string): ConvWeights {
  const w = vggWeights().get(name);
  if (!w) throw new Error(`no VGG16 layer ${name}`);
  return w;
}

/** The largest single activation of the base at this batch, in bytes (block1's 150×150×64 output). */
export function largestActivationBytes(batch: number): number {
  return 4 * batch * Math.max(...VGG16_CONVS.map((l) => l.size * l.size * l.cout));
}
