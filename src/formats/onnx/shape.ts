// Shape inference and canonical form of the supported ops: from an ONNX node, the static shapes of its inputs and
// the constants known so far, the node's data inputs, its canonical attributes (every parameter ONNX may pass as an
// input folded in, resolved against the static shapes) and the static shapes of its outputs.
import { attrFloat, attrInt, attrInts, attrString, type OnnxNode, tensorNumbers, type OnnxTensor } from '../onnx.js';
import { type CanonicalAttrs, OnnxImportError, type SupportedOp } from './ops.js';

export interface ShapeContext {
  opset: number;
  /** The static shape of a tensor (throws when unknown). */
  shape(name: string): number[];
  /** The value of a tensor known at import time, if it is one. */
  constant(name: string): OnnxTensor | undefined;
}

export interface Canonical {
  inputs: string[];
  attrs: CanonicalAttrs;
  outShapes: number[][];
}

export function fail(node: OnnxNode, msg: string): never {
  throw new OnnxImportError(`node '${node.name}' (${node.opType}): ${msg}`, [{ name: node.name, opType: node.opType }]);
}

const has = (node: OnnxNode, i: number): boolean => (node.inputs[i] ?? '') !== '';

/** A parameter input (Reshape's shape, Slice's starts…) as numbers; it must be a constant once shapes are folded. */
export function paramNumbers(node: OnnxNode, i: number, ctx: ShapeContext, what: string): number[] | undefined {
  if (!has(node, i)) return undefined;
  const t = ctx.constant(node.inputs[i]!);
  if (!t)
    fail(node, `input #${i} (${what}, '${node.inputs[i]}') must be known at import time, but it depends on the network's input data`);
  return tensorNumbers(t);
}

export const numel = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

export function normAxis(node: OnnxNode, axis: number, rank: number, what = 'axis'): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) fail(node, `${what} ${axis} is out of range for rank ${rank}`);
  return axis < 0 ? axis + rank : axis;
}

/** numpy broadcasting of two or more shapes. */
export function broadcastShapes(node: OnnxNode, shapes: number[][]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[s.length - rank + i] ?? 1;
      if (v === 1) continue;
      if (d !== 1 && d !== v) fail(node, `shapes ${shapes.map((x) => JSON.stringify(x)).join(' and ')} do not broadcast`);
      d = v;
    }
    out.push(shapes.some((s) => (s[s.length - rank + i] ?? 1) === 0) ? 0 : d);
  }
  return out;
}

/** Explicit pads [begin…, end…] and output sizes of a convolution or pooling window over spatial sizes `size`. */
function windows(
  node: OnnxNode,
  size: number[],
  kernel: number[],
  strides: number[],
  dilations: number[],
  ceil: boolean,
): { pads: number[]; out: number[] } {
  const n = size.length;
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  const pads = attrInts(node, 'pads') ?? new Array<number>(2 * n).fill(0);
  if (pads.length !== 2 * n) fail(node, `pads has ${pads.length} values, expected ${2 * n}`);
  if (pads.some((p) => p < 0)) fail(node, `negative pads ${JSON.stringify(pads)}`);
  const out: number[] = [];
  const resolved = [...pads];
  for (let i = 0; i < n; i++) {
    const eff = (kernel[i]! - 1) * dilations[i]! + 1;
    const s = strides[i]!;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      const o = Math.ceil(size[i]! / s);
      const total = Math.max(0, (o - 1) * s + eff - size[i]!);
      const small = Math.floor(total / 2);
      resolved[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      resolved[i + n] = total - resolved[i]!;
      out.push(o);
      continue;
    }
    if (autoPad === 'VALID') {
      resolved[i] = 0;
      resolved[i + n] = 0;
    } else if (autoPad !== 'NOTSET') fail(node, `auto_pad '${autoPad}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID`);
    const span = size[i]! + resolved[i]! + resolved[i + n]! - eff;
    if (span < 0) fail(node, `the window (${eff}) is larger than the padded input (${size[i]! + resolved[i]! + resolved[i + n]!})`);
    let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
    // With ceil_mode the last window must start inside the input or its left padding (PyTorch's and ONNX's rule).
    if (ceil && (o - 1) * s >= size[i]! + resolved[i]!) o--;
    out.push(o);
  }
  return { pads: resolved, out };
}

function spatialAttrs(node: OnnxNode, name: string, n: number, dflt: number): number[] {
  const v = attrInts(node, name) ?? new Array<number>(n).fill(dflt);
  if (v.length !== n) fail(node, `${name} has ${v.length} values, expected ${n}`);
  if (v.some((x) => !(x >= 1))) fail(node, `${name} ${JSON.stringify(v)} must be positive`);
  return v;
}

function requireRank(node: OnnxNode, shape: number[], rank: number, what = 'input'): void {
  if (shape.length !== rank) fail(node, `${what} has shape ${JSON.stringify(shape)}; only rank ${rank} is supported`);
}

function onlyFirstOutput(node: OnnxNode, what: string): void {
  if (node.outputs.slice(1).some((o) => o !== '')) fail(node, `the optional outputs beyond the first (${what}) are not supported`);
}

function conv(node: OnnxNode, ctx: ShapeContext): Canonical {
  const x = ctx.shape(node.inputs[0]!);
  const w = ctx.shape(node.inputs[1]!);
  requireRank(node, x, 4, 'input X');
  requireRank(node, w, 4, 'weight W');
  const group = attrInt(node, 'group', 1);
  const kernel = attrInts(node, 'kernel_shape') ?? w.slice(2);
  if (kernel[0] !== w[2] || kernel[1] !== w[3]) fail(node, `kernel_shape ${JSON.stringify(kernel)} differs from the weight's ${JSON.stringify(w.slice(2))}`);
  if (x[1] !== w[1]! * group || w[0]! % group !== 0) fail(node, `input channels ${x[1]} and weight ${JSON.stringify(w)} do not match group ${group}`);
  if (has(node, 2)) {
    const b = ctx.shape(node.inputs[2]!);
    if (b.length !== 1 || b[0] !== w[0]) fail(node, `bias shape ${JSON.stringify(b)} is not [${w[0]}]`);
  }
  const strides = spatialAttrs(node, 'strides', 2, 1);
  const dilations = spatialAttrs(node, 'dilations', 2, 1);
  const { pads, out } = windows(node, x.slice(2), kernel, strides, dilations, false);
  return {
    inputs: node.inputs.filter((s) => s !== ''),
    attrs: { kernel, strides, dilations, pads, group },
    outShapes: [[x[0]!, w[0]!, out[0]!, out[1]!]],
  };
}

function pool(node: OnnxNode, ctx: ShapeContext): Canonical {
  const x = ctx.shape(node.inputs[0]!);
  requireRank(node, x, 4);
  if (node.opType === 'MaxPool' && node.outputs.length > 1 && node.outputs[1] !== '') fail(node, 'the Indices output is not supported');
  const kernel = attrInts(node, 'kernel_shape');
  if (!kernel || kernel.length !== 2) fail(node, 'kernel_shape must give two sizes');
  const strides = spatialAttrs(node, 'strides', 2, 1);
  const dilations = spatialAttrs(node, 'dilations', 2, 1);
  const ceil = attrInt(node, 'ceil_mode', 0) === 1;
  const { pads, out } = windows(node, x.slice(2), kernel, strides, dilations, ceil);
  const attrs: CanonicalAttrs = { kernel, strides, dilations, pads, ceil_mode: ceil ? 1 : 0 };
  if (node.opType === 'AveragePool') attrs['count_include_pad'] = attrInt(node, 'count_include_pad', 0);
  return { inputs: [node.inputs[0]!], attrs, outShapes: [[x[0]!, x[1]!, out[0]!, out[1]!]] };
}

function gemm(node: OnnxNode, ctx: ShapeContext): Canonical {
  const a = ctx.shape(node.inputs[0]!);
  const b = ctx.shape(node.inputs[1]!);
  requireRank(node, a, 2, 'A');
  requireRank(node, b, 2, 'B');
  const transA = attrInt(node, 'transA', 0);
  const transB = attrInt(node, 'transB', 0);
  const [m, k] = transA ? [a[1]!, a[0]!] : [a[0]!, a[1]!];
  const [k2, n] = transB ? [b[1]!, b[0]!] : [b[0]!, b[1]!];
  if (k !== k2) fail(node, `A ${JSON.stringify(a)} and B ${JSON.stringify(b)} (transA ${transA}, transB ${transB}) do not multiply`);
  if (has(node, 2)) {
    const c = ctx.shape(node.inputs[2]!);
    const bc = broadcastShapes(node, [c, [m, n]]);
    if (bc[0] !== m || bc[1] !== n) fail(node, `C ${JSON.stringify(c)} does not broadcast to [${m}, ${n}]`);
  }
  return {
    inputs: node.inputs.filter((s) => s !== ''),
    attrs: { alpha: attrFloat(node, 'alpha', 1), beta: attrFloat(node, 'beta', 1), transA, transB },
    outShapes: [[m, n]],
  };
}

function matmul(node: OnnxNode, ctx: ShapeContext): Canonical {
  const a = ctx.shape(node.inputs[0]!);
  const b = ctx.shape(node.inputs[1]!);
  if (a.length === 0 || b.length === 0) fail(node, 'scalar operands');
  const a2 = a.length === 1 ? [1, a[0]!] : a;
  const b2 = b.length === 1 ? [b[0]!, 1] : b;
  if (a2[a2.length - 1] !== b2[b2.length - 2]) fail(node, `${JSON.stringify(a)} and ${JSON.stringify(b)} do not multiply`);
  const batch = broadcastShapes(node, [a2.slice(0, -2), b2.slice(0, -2)]);
  const out = [...batch];
  if (a.length > 1) out.push(a2[a2.length - 2]!);
  if (b.length > 1) out.push(b2[b2.length - 1]!);
  return { inputs: [node.inputs[0]!, node.inputs[1]!], attrs: {}, outShapes: [out] };
}

function reshapeTarget(node: OnnxNode, x: number[], target: number[], allowzero: boolean): number[] {
  const out = target.map((d, i) => (d === 0 && !allowzero ? (x[i] ?? fail(node, `shape ${JSON.stringify(target)}: 0 at #${i} copies a dimension the input lacks`)) : d));
  const neg = out.filter((d) => d === -1).length;
  if (neg > 1 || out.some((d) => d < -1)) fail(node, `shape ${JSON.stringify(target)} is invalid`);
  if (neg === 1) {
    const known = numel(out.filter((d) => d !== -1));
    if (known === 0 || numel(x) % known !== 0) fail(node, `cannot reshape ${JSON.stringify(x)} to ${JSON.stringify(target)}`);
    out[out.indexOf(-1)] = numel(x) / known;
  }
  if (numel(out) !== numel(x)) fail(node, `cannot reshape ${JSON.stringify(x)} (${numel(x)} elements) to ${JSON.stringify(target)}`);
  return out;
}

/** ONNX Slice's clamping: per sliced axis, a start in range and an end such that ceil((end − start)/step) ≥ 0 elements. */
export function sliceParams(node: OnnxNode, x: number[], ctx: ShapeContext): { starts: number[]; ends: number[]; axes: number[]; steps: number[]; out: number[] } {
  let starts: number[] | undefined, ends: number[] | undefined, axes: number[] | undefined, steps: number[] | undefined;
  if (ctx.opset < 10) {
    starts = attrInts(node, 'starts');
    ends = attrInts(node, 'ends');
    axes = attrInts(node, 'axes');
  } else {
    starts = paramNumbers(node, 1, ctx, 'starts');
    ends = paramNumbers(node, 2, ctx, 'ends');
    axes = paramNumbers(node, 3, ctx, 'axes');
    steps = paramNumbers(node, 4, ctx, 'steps');
  }
  if (!starts || !ends || starts.length !== ends.length) fail(node, 'starts and ends must be given with equal lengths');
  axes ??= starts.map((_, i) => i);
  steps ??= starts.map(() => 1);
  if (axes.length !== starts.length || steps.length !== starts.length) fail(node, 'starts, ends, axes and steps differ in length');
  const out = [...x];
  const nAxes = axes.map((a) => normAxis(node, a, x.length));
  if (new Set(nAxes).size !== nAxes.length) fail(node, `repeated axes ${JSON.stringify(axes)}`);
  const s2: number[] = [];
  const e2: number[] = [];
  nAxes.forEach((a, i) => {
    const dim = x[a]!;
    const step = steps![i]!;
    if (step === 0) fail(node, 'a step of 0');
    let s = starts![i]!;
    let e = ends![i]!;
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    if (step > 0) {
      s = Math.min(Math.max(s, 0), dim);
      e = Math.min(Math.max(e, 0), dim);
    } else {
      s = Math.min(Math.max(s, 0), dim - 1);
      e = Math.min(Math.max(e, -1), dim - 1);
    }
    s2.push(s);
    e2.push(e);
    out[a] = Math.max(0, Math.ceil((e - s) / step));
  });
  return { starts: s2, ends: e2, axes: nAxes, steps, out };
}

function axesParam(node: OnnxNode, ctx: ShapeContext, inputFrom: number): number[] | undefined {
  return ctx.opset >= inputFrom ? paramNumbers(node, 1, ctx, 'axes') : attrInts(node, 'axes');
}

/** Canonical form and output shapes of a supported op (see docs/onnx.md for each op's attributes). */
export function canonicalize(node: OnnxNode, ctx: ShapeContext): Canonical {
  const op = node.opType as SupportedOp;
  const x = (): number[] => ctx.shape(node.inputs[0]!);
  const same = (attrs: CanonicalAttrs = {}): Canonical => ({ inputs: [node.inputs[0]!], attrs, outShapes: [x()] });
  switch (op) {
    case 'Conv':
      return conv(node, ctx);
    case 'MaxPool':
    case 'AveragePool':
      return pool(node, ctx);
    case 'GlobalAveragePool': {
      const s = x();
      if (s.length < 3) fail(node, `input of rank ${s.length}`);
      return { inputs: [node.inputs[0]!], attrs: {}, outShapes: [[s[0]!, s[1]!, ...s.slice(2).map(() => 1)]] };
    }
    case 'BatchNormalization': {
      if (attrInt(node, 'training_mode', 0) !== 0) fail(node, 'training_mode=1 (only inference BatchNormalization is supported)');
      if (ctx.opset < 9 && attrInt(node, 'spatial', 1) !== 1) fail(node, 'spatial=0 is not supported');
      onlyFirstOutput(node, 'training statistics');
      const s = x();
      if (s.length < 2) fail(node, `input of rank ${s.length}`);
      for (let i = 1; i < 5; i++) {
        const p = ctx.shape(node.inputs[i] ?? fail(node, 'needs 5 inputs'));
        if (p.length !== 1 || p[0] !== s[1]) fail(node, `input #${i} has shape ${JSON.stringify(p)}, expected [${s[1]}]`);
      }
      return { inputs: node.inputs.slice(0, 5), attrs: { epsilon: attrFloat(node, 'epsilon', 1e-5) }, outShapes: [s] };
    }
    case 'Relu':
    case 'Sigmoid':
    case 'HardSwish':
      return same();
    case 'LeakyRelu':
      return same({ alpha: attrFloat(node, 'alpha', 0.01) });
    case 'HardSigmoid':
      return same({ alpha: attrFloat(node, 'alpha', 0.2), beta: attrFloat(node, 'beta', 0.5) });
    case 'Clip': {
      let min: number | undefined, max: number | undefined;
      if (ctx.opset < 11) {
        min = attrFloat(node, 'min');
        max = attrFloat(node, 'max');
      } else {
        min = paramNumbers(node, 1, ctx, 'min')?.[0];
        max = paramNumbers(node, 2, ctx, 'max')?.[0];
      }
      return same({ min: min ?? -Infinity, max: max ?? Infinity });
    }
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div':
      return {
        inputs: [node.inputs[0]!, node.inputs[1]!],
        attrs: {},
        outShapes: [broadcastShapes(node, [ctx.shape(node.inputs[0]!), ctx.shape(node.inputs[1]!)])],
      };
    case 'ReduceMean': {
      const s = x();
      const given = axesParam(node, ctx, 18);
      const keepdims = attrInt(node, 'keepdims', 1);
      const noop = attrInt(node, 'noop_with_empty_axes', 0);
      const axes = given && given.length ? [...new Set(given.map((a) => normAxis(node, a, s.length)))].sort((a, b) => a - b) : noop ? [] : s.map((_, i) => i);
      const out = keepdims ? s.map((d, i) => (axes.includes(i) ? 1 : d)) : s.filter((_, i) => !axes.includes(i));
      return { inputs: [node.inputs[0]!], attrs: { axes, keepdims }, outShapes: [out] };
    }
    case 'Concat': {
      const shapes = node.inputs.filter((s) => s !== '').map((n) => ctx.shape(n));
      const rank = shapes[0]!.length;
      const axis = normAxis(node, attrInt(node, 'axis') ?? fail(node, 'no axis'), rank);
      const out = [...shapes[0]!];
      out[axis] = 0;
      for (const s of shapes) {
        if (s.length !== rank || s.some((d, i) => i !== axis && d !== shapes[0]![i])) fail(node, `inputs ${shapes.map((q) => JSON.stringify(q)).join(', ')} differ off axis ${axis}`);
        out[axis]! += s[axis]!;
      }
      return { inputs: node.inputs.filter((s) => s !== ''), attrs: { axis }, outShapes: [out] };
    }
    case 'Flatten': {
      const s = x();
      let axis = attrInt(node, 'axis', 1);
      if (axis < -s.length || axis > s.length) fail(node, `axis ${axis} out of range for rank ${s.length}`);
      if (axis < 0) axis += s.length;
      return { inputs: [node.inputs[0]!], attrs: { axis }, outShapes: [[numel(s.slice(0, axis)), numel(s.slice(axis))]] };
    }
    case 'Reshape': {
      const target = paramNumbers(node, 1, ctx, 'shape') ?? fail(node, 'no shape');
      const shape = reshapeTarget(node, x(), target, attrInt(node, 'allowzero', 0) === 1);
      return { inputs: [node.inputs[0]!], attrs: { shape }, outShapes: [shape] };
    }
    case 'Transpose': {
      const s = x();
      const perm = attrInts(node, 'perm') ?? s.map((_, i) => s.length - 1 - i);
      if (perm.length !== s.length || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) fail(node, `perm ${JSON.stringify(perm)} for rank ${s.length}`);
      return { inputs: [node.inputs[0]!], attrs: { perm }, outShapes: [perm.map((p) => s[p]!)] };
    }
    case 'Squeeze': {
      const s = x();
      const given = axesParam(node, ctx, 13);
      const axes = given ? given.map((a) => normAxis(node, a, s.length)) : s.flatMap((d, i) => (d === 1 ? [i] : []));
      for (const a of axes) if (s[a] !== 1) fail(node, `axis ${a} has size ${s[a]}, not 1`);
      return { inputs: [node.inputs[0]!], attrs: { axes: [...axes].sort((a, b) => a - b) }, outShapes: [s.filter((_, i) => !axes.includes(i))] };
    }
    case 'Unsqueeze': {
      const s = x();
      const given = axesParam(node, ctx, 13) ?? fail(node, 'no axes');
      const rank = s.length + given.length;
      const axes = given.map((a) => normAxis(node, a, rank)).sort((a, b) => a - b);
      if (new Set(axes).size !== axes.length) fail(node, `repeated axes ${JSON.stringify(given)}`);
      const out: number[] = [];
      let j = 0;
      for (let i = 0; i < rank; i++) out.push(axes.includes(i) ? 1 : s[j++]!);
      return { inputs: [node.inputs[0]!], attrs: { axes }, outShapes: [out] };
    }
    case 'Slice': {
      const { out, ...p } = sliceParams(node, x(), ctx);
      return { inputs: [node.inputs[0]!], attrs: p, outShapes: [out] };
    }
    case 'Split': {
      const s = x();
      const axis = normAxis(node, attrInt(node, 'axis', 0), s.length);
      const outputs = node.outputs.length;
      let split = ctx.opset >= 13 ? paramNumbers(node, 1, ctx, 'split') : attrInts(node, 'split');
      if (!split) {
        const numOutputs = attrInt(node, 'num_outputs') ?? outputs;
        const chunk = Math.ceil(s[axis]! / numOutputs);
        split = Array.from({ length: numOutputs }, (_, i) => Math.max(0, Math.min(chunk, s[axis]! - i * chunk)));
        if (attrInt(node, 'num_outputs') === undefined && s[axis]! % numOutputs !== 0) fail(node, `axis ${axis} of size ${s[axis]} does not split evenly into ${numOutputs}`);
      }
      if (split.length !== outputs || split.reduce((a, b) => a + b, 0) !== s[axis]) fail(node, `split ${JSON.stringify(split)} does not cover axis ${axis} (${s[axis]}) in ${outputs} outputs`);
      return { inputs: [node.inputs[0]!], attrs: { axis, split }, outShapes: split.map((n) => s.map((d, i) => (i === axis ? n : d))) };
    }
    case 'Pad': {
      const s = x();
      const mode = attrString(node, 'mode', 'constant');
      if (mode !== 'constant' && mode !== 'edge') fail(node, `mode '${mode}' (only constant and edge are supported)`);
      let pads: number[];
      let value = 0;
      if (ctx.opset < 11) {
        pads = attrInts(node, 'pads') ?? fail(node, 'no pads');
        value = attrFloat(node, 'value', 0);
      } else {
        const given = paramNumbers(node, 1, ctx, 'pads') ?? fail(node, 'no pads');
        value = paramNumbers(node, 2, ctx, 'constant_value')?.[0] ?? 0;
        const axesIn = paramNumbers(node, 3, ctx, 'axes');
        if (axesIn) {
          const axes = axesIn.map((a) => normAxis(node, a, s.length));
          if (given.length !== 2 * axes.length) fail(node, `pads ${JSON.stringify(given)} for axes ${JSON.stringify(axesIn)}`);
          pads = new Array<number>(2 * s.length).fill(0);
          axes.forEach((a, i) => {
            pads[a] = given[i]!;
            pads[a + s.length] = given[i + axes.length]!;
          });
        } else pads = given;
      }
      if (pads.length !== 2 * s.length) fail(node, `pads has ${pads.length} values for rank ${s.length}`);
      const out = s.map((d, i) => d + pads[i]! + pads[i + s.length]!);
      if (out.some((d) => d < 0)) fail(node, `pads ${JSON.stringify(pads)} crop ${JSON.stringify(s)} below zero`);
      if (mode === 'edge' && s.some((d, i) => d === 0 && out[i]! > 0)) fail(node, 'edge padding of an empty axis');
      return { inputs: [node.inputs[0]!], attrs: { mode, pads, value }, outShapes: [out] };
    }
    case 'Gemm':
      return gemm(node, ctx);
    case 'MatMul':
      return matmul(node, ctx);
    case 'Softmax':
    case 'LogSoftmax': {
      const s = x();
      const legacy = ctx.opset < 13;
      const axis = normAxis(node, attrInt(node, 'axis', legacy ? 1 : -1), s.length);
      // Before opset 13 the input was coerced to 2-D at `axis`: the normalisation runs over every axis from it on.
      const axes = legacy ? s.slice(axis).map((_, i) => axis + i) : [axis];
      return same({ axes });
    }
  }
  return fail(node, 'not a supported op');
}
