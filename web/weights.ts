import { parseSafetensors } from '../src/formats/safetensors.js';
import type { NamedArrays } from '../src/formats/types.js';

export interface WeightsEntry {
  name: string;
  source: 'file' | 'npy';
  bytes: number | null;
}

export async function listServerWeights(): Promise<WeightsEntry[]> {
  const res = await fetch('api/weights');
  if (!res.ok) throw new Error(`api/weights: HTTP ${res.status}`);
  return (await res.json()) as WeightsEntry[];
}

/** Downloads `<name>.safetensors` from this machine's server, reporting progress, and parses it in the tab. */
export async function fetchWeights(name: string, onProgress?: (loaded: number, total: number | null) => void): Promise<{ tensors: NamedArrays; metadata: Record<string, string>; bytes: number }> {
  const url = `api/weights/${encodeURIComponent(name)}.safetensors`;
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text().catch(() => '')}`.trim());
  const total = Number(res.headers.get('content-length')) || null;
  let bytes: Uint8Array;
  if (res.body && onProgress) {
    const reader = res.body.getReader();
    const chunks: Uint8Array[] = [];
    let loaded = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      loaded += value.byteLength;
      onProgress(loaded, total);
    }
    bytes = new Uint8Array(loaded);
    let o = 0;
    for (const c of chunks) {
      bytes.set(c, o);
      o += c.byteLength;
    }
  } else {
    bytes = new Uint8Array(await res.arrayBuffer());
  }
  const { tensors, metadata } = parseSafetensors(bytes, `${name}.safetensors`);
  return { tensors, metadata, bytes: bytes.byteLength };
}
