// The four torchvision networks of ../shared/onnx (PyTorch's exporter, opset 13) through parse → import → the
// float64 NCHW reference executor: logits against PyTorch's logits.npy (normwise relative error ≤ 1e-3) and the
// classifier's input at features.txt's tensor against features.npy. Plain float64 loops are slow on 2 shared
// cores, so SqueezeNet (real weights) runs all four photos, ResNet-18 the first two (~5 s each on a quiet machine) and
// MobileNetV3-Small and EfficientNet-B0 the first one.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNpy } from '../src/formats/npy.js';
import { parseOnnx } from '../src/formats/onnx.js';
import { importOnnx } from '../src/formats/onnx/index.js';
import { defaultCut } from '../src/formats/onnx-info.js';
import { runReference } from '../src/reference/onnx-graph.js';
import { SHARED_ONNX } from './onnx-harness.js';

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i]! - b[i]!) ** 2;
    s += b[i]! ** 2;
  }
  return Math.sqrt(d / s);
}

function runNetwork(net: string, images: number) {
  const dir = join(SHARED_ONNX, net);
  const model = parseOnnx(readFileSync(join(dir, 'model.onnx')), `${net}/model.onnx`);
  const x = parseNpy(readFileSync(join(dir, 'input.npy')));
  const xd = x.data as Float32Array;
  const logits = parseNpy(readFileSync(join(dir, 'logits.npy')));
  const features = parseNpy(readFileSync(join(dir, 'features.npy')));
  const featureTensor = readFileSync(join(dir, 'features.txt'), 'utf8').trim();
  const graph = importOnnx(model, { batch: images });
  const per = x.data.length / x.shape[0]!;
  const input = { dims: [images, ...x.shape.slice(1)], data: Float64Array.from(xd.subarray(0, images * per)) };
  const out = runReference(graph, { input }, { keep: [featureTensor] });
  const lo = out.get('logits')!;
  const fo = out.get(featureTensor)!;
  return {
    graph,
    featureTensor,
    logits: lo,
    logitsErr: relErr(lo.data, (logits.data as Float32Array).subarray(0, lo.data.length)),
    featuresErr: relErr(fo.data, (features.data as Float32Array).subarray(0, fo.data.length)),
    featureCount: fo.data.length / images,
    expectedFeatureCount: features.shape[1]!,
  };
}

describe('torchvision networks exported to ONNX, on the float64 reference executor', () => {
  it('SqueezeNet 1.1 (real ImageNet weights), four photos: logits, the 13×13×512 map, top-1 classes', () => {
    const r = runNetwork('squeezenet1_1_real', 4);
    expect(r.logitsErr).toBeLessThan(1e-3);
    expect(r.featuresErr).toBeLessThan(1e-3);
    expect(r.featureCount).toBe(r.expectedFeatureCount);
    const top1 = [0, 1, 2, 3].map((i) => {
      const row = r.logits.data.subarray(i * 1000, (i + 1) * 1000);
      return row.indexOf(Math.max(...row));
    });
    expect(top1).toEqual([223, 223, 215, 163]);
    // the classifier is Dropout → 1×1 Conv → ReLU → global pool: its input is the default cut
    expect(defaultCut(r.graph)?.tensor).toBe(r.featureTensor);
    expect(r.graph.nodes.some((n) => n.nchwOrder)).toBe(false); // Flatten after the global pool: order-free
  });

  for (const [net, photos] of [['resnet18', 2], ['mobilenet_v3_small', 1], ['efficientnet_b0', 1]] as const) {
    it(`${net}, ${photos === 1 ? 'the first photo' : `the first ${photos} photos`}: logits and the pooled features at the Gemm's input`, () => {
      const r = runNetwork(net, photos);
      expect(r.logitsErr).toBeLessThan(1e-3);
      expect(r.featuresErr).toBeLessThan(1e-3);
      expect(r.featureCount).toBe(r.expectedFeatureCount);
      expect(defaultCut(r.graph)?.tensor).toBe(r.featureTensor);
      expect(r.graph.nodes.every((n) => n.opType !== 'BatchNormalization')).toBe(true);
    });
  }
});
