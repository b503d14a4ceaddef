// `onnx info`: the report function on the exported networks and on a model with unsupported ops, and one run of the
// bundled CLI (text, --json, a bad file).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOnnx } from '../src/formats/onnx.js';
import { formatOnnxInfo, onnxInfo } from '../src/formats/onnx-info.js';
import { bundleCli, runCli } from './helpers/cli.js';
import { f32, modelBytes, node, SHARED_ONNX, valueInfo } from './onnx-harness.js';

const model = (net: string) => parseOnnx(readFileSync(join(SHARED_ONNX, net, 'model.onnx')));
const featureTensor = (net: string) => readFileSync(join(SHARED_ONNX, net, 'features.txt'), 'utf8').trim();

describe('onnx info (report function)', () => {
  it('ResNet-18: producer, opset, shapes, op counts, parameters, no unsupported op, the Gemm input as the cut', () => {
    const info = onnxInfo(model('resnet18'));
    expect(info.producer).toBe('pytorch 1.13.0');
    expect(info.opsets).toEqual([{ domain: '', version: 13 }]);
    expect(info.inputs).toEqual([{ name: 'input', elemType: 'float', shape: ['batch', 3, 224, 224] }]);
    expect(info.outputs).toEqual([{ name: 'logits', elemType: 'float', shape: ['batch', 1000] }]);
    expect(Object.fromEntries(info.opCounts)).toEqual({ Conv: 20, Relu: 17, Add: 8, MaxPool: 1, GlobalAveragePool: 1, Flatten: 1, Gemm: 1 });
    expect(info.parameters).toBe(11_684_712); // torchvision's ResNet-18 with BatchNorm folded by the exporter
    expect(info.unsupported).toEqual([]);
    expect(info.importError).toBeUndefined();
    expect(info.defaultCut).toEqual({ tensor: featureTensor('resnet18'), shape: [1, 512], reason: "input of Gemm '/fc/Gemm'" });
    const text = formatOnnxInfo(info).join('\n');
    expect(text).toMatch(/default cut: {2}\/Flatten_output_0 \[1, 512\]/);
  });

  it('SqueezeNet: the input of the final 1×1-convolution classifier; MobileNetV3: the first Gemm', () => {
    const sq = onnxInfo(model('squeezenet1_1_real'), { inputSize: 224 });
    expect(sq.defaultCut?.tensor).toBe(featureTensor('squeezenet1_1_real'));
    expect(sq.defaultCut?.shape).toEqual([1, 512, 13, 13]);
    expect(sq.defaultCut?.reason).toMatch(/final 1×1 convolution/);
    const mb = onnxInfo(model('mobilenet_v3_small'));
    expect(mb.defaultCut?.tensor).toBe(featureTensor('mobilenet_v3_small'));
    expect(mb.imported?.removedNodes).toBe(5); // the Identity nodes
  });

  it('names the unsupported nodes and why the import fails', () => {
    const bytes = modelBytes({
      nodes: [node('Conv', ['x', 'w'], ['c']), node('Resize', ['c', '', 'scales'], ['r']), node('GlobalAveragePool', ['r'], ['y'])],
      inputs: [valueInfo('x', [1, 1, 4, 4])],
      outputs: [valueInfo('y', [1, 1, 1, 1])],
      initializers: [f32('w', [1, 1, 1, 1], [2]), f32('scales', [4], [1, 1, 2, 2])],
    });
    const info = onnxInfo(parseOnnx(bytes));
    expect(info.unsupported).toEqual([{ name: 'Resize:r', opType: 'Resize' }]);
    expect(info.importError).toMatch(/unsupported op: 'Resize:r' \(Resize\)/);
    expect(info.defaultCut).toBeUndefined();
    expect(formatOnnxInfo(info).join('\n')).toMatch(/unsupported: {2}1 node\n {2}Resize +Resize:r/);
    // an op whose attributes are outside the list is named too
    const argmax = onnxInfo(parseOnnx(readFileSync(join(SHARED_ONNX, 'node', 'test_maxpool_with_argmax_2d_precomputed_pads', 'model.onnx'))));
    expect(argmax.unsupported).toEqual([{ name: 'MaxPool_0', opType: 'MaxPool' }]);
    expect(argmax.importError).toMatch(/Indices output/);
  });
});

describe('webgpu-transfer onnx info (spawned CLI)', () => {
  let cli = '';
  let remove: () => Promise<void> = async () => {};
  let dir = '';
  beforeAll(async () => {
    ({ cli, remove } = await bundleCli('cli-onnx-test'));
    dir = await mkdtemp(join(tmpdir(), 'cli-onnx-'));
    await writeFile(join(dir, 'bad.onnx'), new TextEncoder().encode('this is not a model'));
  });
  afterAll(async () => {
    await remove();
    await rm(dir, { recursive: true, force: true });
  });

  it('prints the report, --json, and a clear error for a bad file', async () => {
    const m = join(SHARED_ONNX, 'squeezenet1_1_real', 'model.onnx');
    const r = await runCli(cli, ['onnx', 'info', m], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/producer: {5}pytorch 1\.13\.0 \(IR version 7\)/);
    expect(r.stdout).toMatch(/input: {8}input float \[batch, 3, 224, 224\]/);
    expect(r.stdout).toMatch(/nodes: {8}65 \(Conv 26, Relu 26, Concat 8, MaxPool 3, Flatten 1, GlobalAveragePool 1\)/);
    expect(r.stdout).toMatch(/parameters: {3}1,235,496 in 52 initializers/);
    expect(r.stdout).toMatch(/unsupported: {2}none/);
    expect(r.stdout).toMatch(/default cut: {2}\/features\/features\.12\/Concat_output_0 \[1, 512, 13, 13\]/);
    const j = await runCli(cli, ['onnx', 'info', m, '--json', '--input-size', '160'], dir);
    expect(j.code).toBe(0);
    const info = JSON.parse(j.stdout) as { defaultCut: { shape: number[] }; unsupported: unknown[] };
    expect(info.defaultCut.shape).toEqual([1, 512, 9, 9]);
    expect(info.unsupported).toEqual([]);
    const g = await runCli(cli, ['onnx', 'info', m, '--graph', '--batch', '2'], dir);
    expect(g.code).toBe(0);
    expect(g.stdout).toMatch(/imported graph:\n {2}input {3}input \[2, 3, 224, 224\]\n {2}Conv +\/features\/features\.0\/Conv {2}kernel=\[3,3\] strides=\[2,2\]/);
    expect(g.stdout).toMatch(/output {2}logits \[2, 1000\]/);
    const b0 = await runCli(cli, ['onnx', 'info', m, '--batch', '0'], dir);
    expect(b0.code).not.toBe(0);
    expect(b0.stderr).toMatch(/error: --batch must be a positive integer, got "0"/);
    const bad = await runCli(cli, ['onnx', 'info', 'bad.onnx'], dir);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/^error: bad\.onnx: not (a valid|a complete|an) ONNX/);
    const missing = await runCli(cli, ['onnx', 'info', 'missing.onnx'], dir);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/error: missing\.onnx: no such file/);
  });
});
