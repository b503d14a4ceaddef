// Our side of an ONNX case, the same code in Node (Dawn on lavapipe) and in the Chromium page (SwiftShader): the
// imported Graph model (onnxGraph) on a batch uploaded once, eager or replayed (captured once, engine.capture).
import type { Engine } from '../../src/engine/index.js';
import type { OnnxModel } from '../../src/formats/onnx.js';
import { onnxGraph } from '../../src/models/onnx/build.js';
import { inverse, permuteHost, physicalShape, storageOrder } from '../../src/models/onnx/layout.js';
import { INFERENCE } from '../../src/nn/layer.js';
import type { Side } from '../cases/types.js';
import { oursSide } from '../sides.js';

export interface NchwBatch {
  /** ONNX layout, e.g. [8, 3, 224, 224]. */
  shape: number[];
  data: Float32Array;
}

/**
 * The model imported for `input`'s static shape, its forward as one side. `result()` returns the first output in
 * ONNX's layout (logits [N, 1000]); timed iterations leave it on the GPU (the readback is not timed).
 */
export function oursOnnxSide(e: Engine, model: OnnxModel, input: NchwBatch, opts: { replay: boolean }): Side {
  const inputName = model.graph.inputs[0]!.name;
  const { graph, imported } = onnxGraph(e, model, { inputShapes: { [inputName]: input.shape }, batch: input.shape[0] });
  graph.trainable = false;
  const outLogical = imported.shapes.get(imported.outputs[0]!.tensor)!;
  const outShape = [input.shape[0]!, ...outLogical.slice(1)];
  const nhwc = permuteHost(input.data, input.shape, storageOrder(input.shape.length));
  const side = oursSide(e, [{ data: nhwc, shape: physicalShape(input.shape) }], ([x]) => graph.forward(x!, INFERENCE), () => graph.dispose(), {
    replay: opts.replay,
    label: 'onnx_forward',
  });
  return {
    ...side,
    async result() {
      const [y] = await side.result();
      return [permuteHost(y!, physicalShape(outShape), inverse(storageOrder(outShape.length)))];
    },
  };
}
