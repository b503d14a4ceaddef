import type { Tensor } from '../../engine/tensor.js';
import { concatChannels } from '../ops/index.js';
import { shapeText } from '../layer.js';

/** Joins branches on the channel (last) axis. Takes several inputs, so it is a part of composite layers, not a `Layer`. */
export class Concatenate {
  readonly kind = 'Concatenate';
  constructor(readonly name: string) {}

  computeOutputShape(inputs: readonly (readonly number[])[]): number[] {
    const first = inputs[0];
    if (!first) throw new Error(`Concatenate '${this.name}': no inputs`);
    const lead = first.slice(0, -1);
    let channels = 0;
    for (const s of inputs) {
      if (s.length !== first.length || s.slice(0, -1).some((d, i) => d !== lead[i])) {
        throw new Error(`Concatenate '${this.name}': inputs ${inputs.map((x) => shapeText(x)).join(' and ')} differ outside the channel axis`);
      }
      channels += s[s.length - 1]!;
    }
    return [...lead, channels];
  }

  apply(xs: Tensor[]): Tensor {
    return concatChannels(xs);
  }
}
