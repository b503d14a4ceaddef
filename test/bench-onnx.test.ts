import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { filterOnnxCases, onnxCases } from '../bench/cases/onnx.js';
import { caseData, modelPath, tileBatch } from '../bench/onnx/data.js';
import { ortSide, type OrtLike } from '../bench/onnx/ort.js';
import { maxRowNormRelDiff, onnxCaseReport } from '../bench/onnx/report.js';
import { ONNX_SIDES, type OnnxCaseResult, type OnnxSideName } from '../bench/onnx/run.js';

/** The ONNX bench harness's bookkeeping (no GPU): case selection, the pairwise comparison, and its ORT side on the CPU. */

describe('bench ONNX cases', () => {
  it('are opt-in: selected only by a --cases filter that names them', () => {
    const all = onnxCases();
    expect(all.map((c) => c.name)).toEqual(['onnx_resnet18_b1', 'onnx_resnet18_b8', 'onnx_mobilenet_v3_small_b1', 'onnx_mobilenet_v3_small_b8']);
    expect(filterOnnxCases(all, undefined)).toEqual([]);
    expect(filterOnnxCases(all, 'vgg16,conv')).toEqual([]);
    expect(filterOnnxCases(all, 'onnx')).toHaveLength(4);
    expect(filterOnnxCases(all, 'onnx_resnet18').map((c) => c.batch)).toEqual([1, 8]);
    expect(filterOnnxCases(all, 'onnx_mobilenet_v3_small_b8').map((c) => c.name)).toEqual(['onnx_mobilenet_v3_small_b8']);
  });

  it('compares every pair of sides per image, normwise, and flags the one that is off', () => {
    expect(maxRowNormRelDiff(Float32Array.of(1, 0, 3, 4), Float32Array.of(1, 0, 3, 4), 2)).toBe(0);
    // Row 2 off by 1 in a norm of 5: 0.2; row 1 exact. The worst row counts, not the whole batch (0.2 / √26·5…).
    expect(maxRowNormRelDiff(Float32Array.of(1, 0, 3, 5), Float32Array.of(1, 0, 3, 4), 2)).toBeCloseTo(0.2, 6);
    expect(maxRowNormRelDiff(Float32Array.of(NaN, 0), Float32Array.of(1, 0), 1)).toBe(Infinity);
    expect(maxRowNormRelDiff(Float32Array.of(1), Float32Array.of(1, 0), 1)).toBe(Infinity);

    const def = onnxCases()[2]!; // mobilenet b1
    const ref = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i));
    const near = ref.map((v) => v * (1 + 1e-6));
    const sides = Object.fromEntries(ONNX_SIDES.map((s) => [s, { output: near, timing: { medianMs: 100, minMs: 90, samplesMs: [100, 110, 90], inner: 1 } }])) as OnnxCaseResult['sides'];
    sides.ort_webgpu = { ...sides.ort_webgpu, timing: { medianMs: 2500, minMs: 2400, samplesMs: [2500], inner: 1 } };
    const ok = onnxCaseReport({ def, sides, reference: ref });
    expect(ok.check).toBe('ok');
    expect(ok.diffs).toHaveLength(((ONNX_SIDES.length + 1) * ONNX_SIDES.length) / 2);
    expect(ok.ratio).toBe(25);
    expect(ok.max_diff_pytorch).toBeLessThan(2e-6);

    const off = ref.map((v, i) => (i === 7 ? v + 0.5 : v));
    const bad = onnxCaseReport({ def, sides: { ...sides, ort_wasm: { ...sides.ort_wasm, output: off } }, reference: ref });
    expect(bad.check).toBe('MISMATCH');
    const worst = bad.diffs.reduce((a, d) => ((d.diff ?? Infinity) > (a.diff ?? Infinity) ? d : a));
    expect([worst.a, worst.b]).toContain('ort_wasm');

    const failed = { ...sides, ours_browser: { error: 'device lost' } } as Record<OnnxSideName, { error: string }>;
    const err = onnxCaseReport({ def, sides: failed as OnnxCaseResult['sides'], reference: ref });
    expect(err.check).toBe('error');
    expect(err.ratio).toBeNull();
    expect(err.errors).toEqual({ ours_browser: 'device lost' });
  });

  it("onnxruntime-node's side reproduces PyTorch's logits for the photos tiled to batch 8", async () => {
    const ortNode = (await import('onnxruntime-node')) as unknown as OrtLike;
    const { input, logits } = caseData('mobilenet_v3_small', 8);
    expect(input.shape).toEqual([8, 3, 224, 224]);
    expect(tileBatch({ shape: [2, 1], data: Float32Array.of(1, 2) }, 5).data).toEqual(Float32Array.of(1, 2, 1, 2, 1));
    const side = await ortSide(ortNode, new Uint8Array(readFileSync(modelPath('mobilenet_v3_small'))), input, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
    try {
      const [y] = await side.result();
      expect(maxRowNormRelDiff(y!, logits.data, 8)).toBeLessThan(1e-4);
      side.enqueue();
      side.enqueue();
      await side.finish();
    } finally {
      side.dispose();
    }
  });
});
