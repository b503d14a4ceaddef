/** Recognises image formats by their first bytes, so a bad file gets a precise reason before any decoder runs. */

export type ImageFormat = 'jpeg' | 'png' | 'gif' | 'bmp' | 'webp' | 'tiff';

/** File-name extensions accepted as images (compared lower-case, as Keras does). */
export const IMAGE_EXTENSIONS = ['jpg', 'jpeg', 'png', 'bmp', 'gif', 'webp', 'tif', 'tiff'] as const;

export function hasImageExtension(name: string): boolean {
  const lower = name.toLowerCase();
  return IMAGE_EXTENSIONS.some((ext) => lower.endsWith(`.${ext}`));
}

function startsWith(b: Uint8Array, sig: readonly number[], at = 0): boolean {
  if (b.length < at + sig.length) return false;
  for (let i = 0; i < sig.length; i++) if (b[at + i] !== sig[i]) return false;
  return true;
}

export function sniffImageFormat(b: Uint8Array): ImageFormat | null {
  if (startsWith(b, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (startsWith(b, [0x47, 0x49, 0x46, 0x38])) return 'gif';
  if (startsWith(b, [0x42, 0x4d])) return 'bmp';
  if (startsWith(b, [0x52, 0x49, 0x46, 0x46]) && startsWith(b, [0x57, 0x45, 0x42, 0x50], 8)) return 'webp';
  if (startsWith(b, [0x49, 0x49, 0x2a, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  return null;
}

/** The first bytes of a file, printable characters as themselves, for error messages. */
function preview(b: Uint8Array): string {
  const head = b.subarray(0, 12);
  const text = Array.from(head, (c) => (c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.')).join('');
  return text;
}

/** Why `bytes` cannot be an image at all (empty, or no known signature); null when a decoder should try it. */
export function precheckImage(bytes: Uint8Array): { format: ImageFormat } | { reason: string } {
  if (bytes.length === 0) return { reason: 'empty file (0 bytes)' };
  const format = sniffImageFormat(bytes);
  if (!format) return { reason: `not an image: content is not JPEG, PNG, GIF, BMP, WebP or TIFF (starts with "${preview(bytes)}")` };
  return { format };
}

/** Words for a decoder failure: truncated when the decoder ran out of data, otherwise corrupt. */
export function describeDecodeFailure(format: ImageFormat, message: string, bytes?: Uint8Array): string {
  const first = message.split('\n')[0]!.trim();
  const label = format === 'jpeg' ? 'JPEG' : format === 'tiff' ? 'TIFF' : format === 'webp' ? 'WebP' : format.toUpperCase();
  // Decoders word the same cut-off file differently (libvips may only say "warning treated as error"): a JPEG
  // without its end-of-image marker ran out of data.
  if (format === 'jpeg' && bytes && !hasJpegEnd(bytes)) return `truncated ${label} file (${first}; no end-of-image marker)`;
  // "premature end of data segment" is damage inside a JPEG that still has its end marker: corrupt, not truncated.
  if (/premature end of (JPEG )?(image|file)|truncat|unexpected end of (file|stream)|not enough data|read error|too short|incomplete/i.test(message)) {
    return `truncated ${label} file (${first})`;
  }
  return `corrupt ${label} file (${first})`;
}

function hasJpegEnd(bytes: Uint8Array): boolean {
  // Some writers pad after EOI, so look for FF D9 near the end rather than only in the last two bytes.
  for (let i = bytes.length - 2; i >= Math.max(0, bytes.length - 64); i--) if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return true;
  return false;
}
