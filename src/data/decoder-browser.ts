import { BaseImageDecoder } from './decode-common.js';
import type { ImageFormat } from './sniff.js';
import type { RawImage } from './types.js';

const MIME: Record<ImageFormat, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  bmp: 'image/bmp',
  webp: 'image/webp',
  tiff: 'image/tiff',
};

/** A canvas's RGBA pixels as RGB bytes (alpha dropped). */
export function rgbFromRgba(rgba: ArrayLike<number>): Uint8Array {
  const rgb = new Uint8Array((rgba.length / 4) * 3);
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
    rgb[i] = rgba[j]!;
    rgb[i + 1] = rgba[j + 1]!;
    rgb[i + 2] = rgba[j + 2]!;
  }
  return rgb;
}

/**
 * Decodes with the browser's codecs (createImageBitmap, EXIF orientation applied) and reads the pixels back through an
 * OffscreenCanvas; alpha is dropped. Resizing is the shared Pillow-compatible code, as in Node.
 */
export class BrowserImageDecoder extends BaseImageDecoder {
  readonly id = 'browser';

  protected async decodeWithCodec(bytes: Uint8Array, format: ImageFormat): Promise<RawImage> {
    const blob = new Blob([bytes as BlobPart], { type: MIME[format] });
    const bitmap = await createImageBitmap(blob, { imageOrientation: 'from-image', premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
    try {
      const { width, height } = bitmap;
      const canvas = new OffscreenCanvas(width, height);
      const ctx = canvas.getContext('2d', { willReadFrequently: true });
      if (!ctx) throw new Error('no 2D canvas context');
      ctx.drawImage(bitmap, 0, 0);
      return { width, height, data: rgbFromRgba(ctx.getImageData(0, 0, width, height).data) };
    } finally {
      bitmap.close();
    }
  }
}
