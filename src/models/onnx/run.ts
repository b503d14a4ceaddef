/** Runs an imported ONNX graph on host arrays in ONNX's own layout (NCHW in, NCHW out): `onnx run` and the tests. */
import type { Engine } from '../../engine/engine.js';
import { tensorNumbers, type OnnxModel } from '../../formats/onnx.js';
import { INFERENCE } from '../../nn/layer.js';
import { onnxGraph, type OnnxGraphOptions } from './build.js';
import { inverse, permuteHost, physicalShape, storageOrder } from './layout.js';

export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

/**
 * Feeds `inputs` (by graph input name, ONNX layout) and returns `outputs` (default: the model's outputs) in ONNX's
 * layout. The graph is imported for the inputs' static shapes and disposed afterwards.
 */
export async function runOnnx(
  engine: Engine,
  model: OnnxModel,
  inputs: ReadonlyMap<string, HostTensor>,
  opts: Omit<OnnxGraphOptions, 'inputShapes'> = {},
): Promise<Map<string, HostTensor>> {
  const inputShapes = Object.fromEntries([...inputs].map(([k, v]) => [k, v.shape]));
  const batch = [...inputs.values()][0]?.shape[0];
  const { graph, imported, resolve } = onnxGraph(engine, model, { ...opts, inputShapes, batch });
  const outputs = opts.outputs ?? imported.outputs.map((o) => o.name);
  try {
    return await engine.tidyAsync(async () => {
      const fed = new Map(
        imported.inputs.map((i) => {
          const host = inputs.get(i.name);
          if (!host) throw new Error(`no value for the model's input '${i.name}' (inputs: ${imported.inputs.map((x) => x.name).join(', ')})`);
          return [i.name, engine.upload(permuteHost(host.data, host.shape, storageOrder(host.shape.length)), physicalShape(host.shape))] as const;
        }),
      );
      const tensors = outputs.map(resolve);
      const out = new Map<string, HostTensor>();
      // Outputs the import computed away (e.g. Dropout's all-ones mask) are constants of the imported graph.
      for (const [k, t] of tensors.entries()) {
        const value = imported.constants.get(t);
        if (value) out.set(outputs[k]!, { shape: [...value.dims], data: Float32Array.from(tensorNumbers(value)) });
      }
      const computed = tensors.filter((t) => !imported.constants.has(t));
      const ys = computed.length ? graph.run(fed, INFERENCE, computed) : [];
      for (const [k, y] of ys.entries()) {
        const logical = imported.shapes.get(computed[k]!)!;
        const shape = [y.shape[0]!, ...logical.slice(1)].slice(0, logical.length);
        const data = await y.readF32();
        out.set(outputs[tensors.indexOf(computed[k]!)]!, { shape: logical.length ? shape : [], data: permuteHost(data, physicalShape(shape), inverse(storageOrder(shape.length))) });
      }
      return out;
    });
  } finally {
    graph.dispose();
  }
}
