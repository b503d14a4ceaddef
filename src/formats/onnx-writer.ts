// An ExportGraph (export-graph.ts) as an ONNX model (opset 13), encoded with protobufjs and the reader's own schema
// (onnx-schema.ts). The graph input `image` is NHWC [N, H, W, 3] RGB pixels in 0–255 (what decoders hand out); it is
// transposed once to ONNX's NCHW, every convolution and pool runs NCHW, and a Flatten of a feature map transposes back
// to NHWC first, so the flattened order (and so the Dense kernel) is the engine's. Every tensor the graph makes is
// typed (value_info with static shapes, the batch dimension symbolic `N`); nodes are in topological order.
import protobuf from 'protobufjs/light.js';
import { ONNX_SCHEMA } from './onnx-schema.js';
import { checkExportGraph, EXPORT_INPUT, EXPORT_OUTPUT, type ExportGraph, type ExportNode, type Pads } from './export-graph.js';

export const ONNX_EXPORT_OPSET = 13;
const IR_VERSION = 8;
const FLOAT = 1;
const INT64 = 7;

type Dim = number | 'N';
type Obj = Record<string, unknown>;
type Attr = number | number[] | string | { float: number };

function attr(name: string, v: Attr): Obj {
  if (typeof v === 'string') return { name, type: 3, s: new TextEncoder().encode(v) };
  if (typeof v === 'number') return { name, type: 2, i: v };
  if (Array.isArray(v)) return { name, type: 7, ints: v };
  return { name, type: 1, f: v.float };
}

function valueInfo(name: string, dims: readonly Dim[], elemType = FLOAT): Obj {
  return { name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } } };
}

function bytesOf(a: Float32Array | BigInt64Array): Uint8Array {
  // A copy: rawData must own exactly its bytes (a view into a larger buffer would be encoded whole by some paths).
  return new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}

/** HWIO [kh, kw, in, out] → OIHW. */
export function hwioToOihw(k: Float32Array, [kh, kw, ci, co]: readonly number[]): Float32Array {
  const out = new Float32Array(k.length);
  for (let y = 0; y < kh!; y++)
    for (let x = 0; x < kw!; x++)
      for (let i = 0; i < ci!; i++)
        for (let o = 0; o < co!; o++) out[((o * ci! + i) * kh! + y) * kw! + x] = k[((y * kw! + x) * ci! + i) * co! + o]!;
  return out;
}

interface Value {
  /** The ONNX tensor name. */
  name: string;
  /** NCHW for feature maps, [N, F] for vectors; the input is NHWC. */
  layout: 'nhwc' | 'nchw' | 'flat';
}

const root = protobuf.Root.fromJSON(ONNX_SCHEMA);
const ModelProto = root.lookupType('onnx.ModelProto');

/** The default domain's opset an encoded model imports. */
export function onnxOpsetOf(bytes: Uint8Array): number {
  const m = ModelProto.toObject(ModelProto.decode(bytes), { longs: Number }) as { opsetImport?: { domain?: string; version?: number }[] };
  return Number(m.opsetImport?.find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 0);
}

interface SourcePart {
  /** The source's image input (fed by the export's preprocessing). */
  input: string;
  nodes: Obj[];
  initializers: Obj[];
  opset: number;
  irVersion: number;
  otherOpsets: { domain: string; version: number }[];
}

/**
 * The nodes of an ONNX file that `output` needs, in the file's (topological) order, with the initializers they read,
 * as decoded protobuf objects (re-encoded unchanged). Refused: subgraph attributes, external data, opsets before 11
 * (the export's own Clip and Pad take their bounds as inputs), and anything but one image input.
 */
function sourcePart(bytes: Uint8Array, output: string, name: string): SourcePart {
  const m = ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, defaults: false }) as Obj;
  const g = m['graph'] as Obj;
  const all = (g['node'] as Obj[] | undefined) ?? [];
  const inits = (g['initializer'] as Obj[] | undefined) ?? [];
  const initNames = new Set(inits.map((t) => t['name'] as string));
  const producer = new Map<string, Obj>();
  for (const nd of all) for (const o of (nd['output'] as string[] | undefined) ?? []) producer.set(o, nd);
  if (!producer.has(output)) throw new Error(`ONNX export: the base '${name}': the source has no node writing '${output}'`);
  const need = new Set<Obj>();
  const used = new Set<string>();
  const stack = [output];
  while (stack.length) {
    const t = stack.pop()!;
    if (used.has(t)) continue;
    used.add(t);
    const p = producer.get(t);
    if (!p || need.has(p)) continue;
    need.add(p);
    for (const i of (p['input'] as string[] | undefined) ?? []) if (i) stack.push(i);
  }
  const nodes = all.filter((nd) => need.has(nd));
  for (const nd of nodes) {
    for (const a of (nd['attribute'] as Obj[] | undefined) ?? []) {
      if (a['g'] || (a['graphs'] as unknown[] | undefined)?.length) throw new Error(`ONNX export: the base '${name}': node '${String(nd['name'])}' (${String(nd['opType'])}) has a subgraph, which the export does not copy`);
    }
  }
  const initializers = inits.filter((t) => used.has(t['name'] as string));
  for (const t of initializers) if ((t['externalData'] as unknown[] | undefined)?.length) throw new Error(`ONNX export: the base '${name}': initializer '${String(t['name'])}' is stored outside the file (external data)`);
  const inputs = (((g['input'] as Obj[] | undefined) ?? []).map((v) => v['name'] as string)).filter((i) => !initNames.has(i) && used.has(i));
  if (inputs.length !== 1) throw new Error(`ONNX export: the base '${name}' reads ${inputs.length} graph inputs (${inputs.join(', ')}); one image input is needed`);
  const opsets = ((m['opsetImport'] as Obj[] | undefined) ?? []).map((o) => ({ domain: (o['domain'] as string | undefined) ?? '', version: Number(o['version']) }));
  const opset = opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 0;
  if (opset < 11) throw new Error(`ONNX export: the base '${name}' uses opset ${opset}; the export needs 11 or later (convert the file with onnx.version_converter)`);
  return { input: inputs[0]!, nodes, initializers, opset, irVersion: Number(m['irVersion'] ?? 0), otherOpsets: opsets.filter((o) => o.domain !== '' && o.domain !== 'ai.onnx') };
}

/** The ONNX bytes of a classifier graph. */
export function writeOnnxClassifier(g: ExportGraph, opts: { producerVersion?: string; docString?: string } = {}): Uint8Array {
  checkExportGraph(g);
  const nodes: Obj[] = [];
  const inits: Obj[] = [];
  const infos = new Map<string, readonly Dim[]>();
  const values = new Map<string, Value>();
  const [H, W] = g.inputShape;
  values.set(EXPORT_INPUT, { name: EXPORT_INPUT, layout: 'nhwc' });
  const shapes = new Map<string, readonly number[]>([[EXPORT_INPUT, g.inputShape]]);
  let opset = ONNX_EXPORT_OPSET;
  let irVersion = IR_VERSION;
  const extraOpsets: { domain: string; version: number }[] = [];

  const f32 = (name: string, dims: number[], data: Float32Array): string => {
    if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`ONNX export: initializer '${name}' has ${data.length} values for dims [${dims.join(', ')}]`);
    inits.push({ name, dims, dataType: FLOAT, rawData: bytesOf(data) });
    return name;
  };
  const i64 = (name: string, vals: number[]): string => {
    inits.push({ name, dims: [vals.length], dataType: INT64, rawData: bytesOf(BigInt64Array.from(vals, (v) => BigInt(v))) });
    return name;
  };
  const scalar = (name: string, v: number): string => {
    inits.push({ name, dims: [], dataType: FLOAT, rawData: bytesOf(Float32Array.of(v)) });
    return name;
  };
  const emit = (opType: string, name: string, inputs: string[], out: string, dims: readonly Dim[], attrs: Record<string, Attr> = {}): string => {
    nodes.push({ opType, name, input: inputs, output: [out], attribute: Object.entries(attrs).map(([k, v]) => attr(k, v)) });
    infos.set(out, dims);
    return out;
  };
  const nchwDims = (s: readonly number[]): Dim[] => ['N', s[2]!, s[0]!, s[1]!];
  let relu6Bounds: [string, string] | null = null;
  const activation = (n: ExportNode, x: string, dims: readonly Dim[], act: string): string => {
    if (act === 'linear') return x;
    if (act === 'relu') return emit('Relu', `${n.name}_relu`, [x], `${n.name}_relu`, dims);
    if (act === 'relu6') {
      relu6Bounds ??= [scalar('relu6_min', 0), scalar('relu6_max', 6)];
      return emit('Clip', `${n.name}_relu6`, [x, ...relu6Bounds], `${n.name}_relu6`, dims);
    }
    if (act === 'sigmoid') return emit('Sigmoid', `${n.name}_sigmoid`, [x], `${n.name}_sigmoid`, dims);
    if (act === 'softmax') return emit('Softmax', `${n.name}_softmax`, [x], `${n.name}_softmax`, dims, { axis: -1 });
    throw new Error(`ONNX export: node '${n.name}': unknown activation '${act}'`);
  };
  /** A feature map as NCHW (the image input transposed once). */
  const nchw = (input: string): string => {
    const v = values.get(input)!;
    if (v.layout === 'nchw') return v.name;
    if (v.layout === 'flat') throw new Error(`ONNX export: '${input}' is a vector, not a feature map`);
    const s = shapes.get(input)!;
    const t = emit('Transpose', `${input}_nchw`, [v.name], `${input}_nchw`, nchwDims(s), { perm: [0, 3, 1, 2] });
    values.set(input, { name: t, layout: 'nchw' });
    return t;
  };
  const onnxPads = ([t, b, l, r]: Pads): number[] => [t, l, b, r];

  for (const n of g.nodes) {
    const inShape = shapes.get(n.inputs[0]!)!;
    const dims: Dim[] = n.shape.length === 3 ? nchwDims(n.shape) : ['N', ...n.shape];
    let out: string;
    let layout: Value['layout'] = n.shape.length === 3 ? 'nchw' : 'flat';
    switch (n.op) {
      case 'preprocess': {
        const w = new Float32Array(9);
        for (let o = 0; o < 3; o++) w[o * 3 + n.source[o]!] = n.scale[o]!;
        out = emit('Conv', n.name, [nchw(n.inputs[0]!), f32(`${n.name}_W`, [3, 3, 1, 1], w), f32(`${n.name}_B`, [3], Float32Array.from(n.offset))], n.name, dims, {
          kernel_shape: [1, 1],
        });
        break;
      }
      case 'conv2d': {
        const [kh, kw, , co] = n.kernelShape;
        const ins = [nchw(n.inputs[0]!), f32(`${n.name}_W`, [co, n.kernelShape[2], kh, kw], hwioToOihw(n.kernel, n.kernelShape))];
        if (n.bias) ins.push(f32(`${n.name}_B`, [co], n.bias));
        const y = emit('Conv', n.name, ins, n.name, dims, { kernel_shape: [kh, kw], strides: [n.strides, n.strides], pads: onnxPads(n.pads) });
        out = activation(n, y, dims, n.activation);
        break;
      }
      case 'depthwise2d': {
        const [kh, kw, c] = n.kernelShape;
        // [kh, kw, C, 1] → [C, 1, kh, kw]: HWIO with I = C and O = 1 transposed as a grouped convolution's weight.
        const w = hwioToOihw(n.kernel, [kh, kw, c, 1]);
        const ins = [nchw(n.inputs[0]!), f32(`${n.name}_W`, [c, 1, kh, kw], w)];
        if (n.bias) ins.push(f32(`${n.name}_B`, [c], n.bias));
        const y = emit('Conv', n.name, ins, n.name, dims, { kernel_shape: [kh, kw], strides: [n.strides, n.strides], pads: onnxPads(n.pads), group: c });
        out = activation(n, y, dims, n.activation);
        break;
      }
      case 'maxpool':
        out = emit('MaxPool', n.name, [nchw(n.inputs[0]!)], n.name, dims, { kernel_shape: [n.size, n.size], strides: [n.strides, n.strides], pads: onnxPads(n.pads) });
        break;
      case 'zeropad': {
        const [t, b, l, r] = n.pads;
        out = emit('Pad', n.name, [nchw(n.inputs[0]!), i64(`${n.name}_pads`, [0, 0, t, l, 0, 0, b, r])], n.name, dims, { mode: 'constant' });
        break;
      }
      case 'onnx': {
        const part = sourcePart(n.source, n.output, n.name);
        const x = nchw(n.inputs[0]!);
        // The source's image input is fed by our preprocessing's output; every other name gets the `base/` prefix.
        const rename = (t: string): string => (t === '' ? t : t === part.input ? x : `base/${t}`);
        for (const nd of part.nodes) {
          nd.input = (nd.input as string[]).map(rename);
          nd.output = (nd.output as string[]).map(rename);
          nd.name = `base/${(nd.name as string) || (nd.output as string[])[0]}`;
          nodes.push(nd);
        }
        for (const t of part.initializers) {
          t.name = rename(t.name as string);
          inits.push(t);
        }
        opset = Math.max(opset, part.opset);
        irVersion = Math.max(irVersion, part.irVersion);
        for (const o of part.otherOpsets) if (!extraOpsets.some((e) => e.domain === o.domain)) extraOpsets.push(o);
        out = rename(n.output);
        infos.set(out, n.shape.length === 3 ? nchwDims(n.shape) : ['N', ...n.shape]);
        break;
      }
      case 'gmp': {
        const c = inShape[2]!;
        const p = emit('GlobalMaxPool', n.name, [nchw(n.inputs[0]!)], `${n.name}_pooled`, ['N', c, 1, 1]);
        out = emit('Flatten', `${n.name}_flatten`, [p], n.name, ['N', c], { axis: 1 });
        break;
      }
      case 'gap': {
        const c = inShape[2]!;
        const p = emit('GlobalAveragePool', n.name, [nchw(n.inputs[0]!)], `${n.name}_pooled`, ['N', c, 1, 1]);
        out = emit('Flatten', `${n.name}_flatten`, [p], n.name, ['N', c], { axis: 1 });
        break;
      }
      case 'concat':
        out = emit('Concat', n.name, n.inputs.map(nchw), n.name, dims, { axis: 1 });
        break;
      case 'add':
        out = emit('Add', n.name, n.inputs.map(nchw), n.name, dims);
        break;
      case 'flatten': {
        const v = values.get(n.inputs[0]!)!;
        if (v.layout === 'flat') {
          out = v.name;
          break;
        }
        // The engine flattens NHWC: transpose back so the Dense kernel reads the features in its order.
        const x = nchw(n.inputs[0]!);
        const t = emit('Transpose', `${n.name}_nhwc`, [x], `${n.name}_nhwc`, ['N', ...inShape], { perm: [0, 2, 3, 1] });
        out = emit('Flatten', n.name, [t], n.name, ['N', n.shape[0]!], { axis: 1 });
        layout = 'flat';
        break;
      }
      case 'dense': {
        const [fi, fo] = n.kernelShape;
        const x = values.get(n.inputs[0]!)!;
        if (x.layout !== 'flat') throw new Error(`ONNX export: dense '${n.name}' needs a vector input, '${n.inputs[0]}' is a feature map`);
        const ins = [x.name, f32(`${n.name}_W`, [fi, fo], n.kernel)];
        if (n.bias) ins.push(f32(`${n.name}_B`, [fo], n.bias));
        const y = emit('Gemm', n.name, ins, n.name, ['N', fo]);
        out = activation(n, y, ['N', fo], n.activation);
        break;
      }
    }
    values.set(n.name, { name: out, layout });
    shapes.set(n.name, n.shape);
  }

  // The last tensor becomes the graph output `probabilities`.
  const last = values.get(g.nodes[g.nodes.length - 1]!.name)!;
  const outDims = infos.get(last.name)!;
  for (const nd of nodes) nd.output = (nd.output as string[]).map((o) => (o === last.name ? EXPORT_OUTPUT : o));
  infos.delete(last.name);

  const model = {
    irVersion,
    producerName: 'webgpu-transfer',
    producerVersion: opts.producerVersion ?? '',
    ...(opts.docString ? { docString: opts.docString } : {}),
    opsetImport: [{ domain: '', version: opset }, ...extraOpsets],
    metadataProps: Object.entries(g.metadata).map(([key, value]) => ({ key, value })),
    graph: {
      name: g.name,
      node: nodes,
      input: [valueInfo(EXPORT_INPUT, ['N', H, W, 3])],
      output: [valueInfo(EXPORT_OUTPUT, outDims)],
      initializer: inits,
      valueInfo: [...infos].map(([name, d]) => valueInfo(name, d)),
    },
  };
  const err = ModelProto.verify(model);
  if (err) throw new Error(`ONNX export: ${err}`);
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}
