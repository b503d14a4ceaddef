// `webgpu-transfer onnx run MODEL.onnx --input X.npy --out Y.npy [--output TENSOR]`: runs an ONNX network on this
// engine up to a tensor and writes it in ONNX's layout, for people checking an import against another runtime.
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { Engine } from '../../engine/index.js';
import { readNpyFile, writeNpyFile } from '../../formats/npy-node.js';
import { parseOnnx } from '../../formats/onnx.js';
import { runOnnx } from '../../models/onnx/run.js';

export interface OnnxRunOptions {
  input: string;
  out: string;
  output?: string;
}

/** Runs the model; writes `out` only when everything succeeded. Returns the output's shape. */
export async function onnxRunCommand(path: string, o: OnnxRunOptions, log: (line: string) => void = (s) => console.log(s)): Promise<number[]> {
  const bytes = new Uint8Array(await readFile(path).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`${path}: cannot read (${err.code ?? err.message})`);
  }));
  const model = parseOnnx(bytes, path);
  const x = await readNpyFile(o.input);
  if (!(x.data instanceof Float32Array)) throw new Error(`--input ${o.input}: float32 data expected (ONNX's NCHW image input), got ${x.data.constructor.name}`);
  const runtime = model.graph.inputs.filter((i) => !model.graph.initializers.has(i.name));
  if (runtime.length !== 1) throw new Error(`${path}: onnx run feeds one input; this model has ${runtime.map((i) => i.name).join(', ')}`);
  const engine = await Engine.create();
  try {
    const outputs = o.output ? [o.output] : [model.graph.outputs[0]!.name];
    const result = await runOnnx(engine, model, new Map([[runtime[0]!.name, { shape: [...x.shape], data: x.data }]]), { outputs });
    const y = result.get(outputs[0]!)!;
    await writeNpyFile(o.out, { shape: y.shape, data: y.data });
    log(`${outputs[0]} [${y.shape.join(', ')}] → ${o.out}`);
    return y.shape;
  } finally {
    engine.destroy();
  }
}

export function registerOnnxRun(onnx: Command): void {
  onnx
    .command('run <model>')
    .description("run MODEL.onnx on this engine (X float32 NCHW, as ONNX takes it) up to a tensor and write it as float32 .npy in ONNX's layout")
    .requiredOption('--input <x.npy>', 'the network input, float32 NCHW')
    .requiredOption('--out <y.npy>', 'where to write the result (nothing is written when the model cannot be run)')
    .option('--output <tensor>', "the tensor to stop at (default: the graph's first output)")
    .action(async (model: string, opts: OnnxRunOptions) => {
      await onnxRunCommand(model, opts);
    });
}
