// Identity and Dropout removal: at inference both pass their input on unchanged, so their output becomes an alias of
// their input (and Dropout's optional mask a constant tensor of ones). Dropout in training mode cannot be removed.
import { type OnnxNode, type OnnxTensor, tensorNumbers } from '../onnx.js';
import { makeTensor } from './fold.js';
import { fail, numel, type ShapeContext } from './shape.js';

export interface PassThrough {
  /** output name → the tensor whose value it has */
  aliases: [string, string][];
  /** outputs that become constants (Dropout's mask) */
  constants: OnnxTensor[];
}

export function passThrough(node: OnnxNode, ctx: ShapeContext): PassThrough | undefined {
  if (node.domain !== '' || (node.opType !== 'Identity' && node.opType !== 'Dropout')) return undefined;
  const input = node.inputs[0] ?? fail(node, 'no input');
  const out: PassThrough = { aliases: [[node.outputs[0]!, input]], constants: [] };
  if (node.opType === 'Dropout') {
    // opset 12+: training_mode is input #2; earlier opsets had is_test / no training flag at inference.
    const training = (node.inputs[2] ?? '') !== '' ? ctx.constant(node.inputs[2]!) : undefined;
    if ((node.inputs[2] ?? '') !== '' && !training) fail(node, "training_mode must be known at import time");
    if (training && tensorNumbers(training)[0]) fail(node, 'training_mode=true (only inference Dropout is removed)');
    const mask = node.outputs[1] ?? '';
    if (mask !== '') {
      const shape = ctx.shape(input);
      out.constants.push(makeTensor(mask, 'bool', [...shape], new Array<number>(numel(shape)).fill(1)));
    }
  }
  return out;
}
