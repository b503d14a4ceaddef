// Host data of the ONNX cases (Node): the model file and the four photos of ../shared/onnx/<model>/, tiled to the
// case's batch, and PyTorch's logits for them. The Chromium page is served the same bytes.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseNpy } from '../../src/formats/npy.js';
import type { NchwBatch } from './ours.js';

export const ONNX_ROOT = resolve(process.env.ONNX_DIR ?? join(process.cwd(), '../shared/onnx'));

export function modelPath(model: string): string {
  return join(ONNX_ROOT, model, 'model.onnx');
}

function npy(model: string, file: string): NchwBatch {
  const t = parseNpy(readFileSync(join(ONNX_ROOT, model, file)), `${model}/${file}`);
  return { shape: [...t.shape], data: Float32Array.from(t.data as ArrayLike<number>) };
}

/** The first `batch` rows of `t`, cycling through its rows when it has fewer (8 = the four photos twice). */
export function tileBatch(t: NchwBatch, batch: number): NchwBatch {
  const rows = t.shape[0]!;
  const per = t.data.length / rows;
  const data = new Float32Array(batch * per);
  for (let i = 0; i < batch; i++) data.set(t.data.subarray((i % rows) * per, (i % rows + 1) * per), i * per);
  return { shape: [batch, ...t.shape.slice(1)], data };
}

export function caseData(model: string, batch: number): { input: NchwBatch; logits: NchwBatch } {
  return { input: tileBatch(npy(model, 'input.npy'), batch), logits: tileBatch(npy(model, 'logits.npy'), batch) };
}
