// PyTorch's exporter at opsets 9, 11, 13 and 17 (test/onnx-fixtures, made by its make.py): one small network of many
// ops and heavy shape arithmetic (x.view(n, -1), channel shuffle, split/chunk), with its BatchNorms left as nodes,
// through parse → import → the float64 reference, against PyTorch's logits; at batch 2 (the file's) and batch 1.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNpy } from '../src/formats/npy.js';
import { parseOnnx } from '../src/formats/onnx.js';
import { importOnnx } from '../src/formats/onnx/index.js';
import { runReference } from '../src/reference/onnx-graph.js';

const FIXTURES = join(import.meta.dirname, 'onnx-fixtures');
const folders = readdirSync(FIXTURES).filter((d) => d.startsWith('mix_')).sort();

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i]! - b[i]!) ** 2;
    s += b[i]! ** 2;
  }
  return Math.sqrt(d / s);
}

describe('PyTorch exports at several opsets', () => {
  it('has the five fixtures', () => expect(folders).toHaveLength(5));
  for (const f of folders) {
    it(f, () => {
      const model = parseOnnx(readFileSync(join(FIXTURES, f, 'model.onnx')), `${f}/model.onnx`);
      const x = parseNpy(readFileSync(join(FIXTURES, f, 'input.npy')));
      const logits = parseNpy(readFileSync(join(FIXTURES, f, 'logits.npy'))).data as Float32Array;
      const xd = Float64Array.from(x.data as Float32Array);
      expect(model.graph.inputs[0]!.shape).toEqual(['batch', 3, 20, 20]);
      const keptInFile = model.graph.nodes.filter((n) => n.opType === 'BatchNormalization').length;
      expect(keptInFile).toBe(f.endsWith('_bn') ? 2 : 0);
      for (const batch of [2, 1]) {
        const g = importOnnx(model, { batch });
        // shape arithmetic gone, every tensor static, both BatchNorms folded into their convolutions
        expect(g.nodes.some((n) => ['Shape', 'Gather', 'Constant', 'Cast', 'ConstantOfShape'].includes(n.opType))).toBe(false);
        expect(g.nodes.filter((n) => n.opType === 'BatchNormalization')).toHaveLength(0);
        expect(g.stats.foldedBatchNorms).toBe(keptInFile);
        expect(g.outputs[0]!.shape).toEqual([batch, 17]);
        // the two Reshapes of the channel shuffle and x.view(n, -1) of the [n, 6, 4, 4] map
        expect(g.nodes.filter((n) => n.nchwOrder).map((n) => g.shapes.get(n.inputs[0]!))).toEqual([
          [batch, 12, 10, 10],
          [batch, 4, 3, 10, 10],
          [batch, 6, 4, 4],
        ]);
        const y = runReference(g, { input: { dims: [batch, 3, 20, 20], data: xd.subarray(0, batch * 1200) } }).get('logits')!;
        expect(relErr(y.data, logits.subarray(0, batch * 17))).toBeLessThan(1e-5);
      }
    });
  }
});
