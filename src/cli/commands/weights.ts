// `webgpu-transfer weights …`: inspect, convert and fetch pretrained weights. Network code stays here.
import type { Command } from 'commander';
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '../../formats/atomic-node.js';
import { tensorsSha256 } from '../../formats/checksum.js';
import { type LoadedWeights, loadWeights } from '../../formats/load-node.js';
import { convertOihwTensors } from '../../formats/npy-folder.js';
import { parseKerasH5 } from '../../formats/keras-h5.js';
import { writeSafetensors } from '../../formats/safetensors.js';
import { assertFinite, checkAgainst, countNonFinite, dtypeOf, parameterCount, shapeText } from '../../formats/tensor.js';
import { type NamedArrays, WeightFormatError } from '../../formats/types.js';

export interface WeightsIo {
  out(line: string): void;
  err(line: string): void;
}

const consoleIo: WeightsIo = { out: (s) => console.log(s), err: (s) => console.error(s) };
const CONVERTER = 'webgpu-transfer weights convert';
const fmtInt = (n: number): string => n.toLocaleString('en-US');

/** Adds a hint to the missing-shards error of a TF.js model. */
function hintPartial(hint: string): (e: unknown) => never {
  return (e) => {
    if (e instanceof WeightFormatError && /missing \d+ of \d+ shards/.test(e.message)) {
      throw new WeightFormatError(`${e.message.slice(e.file ? e.file.length + 2 : 0)} (${hint})`, e.file, e.tensor);
    }
    throw e;
  };
}

export interface InfoOptions {
  json?: boolean;
  hashes?: string;
  allowPartial?: boolean;
}

/** Prints the tensors (name, shape, dtype), the parameter count and the checksums of a weight file or folder. */
export async function weightsInfo(path: string, opts: InfoOptions = {}, io: WeightsIo = consoleIo): Promise<LoadedWeights> {
  const w = await loadWeights(path, { ...(opts.hashes ? { hashesFile: opts.hashes } : {}), ...(opts.allowPartial ? { allowPartial: true } : {}) }).catch(
    hintPartial('use --allow-partial to see what the present shards hold'),
  );
  const tensorsHash = await tensorsSha256(w.tensors);
  const rows = [...w.tensors].map(([name, t]) => ({ name, shape: t.shape, dtype: dtypeOf(t), nonFinite: countNonFinite(t).count }));
  const cov = w.coverage;
  const partial = cov && (cov.missingShards.length > 0 || cov.missingTensors.length > 0);
  if (opts.json) {
    io.out(
      JSON.stringify(
        {
          file: path,
          format: w.format,
          tensors: rows,
          tensorCount: rows.length,
          parameters: parameterCount(w.tensors),
          fileSha256: w.fileSha256 ?? null,
          tensorsSha256: tensorsHash,
          metadata: w.metadata,
          ...(w.verified ? { verifiedShards: w.verified } : {}),
          ...(cov && partial
            ? {
                missingShards: cov.missingShards,
                unplacedShards: cov.unplacedShards,
                missingTensors: cov.missingTensors,
                partialTensors: [...cov.partialTensors].map(([name, p]) => ({ name, covered: p.covered })),
                coveredBytes: cov.coveredBytes,
                totalBytes: cov.totalBytes,
              }
            : {}),
        },
        null,
        2,
      ),
    );
    return w;
  }
  io.out(`file:           ${path}`);
  io.out(`format:         ${w.format}`);
  io.out(`tensors:        ${rows.length}`);
  io.out(`parameters:     ${fmtInt(parameterCount(w.tensors))}`);
  if (w.fileSha256) io.out(`file sha256:    ${w.fileSha256}`);
  io.out(`tensors sha256: ${tensorsHash}`);
  for (const [k, v] of Object.entries(w.metadata)) io.out(`metadata:       ${k} = ${v}`);
  if (w.verified?.length) io.out(`verified:       ${w.verified.length} shard(s) match their git-blob SHA-1`);
  const nameWidth = Math.max(4, ...rows.map((r) => r.name.length));
  io.out('');
  io.out(`${'name'.padEnd(nameWidth)}  ${'shape'.padEnd(20)}  dtype  values`);
  for (const r of rows) {
    const bad = r.nonFinite ? `  (${r.nonFinite} non-finite)` : '';
    io.out(`${r.name.padEnd(nameWidth)}  ${shapeText(r.shape).padEnd(20)}  ${r.dtype.padEnd(5)}  ${fmtInt(r.shape.reduce((a, b) => a * b, 1))}${bad}`);
  }
  if (cov && partial) {
    io.out('');
    io.out(`PARTIAL: ${fmtInt(cov.coveredBytes)} of ${fmtInt(cov.totalBytes)} bytes present`);
    io.out(`missing shards (${cov.missingShards.length}): ${cov.missingShards.join(', ')}`);
    if (cov.unplacedShards.length) io.out(`present but unplaceable shards: ${cov.unplacedShards.join(', ')}`);
    for (const m of cov.missingTensors) {
      const p = cov.partialTensors.get(m.name);
      const ranges = p ? `, present elements ${p.covered.map(([a, b]) => `${a}..${b - 1}`).join(', ')}` : '';
      io.out(`  missing ${m.name} ${shapeText(m.shape)}: ${fmtInt(m.missingBytes)} of ${fmtInt(m.totalBytes)} bytes${ranges}`);
    }
  }
  return w;
}

export interface ConvertOptions {
  output: string;
  hashes?: string;
  /** .npy sources: transpose 4-D OIHW kernels to HWIO. */
  hwio?: boolean;
  /** With hwio: names matching this regular expression are depthwise kernels ([C,1,H,W] → [H,W,C,1]). */
  depthwise?: string;
}

export interface ConvertResult {
  output: string;
  tensors: number;
  parameters: number;
  tensorsSha256: string;
}

/** Converts any supported source into a safetensors file (written atomically; nothing is left behind on failure). */
export async function weightsConvert(src: string, opts: ConvertOptions, io: WeightsIo = consoleIo): Promise<ConvertResult> {
  if (!opts.output) throw new Error('an output path is required (-o out.safetensors)');
  if (resolve(opts.output) === resolve(src)) throw new Error('the output would overwrite the source');
  const w = await loadWeights(src, opts.hashes ? { hashesFile: opts.hashes } : {}).catch(
    hintPartial('a converted file must be complete; `weights info --allow-partial` shows what is present'),
  );
  let tensors = w.tensors;
  let layout = w.format === 'keras-h5' || w.format === 'tfjs-layers' ? 'HWIO' : 'as stored';
  if (opts.hwio) {
    if (w.format !== 'npy' && w.format !== 'npy-folder') throw new Error('--hwio applies to .npy sources (OIHW) only');
    const re = opts.depthwise ? new RegExp(opts.depthwise) : null;
    tensors = convertOihwTensors(tensors, (name) => (re ? re.test(name) : false));
    layout = 'HWIO (converted from OIHW)';
  } else if (opts.depthwise) throw new Error('--depthwise needs --hwio');
  assertFinite(tensors, src);
  const metadata: Record<string, string> = {
    source: w.format === 'npy-folder' ? `${basename(dirname(resolve(src)))}/${basename(resolve(src))}` : basename(src),
    source_format: w.format,
    converter: CONVERTER,
    layout,
  };
  if (w.fileSha256) metadata.source_sha256 = w.fileSha256;
  for (const [k, v] of Object.entries(w.metadata)) metadata[`source_${k}`] ??= v;
  const result = await writeConverted(tensors, metadata, opts.output);
  io.out(`wrote ${opts.output}: ${result.tensors} tensors, ${fmtInt(result.parameters)} parameters, tensors sha256 ${result.tensorsSha256}`);
  return result;
}

async function writeConverted(tensors: NamedArrays, metadata: Record<string, string>, output: string): Promise<ConvertResult> {
  const bytes = writeSafetensors(tensors, metadata);
  await writeFileAtomic(output, bytes);
  return { output, tensors: tensors.size, parameters: parameterCount(tensors), tensorsSha256: await tensorsSha256(tensors) };
}

// ---- fetch ------------------------------------------------------------------------------------------------

export interface FetchSpec {
  url: string;
  md5: string;
  /** Name of the downloaded file inside the weights folder. */
  fileName: string;
  /** Name of the converted safetensors file inside the weights folder. */
  outName: string;
  /** Names and shapes the converted weights must have. */
  expected: Map<string, number[]>;
}

function vgg16Expected(): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const blocks = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]];
  let cin = 3;
  blocks.forEach((convs, b) =>
    convs.forEach((cout, c) => {
      m.set(`block${b + 1}_conv${c + 1}/kernel`, [3, 3, cin, cout]);
      m.set(`block${b + 1}_conv${c + 1}/bias`, [cout]);
      cin = cout;
    }),
  );
  return m;
}

export const FETCHABLE: Record<string, () => FetchSpec> = {
  vgg16: () => ({
    url: 'https://storage.googleapis.com/tensorflow/keras-applications/vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5',
    md5: '6d6bbae143d832006294945121d1f1fc',
    fileName: 'vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5',
    outName: 'vgg16_notop.safetensors',
    expected: vgg16Expected(),
  }),
};

export interface FetchOptions {
  /** Weights folder; default ./weights. */
  dir?: string;
  /** Convert this local copy (after the md5 check) instead of downloading. */
  file?: string;
  /** Seconds to wait for the server to answer; default 5. */
  connectTimeout?: number;
  /** Seconds without data before a download is abandoned; default 30. */
  idleTimeout?: number;
}

const md5Hex = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

async function download(url: string, connectTimeoutS: number, idleTimeoutS: number, io: WeightsIo): Promise<Uint8Array> {
  const ac = new AbortController();
  let timer = setTimeout(() => ac.abort(new Error(`no answer within ${connectTimeoutS} s`)), connectTimeoutS * 1000);
  try {
    const res = await fetch(url, { signal: ac.signal, redirect: 'follow' });
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    const total = Number(res.headers.get('content-length') ?? 0);
    const chunks: Uint8Array[] = [];
    let got = 0;
    let nextReport = 0.1;
    const reader = res.body.getReader();
    for (;;) {
      clearTimeout(timer);
      timer = setTimeout(() => ac.abort(new Error(`no data for ${idleTimeoutS} s`)), idleTimeoutS * 1000);
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      got += value.length;
      if (total && got / total >= nextReport) {
        io.err(`  ${Math.floor((100 * got) / total)}% of ${fmtInt(total)} bytes`);
        nextReport += 0.1;
      }
    }
    const out = new Uint8Array(got);
    let pos = 0;
    for (const c of chunks) {
      out.set(c, pos);
      pos += c.length;
    }
    return out;
  } catch (e) {
    const reason = ac.signal.aborted ? (ac.signal.reason as Error).message : describeFetchError(e);
    throw new Error(reason);
  } finally {
    clearTimeout(timer);
  }
}

function describeFetchError(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  return err.cause?.code ? `${err.cause.code}${err.cause.message ? `: ${err.cause.message}` : ''}` : err.message;
}

/**
 * Downloads (or takes `opts.file`), checks the md5, stores the original in the weights folder and converts it to
 * safetensors there, checking the names and shapes. Offline, fails within the connect timeout with instructions.
 */
export async function fetchVerifyConvert(spec: FetchSpec, opts: FetchOptions = {}, io: WeightsIo = consoleIo): Promise<ConvertResult> {
  const dir = opts.dir ?? 'weights';
  await mkdir(dir, { recursive: true });
  const stored = join(dir, spec.fileName);
  let bytes: Uint8Array | null = null;
  let source = stored;
  if (opts.file) {
    source = opts.file;
    bytes = new Uint8Array(await readFile(opts.file));
    const md5 = md5Hex(bytes);
    if (md5 !== spec.md5) throw new WeightFormatError(`md5 ${md5} does not match the published ${spec.md5}: not the expected file, or damaged`, opts.file);
    if (resolve(opts.file) !== resolve(stored)) await writeFileAtomic(stored, bytes);
  } else {
    const existing = await stat(stored).then(
      () => true,
      () => false,
    );
    if (existing) {
      const b = new Uint8Array(await readFile(stored));
      if (md5Hex(b) === spec.md5) {
        io.err(`using ${stored} (md5 ok)`);
        bytes = b;
      } else io.err(`${stored} has the wrong md5; downloading it again`);
    }
    if (!bytes) {
      io.err(`downloading ${spec.url}`);
      try {
        bytes = await download(spec.url, opts.connectTimeout ?? 5, opts.idleTimeout ?? 30, io);
      } catch (e) {
        throw new Error(
          `could not download ${spec.url} (${(e as Error).message}). If this machine is offline, download the file elsewhere ` +
            `(md5 ${spec.md5}) and either place it at ${stored} and run this command again, or run it with --file PATH.`,
        );
      }
      const md5 = md5Hex(bytes);
      if (md5 !== spec.md5) throw new Error(`downloaded ${spec.url} has md5 ${md5}, expected ${spec.md5}; nothing was saved`);
      await writeFileAtomic(stored, bytes);
    }
  }
  const tensors = await parseKerasH5(bytes, source);
  checkAgainst(spec.expected, tensors, source);
  assertFinite(tensors, source);
  const out = join(dir, spec.outName);
  const result = await writeConverted(tensors, { source: spec.fileName, source_format: 'keras-h5', source_md5: spec.md5, converter: CONVERTER, layout: 'HWIO' }, out);
  io.out(`wrote ${out}: ${result.tensors} tensors, ${fmtInt(result.parameters)} parameters, tensors sha256 ${result.tensorsSha256}`);
  return result;
}

export async function weightsFetch(model: string, opts: FetchOptions = {}, io: WeightsIo = consoleIo): Promise<ConvertResult> {
  const make = FETCHABLE[model];
  if (!make) throw new Error(`unknown model '${model}' (fetchable: ${Object.keys(FETCHABLE).join(', ')})`);
  return fetchVerifyConvert(make(), opts, io);
}

const seconds = (v: string): number => {
  const n = Number(v);
  if (!(n > 0)) throw new Error(`not a positive number of seconds: ${v}`);
  return n;
};

export function registerWeights(program: Command): void {
  const weights = program.command('weights').description('inspect, convert and fetch pretrained weights');
  weights
    .command('info <file>')
    .description('tensors, shapes, parameter count and checksums of a .safetensors, .h5, model.json, .npy or folder of .npy')
    .option('--json', 'machine-readable output')
    .option('--hashes <file>', 'TF.js: verify shards against a list of "<shard> <git-blob sha1>" lines')
    .option('--allow-partial', 'TF.js: show what the shards present cover instead of failing on missing ones')
    .action(async (file: string, opts: InfoOptions) => {
      await weightsInfo(file, opts);
    });
  weights
    .command('convert <src>')
    .description('convert .h5, model.json, a folder of .npy or .safetensors into one .safetensors file')
    .requiredOption('-o, --output <file>', 'the .safetensors file to write')
    .option('--hashes <file>', 'TF.js: verify shards against a list of "<shard> <git-blob sha1>" lines')
    .option('--hwio', '.npy sources: transpose 4-D OIHW kernels to HWIO')
    .option('--depthwise <regex>', 'with --hwio: names of depthwise kernels ([C,1,H,W] → [H,W,C,1])')
    .action(async (src: string, opts: ConvertOptions) => {
      await weightsConvert(src, opts);
    });
  weights
    .command('fetch <model>')
    .description(`download, check (md5) and convert pretrained weights (${Object.keys(FETCHABLE).join(', ')})`)
    .option('--dir <folder>', 'weights folder', 'weights')
    .option('--file <path>', 'convert a manually downloaded copy instead of downloading')
    .option('--connect-timeout <s>', 'seconds to wait for the server', seconds, 5)
    .action(async (model: string, opts: FetchOptions) => {
      await weightsFetch(model, opts);
    });
}
