// Fuzz driver for the weight-format parsers, run in a worker thread (bundled by test/fuzz-formats.test.ts) so
// the test can stop it and name the case if a parser ever hangs or exhausts memory.
// Each case mutates a valid seed file (bit flips, byte edits, truncation, extension, word overwrites, header
// edits, random bytes) with a seeded RNG and feeds it to the parser; the outcome must be a well-formed result
// or a WeightFormatError.
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { parseKerasH5, writeKerasH5 } from '../../src/formats/keras-h5.js';
import { parseNpy, writeNpy } from '../../src/formats/npy.js';
import { parseSafetensors, writeSafetensors } from '../../src/formats/safetensors.js';
import { numel } from '../../src/formats/tensor.js';
import { loadTfjsLayers, parseTfjsModelJson } from '../../src/formats/tfjs-layers.js';
import { type HostTensor, type NamedArrays, WeightFormatError } from '../../src/formats/types.js';
import { Rng } from '../../src/util/rng.js';

export type FuzzKind = 'safetensors' | 'npy' | 'tfjs-manifest' | 'keras-h5';

export interface FuzzJob {
  kind: FuzzKind;
  seed: number;
  count: number;
  /** Path of a real model.json to use as an extra seed (optional). */
  realModelJson?: string;
}

export type FuzzMessage =
  | { type: 'progress'; kind: FuzzKind; index: number }
  | { type: 'escape'; kind: FuzzKind; index: number; mutation: string; error: string }
  | { type: 'done'; kind: FuzzKind; ok: number; rejected: number; seedStillParses: boolean; ms: number };

const enc = new TextEncoder();

function checkResult(tensors: NamedArrays): void {
  for (const [name, t] of tensors) {
    if (t.data.length !== numel(t.shape)) throw new Error(`result tensor '${name}' has ${t.data.length} values for shape [${t.shape.join(', ')}]`);
  }
}

// ---- seeds -------------------------------------------------------------------------------------------------

const small = (shape: number[], k: number): HostTensor => ({
  shape,
  data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(k + i)),
});

function safetensorsSeeds(): Uint8Array[] {
  return [
    writeSafetensors(
      new Map<string, HostTensor>([
        ['conv/kernel', small([3, 3, 2, 4], 1)],
        ['conv/bias', small([4], 2)],
        ['ids', { shape: [3], data: new Int32Array([1, -2, 3]) }],
        ['mask', { shape: [2, 2], data: new Uint8Array([0, 1, 1, 0]) }],
        ['big', { shape: [2], data: new BigInt64Array([5n, -5n]) }],
      ]),
      { source: 'fuzz', format: 'pt' },
    ),
    writeSafetensors(new Map([['x', small([5], 3)]])),
  ];
}

function npySeeds(): Uint8Array[] {
  return [
    writeNpy(small([2, 3, 4], 4)),
    writeNpy({ shape: [3], data: new Int32Array([7, 8, 9]) }),
    writeNpy({ shape: [], data: new Uint8Array([1]) }),
    writeNpy({ shape: [2, 1], data: new BigInt64Array([1n, 2n]) }),
  ];
}

function manifestSeeds(realModelJson?: string): Uint8Array[] {
  const synthetic = enc.encode(
    JSON.stringify({
      format: 'layers-model',
      weightsManifest: [
        {
          paths: ['s1.bin', 's2.bin'],
          weights: [
            { name: 'a/kernel', shape: [2, 3], dtype: 'float32' },
            { name: 'a/bias', shape: [3], dtype: 'float32' },
            { name: 'i', shape: [1], dtype: 'int32' },
          ],
        },
        { paths: ['q.bin'], weights: [{ name: 'q', shape: [4], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.1, min: -1 } }] },
      ],
    }),
  );
  const seeds = [synthetic];
  if (realModelJson) seeds.push(new Uint8Array(readFileSync(realModelJson)));
  return seeds;
}

/** Shards for the synthetic manifest (one missing, so partial placement is exercised too). */
const SHARDS = new Map<string, Uint8Array>([
  ['s1.bin', new Uint8Array(24).map((_, i) => i * 7)],
  ['q.bin', new Uint8Array([0, 10, 20, 255])],
]);

async function h5Seeds(): Promise<Uint8Array[]> {
  const t: NamedArrays = new Map([
    ['c1/kernel', small([3, 3, 1, 2], 5)],
    ['c1/bias', small([2], 6)],
    ['d/kernel', small([4, 2], 7)],
  ]);
  return [await writeKerasH5(t, ['input_1', 'c1', 'pool', 'd'], { style: 'keras1' }), await writeKerasH5(t, ['c1', 'd'], { style: 'keras2' })];
}

// ---- mutations ---------------------------------------------------------------------------------------------

const EXTREMES = [0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];

/** JSON-aware edit: replace one value somewhere in the tree, or drop a key. */
function editJson(value: unknown, rng: Rng): unknown {
  const wild = (): unknown =>
    [
      () => rng.int(1 << 20),
      () => -1 - rng.int(100),
      () => 2 ** 53 + rng.int(10),
      () => 1e300,
      () => 0.5,
      () => 'F32',
      () => 'x'.repeat(rng.int(8)),
      () => null,
      () => [],
      () => [rng.int(5), rng.int(5)],
      () => ({}),
      () => true,
    ][rng.int(12)]!();
  const paths: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach((x, i) => (paths.push({ parent: v, key: i }), walk(x)));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths.push({ parent: v as Record<string, unknown>, key: k }), walk(x);
  };
  const copy = JSON.parse(JSON.stringify(value)) as unknown;
  walk(copy);
  if (!paths.length) return wild();
  const p = paths[rng.int(paths.length)]!;
  if (!Array.isArray(p.parent) && rng.next() < 0.2) delete (p.parent as Record<string, unknown>)[p.key as string];
  else (p.parent as Record<string | number, unknown>)[p.key] = wild();
  return copy;
}

function headerEdit(kind: FuzzKind, seed: Uint8Array, rng: Rng): Uint8Array {
  if (kind === 'safetensors') {
    const len = new DataView(seed.buffer, seed.byteOffset).getUint32(0, true);
    const header = JSON.parse(new TextDecoder().decode(seed.subarray(8, 8 + len))) as unknown;
    const json = enc.encode(JSON.stringify(editJson(header, rng)));
    const data = seed.subarray(8 + len);
    const out = new Uint8Array(8 + json.length + data.length);
    // Usually a consistent length prefix, sometimes the stale one.
    new DataView(out.buffer).setUint32(0, rng.next() < 0.8 ? json.length : len, true);
    out.set(json, 8);
    out.set(data, 8 + json.length);
    return out;
  }
  if (kind === 'tfjs-manifest') return enc.encode(JSON.stringify(editJson(JSON.parse(new TextDecoder().decode(seed)), rng)));
  if (kind === 'npy') {
    // Edit one character of the dict text; keep the length field.
    const out = seed.slice();
    const hlen = new DataView(out.buffer).getUint16(8, true);
    const alphabet = "(),:' 0123456789TrueFals<>|fiu8{}L\"x";
    const n = 1 + rng.int(3);
    for (let k = 0; k < n; k++) out[10 + rng.int(hlen)] = alphabet.charCodeAt(rng.int(alphabet.length));
    return out;
  }
  // HDF5: overwrite an aligned 4- or 8-byte word (addresses, lengths, sizes) with an extreme or random value.
  const out = seed.slice();
  const dv = new DataView(out.buffer);
  const at = rng.int(Math.max(1, out.length - 8)) & ~3;
  const v = rng.next() < 0.5 ? EXTREMES[rng.int(EXTREMES.length)]! : rng.nextU32();
  dv.setUint32(at, v, true);
  if (rng.next() < 0.3) dv.setUint32(at + 4, rng.next() < 0.5 ? 0 : 0xffffffff, true);
  return out;
}

function mutate(kind: FuzzKind, seed: Uint8Array, rng: Rng): { bytes: Uint8Array; how: string } {
  const r = rng.int(8);
  const b = seed.slice();
  switch (r) {
    case 0: {
      const n = 1 + rng.int(8);
      for (let k = 0; k < n; k++) b[rng.int(b.length)]! ^= 1 << rng.int(8);
      return { bytes: b, how: `flip ${n} bits` };
    }
    case 1: {
      // Bit flips confined to the first 64 bytes, where every format keeps its most sensitive fields.
      const n = 1 + rng.int(4);
      for (let k = 0; k < n; k++) b[rng.int(Math.min(64, b.length))]! ^= 1 << rng.int(8);
      return { bytes: b, how: `flip ${n} header bits` };
    }
    case 2: {
      const n = 1 + rng.int(4);
      for (let k = 0; k < n; k++) b[rng.int(b.length)] = rng.next() < 0.5 ? EXTREMES[rng.int(5)]! & 0xff : rng.int(256);
      return { bytes: b, how: `set ${n} bytes` };
    }
    case 3: {
      const cut = rng.int(seed.length);
      return { bytes: seed.slice(0, cut), how: `truncate to ${cut}` };
    }
    case 4: {
      const extra = Uint8Array.from({ length: 1 + rng.int(64) }, () => rng.int(256));
      const out = new Uint8Array(seed.length + extra.length);
      out.set(seed);
      out.set(extra, seed.length);
      return { bytes: out, how: `append ${extra.length}` };
    }
    case 5:
    case 6:
      return { bytes: headerEdit(kind, seed, rng), how: 'header edit' };
    default: {
      const n = rng.int(2 * seed.length + 1);
      const out = Uint8Array.from({ length: n }, () => rng.int(256));
      // Half the time keep the real signature so the parser gets past its first check.
      if (rng.next() < 0.5) out.set(seed.subarray(0, Math.min(n, 8 + rng.int(16))));
      return { bytes: out, how: `random ${n} bytes` };
    }
  }
}

// ---- running -----------------------------------------------------------------------------------------------

async function parse(kind: FuzzKind, bytes: Uint8Array): Promise<void> {
  switch (kind) {
    case 'safetensors':
      checkResult(parseSafetensors(bytes, 'fuzz.safetensors').tensors);
      return;
    case 'npy':
      checkResult(new Map([['a', parseNpy(bytes, 'fuzz.npy')]]));
      return;
    case 'tfjs-manifest': {
      const m = parseTfjsModelJson(bytes, 'fuzz.json');
      const r = await loadTfjsLayers(m, SHARDS, { allowPartial: true, file: 'fuzz.json' });
      checkResult(r.tensors);
      for (const p of r.coverage.partialTensors.values()) checkResult(new Map([['p', p.tensor]]));
      return;
    }
    case 'keras-h5':
      checkResult(await parseKerasH5(bytes, 'fuzz.h5'));
      return;
  }
}

export async function runFuzz(job: FuzzJob, post: (m: FuzzMessage) => void): Promise<void> {
  const t0 = Date.now();
  const rng = new Rng(job.seed);
  const seeds =
    job.kind === 'safetensors' ? safetensorsSeeds() : job.kind === 'npy' ? npySeeds() : job.kind === 'tfjs-manifest' ? manifestSeeds(job.realModelJson) : await h5Seeds();
  let ok = 0;
  let rejected = 0;
  for (let i = 0; i < job.count; i++) {
    const { bytes, how } = mutate(job.kind, seeds[rng.int(seeds.length)]!, rng);
    try {
      await parse(job.kind, bytes);
      ok++;
    } catch (e) {
      if (e instanceof WeightFormatError) rejected++;
      else post({ type: 'escape', kind: job.kind, index: i, mutation: how, error: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e) });
    }
    if (i % 25 === 0) post({ type: 'progress', kind: job.kind, index: i });
  }
  // The library must still work after all that (no poisoned global state).
  let seedStillParses = true;
  for (const s of seeds) {
    try {
      await parse(job.kind, s);
    } catch {
      seedStillParses = false;
    }
  }
  post({ type: 'done', kind: job.kind, ok, rejected, seedStillParses, ms: Date.now() - t0 });
}

if (parentPort && workerData) {
  const port = parentPort;
  await runFuzz(workerData as FuzzJob, (m) => port.postMessage(m));
}
