import { CAFFE_BGR_MEAN, IMAGENET_MEAN, IMAGENET_STD, type PreprocessMode } from '../util/preprocess.js';

/** Float64 reference of the preprocessing kernel: u8 RGB [..., 3] → normalised values in the same layout. */
export function preprocessRef(x: Uint8Array, mode: PreprocessMode): Float64Array {
  if (x.length % 3 !== 0) throw new Error(`preprocessRef: ${x.length} bytes is not a whole number of RGB pixels`);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i += 3) {
    for (let c = 0; c < 3; c++) {
      if (mode === 'rescale') out[i + c] = x[i + c]! / 255;
      else if (mode === 'imagenet') out[i + c] = (x[i + c]! / 255 - IMAGENET_MEAN[c]!) / IMAGENET_STD[c]!;
      else out[i + c] = x[i + 2 - c]! - CAFFE_BGR_MEAN[c]!;
    }
  }
  return out;
}
