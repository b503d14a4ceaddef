// `webgpu-transfer onnx …`: commands for people debugging an ONNX import. `onnx info` reads the file and prints
// what onnxInfo (src/formats/onnx-info.ts) reports; nothing is written.
import type { Command } from 'commander';
import { readFile, stat } from 'node:fs/promises';
import { parseOnnx } from '../../formats/onnx.js';
import { formatOnnxInfo, formatStaticGraph, onnxInfo, type OnnxInfo } from '../../formats/onnx-info.js';
import { importOnnx } from '../../formats/onnx/import.js';

export interface OnnxInfoOptions {
  json?: boolean;
  inputSize?: string;
  batch?: string;
  graph?: boolean;
}

function positiveInt(flag: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} must be a positive integer, got "${v}"`);
  return n;
}

/** Reads MODEL.onnx and reports it (lines through `out`); returns the report. */
export async function onnxInfoCommand(path: string, opts: OnnxInfoOptions = {}, out: (line: string) => void = (s) => console.log(s)): Promise<OnnxInfo> {
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new Error(`${path}: no such file`);
  if (!st.isFile()) throw new Error(`${path}: not a file`);
  const batch = opts.batch === undefined ? undefined : positiveInt('batch', opts.batch, 1);
  const size = opts.inputSize === undefined ? undefined : positiveInt('input-size', opts.inputSize, 224);
  const model = parseOnnx(new Uint8Array(await readFile(path)), path);
  const importOptions = { ...(batch ? { batch } : {}), ...(size ? { inputSize: size } : {}) };
  const info = onnxInfo(model, importOptions);
  if (opts.json) out(JSON.stringify({ file: path, ...info }, null, 2));
  else {
    out(`file:         ${path}`);
    for (const l of formatOnnxInfo(info)) out(l);
    if (opts.graph && info.imported) {
      out('');
      out('imported graph:');
      for (const l of formatStaticGraph(importOnnx(model, importOptions))) out(`  ${l}`);
    }
  }
  return info;
}

/** Registers `onnx` and its `info` subcommand; returns the `onnx` command so that other subcommands (`run`) can join it. */
export function registerOnnx(program: Command): Command {
  const onnx = program.command('onnx').description('inspect and run ONNX models (the import of an ONNX network as a base)');
  onnx
    .command('info <model>')
    .description('producer, opsets, inputs/outputs with shapes, op counts, parameters, unsupported ops and the default cut tensor of MODEL.onnx')
    .option('--input-size <n>', "height and width of the image input (default: the model's static size, else 224)")
    .option('--batch <n>', "the batch size the shapes are shown for (default: the model's, else 1)")
    .option('--graph', 'also print the imported graph: every node with its canonical attributes and static shapes')
    .option('--json', 'machine-readable output')
    .action(async (model: string, opts: OnnxInfoOptions) => {
      await onnxInfoCommand(model, opts);
    });
  return onnx;
}
