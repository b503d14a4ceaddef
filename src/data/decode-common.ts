import { decodeBmp } from './bmp.js';
import { BadImageError } from './errors.js';
import { resizeRgb } from './resize.js';
import { describeDecodeFailure, precheckImage, type ImageFormat } from './sniff.js';
import type { ImageDecoder, ImageSize, Interpolation, RawImage } from './types.js';

/**
 * The platform-independent half of a decoder: checks the bytes, decodes BMP itself, hands other formats to the
 * platform codec, wraps failures as BadImageError(name, reason) and resizes like Pillow.
 */
export abstract class BaseImageDecoder implements ImageDecoder {
  abstract readonly id: string;

  /** Decodes a non-BMP image to full-size RGB; throws on failure (the message becomes part of the reason). */
  protected abstract decodeWithCodec(bytes: Uint8Array, format: ImageFormat): Promise<RawImage>;

  async decodeRaw(bytes: Uint8Array, name: string): Promise<RawImage> {
    const check = precheckImage(bytes);
    if ('reason' in check) throw new BadImageError(name, check.reason);
    let img: RawImage;
    try {
      img = check.format === 'bmp' ? decodeBmp(bytes) : await this.decodeWithCodec(bytes, check.format);
    } catch (e) {
      if (e instanceof BadImageError) throw e;
      throw new BadImageError(name, describeDecodeFailure(check.format, e instanceof Error ? e.message : String(e), bytes));
    }
    if (img.width < 1 || img.height < 1 || img.data.length !== img.width * img.height * 3) {
      throw new BadImageError(name, `decoder returned ${img.data.length} bytes for ${img.width}×${img.height} RGB`);
    }
    return img;
  }

  async decode(bytes: Uint8Array, name: string, size: ImageSize | null, interpolation: Interpolation): Promise<Uint8Array> {
    return resizeRgb(await this.decodeRaw(bytes, name), size, interpolation);
  }
}
