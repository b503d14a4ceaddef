// Digests through Web Crypto (globalThis.crypto.subtle), available in Node ≥ 20 and in browsers.
import type { NamedArrays } from './types.js';
import { dtypeOf, tensorBytes } from './tensor.js';

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new Error('Web Crypto (crypto.subtle) is not available in this environment');
  return s;
}

function hex(buf: ArrayBuffer): string {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function digest(alg: 'SHA-1' | 'SHA-256', bytes: Uint8Array): Promise<string> {
  return hex(await subtle().digest(alg, bytes as Uint8Array<ArrayBuffer>));
}

/** Lowercase hex SHA-256 of bytes. */
export function sha256Hex(bytes: Uint8Array): Promise<string> {
  return digest('SHA-256', bytes);
}

/** Lowercase hex SHA-1 of bytes. */
export function sha1Hex(bytes: Uint8Array): Promise<string> {
  return digest('SHA-1', bytes);
}

/** Git's blob id: SHA-1 of `blob <size>\0` followed by the bytes. */
export function gitBlobSha1(bytes: Uint8Array): Promise<string> {
  const head = new TextEncoder().encode(`blob ${bytes.length}\0`);
  const all = new Uint8Array(head.length + bytes.length);
  all.set(head);
  all.set(bytes, head.length);
  return digest('SHA-1', all);
}

/**
 * SHA-256 of a set of tensors independent of file format and tensor order: over the tensors sorted by name,
 * each contributes `name\0dtype\0d0,d1,…\0` and then its little-endian data bytes.
 */
export function tensorsSha256(tensors: NamedArrays): Promise<string> {
  const enc = new TextEncoder();
  const names = [...tensors.keys()].sort();
  const parts: Uint8Array[] = [];
  for (const name of names) {
    const t = tensors.get(name)!;
    parts.push(enc.encode(`${name}\0${dtypeOf(t)}\0${t.shape.join(',')}\0`), tensorBytes(t));
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const all = new Uint8Array(total);
  let pos = 0;
  for (const p of parts) {
    all.set(p, pos);
    pos += p.length;
  }
  return digest('SHA-256', all);
}
