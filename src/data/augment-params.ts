import type { Rng } from '../util/rng.js';

/**
 * Keras ImageDataGenerator's random affine augmentation, on the host: parameter sampling and the per-image matrix the
 * augmentation kernel applies. Coordinates are (row, column), as in Keras and scipy.ndimage.
 */
export interface AugmentConfig {
  /** Degrees: θ ~ U(−r, r). */
  rotationRange: number;
  /** Fraction of the width: column shift ~ U(−f, f)·width. */
  widthShiftRange: number;
  /** Fraction of the height: row shift ~ U(−f, f)·height. */
  heightShiftRange: number;
  /** Shear angle ~ U(−s, s), read as radians (Keras 2.0) unless `shearUnits` is 'degrees' (later Keras). */
  shearRange: number;
  shearUnits?: 'radians' | 'degrees';
  /** z gives zoom ~ U(1 − z, 1 + z); a pair gives the interval. x and y are drawn independently. */
  zoomRange: number | readonly [number, number];
  horizontalFlip: boolean;
}

/** The book's generator: rotation 40, shifts 0.2, shear 0.2, zoom 0.2, horizontal flip, fill 'nearest'. */
export const BOOK_AUGMENTATION: AugmentConfig = Object.freeze({
  rotationRange: 40,
  widthShiftRange: 0.2,
  heightShiftRange: 0.2,
  shearRange: 0.2,
  zoomRange: 0.2,
  horizontalFlip: true,
});

/** One image's transform, in Keras' terms. */
export interface AugmentParams {
  /** Rotation in degrees. */
  theta: number;
  /** Row (vertical) shift in pixels. */
  tx: number;
  /** Column (horizontal) shift in pixels. */
  ty: number;
  /** Shear angle in radians. */
  shear: number;
  /** Zoom of the row and column axes (> 1 shows a smaller, zoomed-out image). */
  zx: number;
  zy: number;
  flipHorizontal: boolean;
}

export const IDENTITY_AUGMENT: Readonly<AugmentParams> = Object.freeze({ theta: 0, tx: 0, ty: 0, shear: 0, zx: 1, zy: 1, flipHorizontal: false });

export function zoomInterval(z: AugmentConfig['zoomRange']): [number, number] {
  if (typeof z === 'number') return [1 - z, 1 + z];
  return [z[0], z[1]];
}

/** Draws one image's parameters in Keras' order (θ, tx, ty, shear, zx, zy, flip), skipping disabled ranges. */
export function sampleAugmentParams(rng: Rng, cfg: AugmentConfig, height: number, width: number): AugmentParams {
  const theta = cfg.rotationRange ? rng.uniform(-cfg.rotationRange, cfg.rotationRange) : 0;
  const tx = cfg.heightShiftRange ? rng.uniform(-cfg.heightShiftRange, cfg.heightShiftRange) * height : 0;
  const ty = cfg.widthShiftRange ? rng.uniform(-cfg.widthShiftRange, cfg.widthShiftRange) * width : 0;
  let shear = cfg.shearRange ? rng.uniform(-cfg.shearRange, cfg.shearRange) : 0;
  if (cfg.shearUnits === 'degrees') shear = (shear * Math.PI) / 180;
  const [z0, z1] = zoomInterval(cfg.zoomRange);
  let zx = 1;
  let zy = 1;
  if (z0 !== 1 || z1 !== 1) {
    zx = rng.uniform(z0, z1);
    zy = rng.uniform(z0, z1);
  }
  const flipHorizontal = cfg.horizontalFlip ? rng.next() < 0.5 : false;
  return { theta, tx, ty, shear, zx, zy, flipHorizontal };
}

type M3 = [number, number, number, number, number, number, number, number, number];

function mul(a: M3, b: M3): M3 {
  const r = new Array(9).fill(0) as M3;
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) r[i * 3 + j] = a[i * 3]! * b[j]! + a[i * 3 + 1]! * b[3 + j]! + a[i * 3 + 2]! * b[6 + j]!;
  return r;
}

/**
 * The 2×3 matrix [a00, a01, a02, a10, a11, a12] taking an output pixel (row, col) to the input point it samples:
 * Keras' apply_affine_transform (rotation · shift · shear · zoom, moved to the centre (h/2 + 0.5, w/2 + 0.5) as
 * transform_matrix_offset_center does), followed by the horizontal flip (output column c reads column w − 1 − c).
 */
export function augmentParamsToMatrix(p: AugmentParams, height: number, width: number): Float64Array {
  const t = (p.theta * Math.PI) / 180;
  const rot: M3 = [Math.cos(t), -Math.sin(t), 0, Math.sin(t), Math.cos(t), 0, 0, 0, 1];
  const shift: M3 = [1, 0, p.tx, 0, 1, p.ty, 0, 0, 1];
  const shear: M3 = [1, -Math.sin(p.shear), 0, 0, Math.cos(p.shear), 0, 0, 0, 1];
  const zoom: M3 = [p.zx, 0, 0, 0, p.zy, 0, 0, 0, 1];
  const ox = height / 2 + 0.5;
  const oy = width / 2 + 0.5;
  const toCentre: M3 = [1, 0, ox, 0, 1, oy, 0, 0, 1];
  const fromCentre: M3 = [1, 0, -ox, 0, 1, -oy, 0, 0, 1];
  let m = mul(mul(toCentre, mul(mul(mul(rot, shift), shear), zoom)), fromCentre);
  if (p.flipHorizontal) m = mul(m, [1, 0, 0, 0, -1, width - 1, 0, 0, 1]);
  return Float64Array.from([m[0], m[1], m[2], m[3], m[4], m[5]]);
}

/** Per-image parameters and matrices for a batch of `n` images: one upload of n×6 floats for the augment kernel. */
export function sampleAugmentBatch(rng: Rng, cfg: AugmentConfig, n: number, height: number, width: number): { params: AugmentParams[]; matrices: Float32Array } {
  const params: AugmentParams[] = [];
  const matrices = new Float32Array(n * 6);
  for (let i = 0; i < n; i++) {
    const p = sampleAugmentParams(rng, cfg, height, width);
    params.push(p);
    matrices.set(augmentParamsToMatrix(p, height, width), i * 6);
  }
  return { params, matrices };
}
