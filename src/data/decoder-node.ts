import sharp from 'sharp';
import { BaseImageDecoder } from './decode-common.js';
import type { ImageFormat } from './sniff.js';
import type { RawImage } from './types.js';

/**
 * Decodes with sharp (libvips) at full size; resizing is done by the shared Pillow-compatible code. Strict: any decoder
 * warning (truncated or damaged data) fails the file. EXIF orientation is applied; grey, palette and alpha images are
 * converted to RGB as Pillow's convert('RGB') does (alpha dropped), CMYK with Pillow's formula
 * (R = (255 − C)(255 − K)/255) rather than a colour-managed transform, so pixels match what Keras would see.
 */
export class SharpImageDecoder extends BaseImageDecoder {
  readonly id = 'sharp';
  private readonly failOn: 'warning' | 'error' | 'truncated';

  /**
   * `failOn` 'warning' (default) rejects any damaged data; 'truncated' accepts recoverable damage (as Pillow does,
   * e.g. extraneous bytes inside a JPEG) but still rejects files that end early; 'error' only rejects what cannot decode.
   */
  constructor(options: { failOn?: 'warning' | 'error' | 'truncated' } = {}) {
    super();
    this.failOn = options.failOn ?? 'warning';
  }

  protected async decodeWithCodec(bytes: Uint8Array, _format: ImageFormat): Promise<RawImage> {
    const failOn = this.failOn;
    const input = () => sharp(bytes, { failOn, animated: false, pages: 1 }).rotate();
    const meta = await sharp(bytes, { failOn }).metadata();
    if (meta.space === 'cmyk') {
      const { data, info } = await input().pipelineColourspace('cmyk').toColourspace('cmyk').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
      if (info.channels !== 4) throw new Error(`CMYK decode gave ${info.channels} channels`);
      return { width: info.width, height: info.height, data: cmykToRgb(data) };
    }
    const { data, info } = await input().removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decode gave ${info.channels} channels instead of 3`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  }
}

/** Pillow's cmyk2rgb: R = (255 − K) − C·(255 − K)/255 with its rounding division by 255. */
function cmykToRgb(cmyk: Uint8Array): Uint8Array {
  const n = cmyk.length / 4;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const nk = 255 - cmyk[i * 4 + 3]!;
    for (let c = 0; c < 3; c++) {
      const t = cmyk[i * 4 + c]! * nk + 128;
      const v = nk - (((t >> 8) + t) >> 8);
      out[i * 3 + c] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return out;
}
