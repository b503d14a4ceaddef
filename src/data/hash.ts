/** Hex SHA-256 of file bytes through Web Crypto (in Node ≥ 20 and browsers alike): the pixel-cache key. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new Error('Web Crypto (crypto.subtle) is not available: the pixel cache needs SHA-256 (in a browser, serve the page over https or localhost)');
  const digest = new Uint8Array(await subtle.digest('SHA-256', bytes as BufferSource));
  let s = '';
  for (const b of digest) s += b.toString(16).padStart(2, '0');
  return s;
}
