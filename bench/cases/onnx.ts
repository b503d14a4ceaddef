// Imported ONNX networks (../shared/onnx): ResNet-18 and MobileNetV3-Small forward at batch 1 and 8, ours against ONNX
// Runtime (Web: WebGPU and wasm providers in headless Chromium; Node: onnxruntime-node's CPU provider). Opt-in: they
// run only when `--cases` names them (`onnx`, `onnx_resnet18`, `onnx_mobilenet_v3_small_b8`, …). See bench/onnx/.

export interface OnnxCaseDef {
  name: string;
  /** Equal to `name`: --quick shortens the sampling of these cases, not their batch. */
  fullName: string;
  group: 'onnx';
  /** Folder under ../shared/onnx. */
  model: string;
  batch: number;
  shape: string;
  images: number;
  /** The largest normwise relative difference of the logits (per image) between any two sides, PyTorch's included. */
  tolerance: number;
}

export const ONNX_MODELS = ['resnet18', 'mobilenet_v3_small'] as const;
export const ONNX_BATCHES = [1, 8] as const;

export function onnxCases(): OnnxCaseDef[] {
  return ONNX_MODELS.flatMap((model) =>
    ONNX_BATCHES.map((batch) => ({
      name: `onnx_${model}_b${batch}`,
      fullName: `onnx_${model}_b${batch}`,
      group: 'onnx' as const,
      model,
      batch,
      shape: `${model}.onnx [${batch},3,224,224] -> [${batch},1000]`,
      images: batch,
      tolerance: 1e-3,
    })),
  );
}

/** The ONNX cases a `--cases` filter names (none without a filter: they are opt-in). */
export function filterOnnxCases(cases: OnnxCaseDef[], filter: string | undefined): OnnxCaseDef[] {
  if (!filter) return [];
  const wanted = filter.split(',').map((s) => s.trim()).filter(Boolean);
  return cases.filter((c) => wanted.some((w) => c.name.includes(w) || c.group === w));
}
