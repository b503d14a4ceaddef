// ONNX models as a pure parser: bytes of a .onnx file (a protobuf ModelProto) → a typed model (opsets, graph inputs
// and outputs with element types and shapes, initializers as typed arrays, nodes with decoded attributes), and bytes
// of a serialized TensorProto (the conformance tests' input_*.pb / output_*.pb) → a tensor. No GPU, no files:
// the same code runs in a browser. Decoding is protobufjs's (light build, schema in onnx-schema.ts).
import protobuf from 'protobufjs/light.js';
import { ONNX_SCHEMA } from './onnx-schema.js';
import { halfToFloat } from './tensor.js';

/** Raised for bytes that are not a readable ONNX model or tensor; names the file and, where known, the tensor. */
export class OnnxFormatError extends Error {
  constructor(
    message: string,
    readonly file?: string,
    readonly tensor?: string,
  ) {
    super(file ? `${file}: ${message}` : message);
    this.name = 'OnnxFormatError';
  }
}

/** Element types as this reader hands them out. float16 and bfloat16 are widened to float32 on reading. */
export type OnnxDType = 'float32' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'uint16' | 'uint32' | 'bool';
export type OnnxData = Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array | Uint16Array | Uint32Array;

export interface OnnxTensor {
  name: string;
  dtype: OnnxDType;
  /** The TensorProto data_type as written in the file (e.g. 10 for float16, although `data` is then float32). */
  fileType: number;
  dims: number[];
  /** Row-major. bool is a Uint8Array of 0/1; int64 is a BigInt64Array (see `int64Numbers`). */
  data: OnnxData;
}

/** A dimension: a static size, a symbolic name (dim_param), or null when the file says nothing. */
export type OnnxDim = number | string | null;

export interface OnnxValueInfo {
  name: string;
  /** The element type's ONNX name ('float', 'int64', …), or 'unknown' / 'sequence' / 'map' for what is not a tensor. */
  elemType: string;
  /** undefined: the file gives no shape (rank unknown). */
  shape?: OnnxDim[];
}

export type OnnxAttribute =
  | { type: 'float'; value: number }
  | { type: 'int'; value: number }
  | { type: 'string'; value: string }
  | { type: 'tensor'; value: OnnxTensor }
  | { type: 'floats'; value: number[] }
  | { type: 'ints'; value: number[] }
  | { type: 'strings'; value: string[] }
  | { type: 'tensors'; value: OnnxTensor[] }
  /** Subgraphs (If/Loop/Scan bodies), sparse tensors, type protos: recorded, never executed; reading one throws. */
  | { type: 'unsupported'; kind: string };

export interface OnnxNode {
  name: string;
  opType: string;
  /** '' is the default ONNX domain ('ai.onnx' is normalised to ''). */
  domain: string;
  /** '' marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attributes: Record<string, OnnxAttribute>;
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  /** Graph inputs that are not initializers (IR < 4 files list initializers as inputs too; those are left out here). */
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  initializers: Map<string, OnnxTensor>;
  valueInfo: OnnxValueInfo[];
  /** Names of sparse initializers (not supported: an op reading one fails at import). */
  sparseInitializers: string[];
}

export interface OnnxOpset {
  domain: string;
  version: number;
}

export interface OnnxModel {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: number;
  docString: string;
  opsets: OnnxOpset[];
  /** The default domain's opset version (0 when the file imports none). */
  opset: number;
  metadata: Record<string, string>;
  /** Names of model-local functions (not supported: a node calling one is an unsupported op). */
  functions: string[];
  graph: OnnxGraph;
}

/** The TensorProto.DataType names (index = enum value). */
const DATA_TYPE_NAMES = [
  'undefined', 'float', 'uint8', 'int8', 'uint16', 'int16', 'int32', 'int64', 'string', 'bool', 'float16', 'double',
  'uint32', 'uint64', 'complex64', 'complex128', 'bfloat16', 'float8e4m3fn', 'float8e4m3fnuz', 'float8e5m2',
  'float8e5m2fnuz', 'uint4', 'int4', 'float4e2m1',
];
export const ONNX_DATA_TYPE = {
  FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9, FLOAT16: 10, DOUBLE: 11,
  UINT32: 12, UINT64: 13, BFLOAT16: 16,
} as const;

export function onnxDataTypeName(t: number): string {
  return DATA_TYPE_NAMES[t] ?? `data type ${t}`;
}

/** The largest protobuf message: protobuf (and so ONNX) cannot describe more than 2 GiB in one file. */
export const ONNX_MAX_BYTES = 2 ** 31 - 1;

// ---------------------------------------------------------------------------------------------------------------
// protobufjs plumbing: the decoded messages, loosely typed.

type Int64 = number | { low: number; high: number; unsigned?: boolean };
interface RawEntry { key: string; value: string }
interface RawTensor {
  dims: Int64[]; dataType: number; segment: unknown; floatData: number[]; int32Data: number[]; stringData: Uint8Array[];
  int64Data: Int64[]; name: string; rawData: Uint8Array; externalData: RawEntry[]; dataLocation: number;
  doubleData: number[]; uint64Data: Int64[];
}
interface RawDim { dimValue: Int64 | null; dimParam: string | null; value?: string }
interface RawType { tensorType: { elemType: number; shape: { dim: RawDim[] } | null } | null; sequenceType: unknown; mapType: unknown; optionalType: unknown; sparseTensorType: unknown }
interface RawValueInfo { name: string; type: RawType | null }
interface RawAttribute {
  name: string; refAttrName: string; type: number; f: number; i: Int64; s: Uint8Array; t: RawTensor | null; g: unknown;
  sparseTensor: unknown; tp: unknown; floats: number[]; ints: Int64[]; strings: Uint8Array[]; tensors: RawTensor[];
  graphs: unknown[]; sparseTensors: unknown[]; typeProtos: unknown[];
}
interface RawNode { input: string[]; output: string[]; name: string; opType: string; domain: string; attribute: RawAttribute[] }
interface RawGraph {
  node: RawNode[]; name: string; initializer: RawTensor[]; sparseInitializer: { values: RawTensor | null }[];
  input: RawValueInfo[]; output: RawValueInfo[]; valueInfo: RawValueInfo[];
}
interface RawModel {
  irVersion: Int64; opsetImport: { domain: string; version: Int64 }[]; producerName: string; producerVersion: string;
  domain: string; modelVersion: Int64; docString: string; graph: RawGraph | null; metadataProps: RawEntry[];
  functions: { name: string; domain: string }[];
}

let types: { model: protobuf.Type; tensor: protobuf.Type } | undefined;
function schema(): { model: protobuf.Type; tensor: protobuf.Type } {
  if (!types) {
    const root = protobuf.Root.fromJSON(ONNX_SCHEMA);
    types = { model: root.lookupType('onnx.ModelProto'), tensor: root.lookupType('onnx.TensorProto') };
  }
  return types;
}

function decode<T>(type: protobuf.Type, bytes: Uint8Array, what: string, file?: string): T {
  try {
    return type.decode(bytes) as unknown as T;
  } catch (e) {
    const msg = (e as Error).message ?? String(e);
    const truncated = /index out of range|out of range/i.test(msg);
    throw new OnnxFormatError(
      truncated
        ? `not a complete ${what}: the protobuf data ends inside a field (truncated file?) (${msg})`
        : `not a valid ${what} (is this an ONNX file?): ${msg}`,
      file,
    );
  }
}

/** An int64 as protobufjs hands it (a number, or a Long when long.js is loaded) → bigint, exact. */
function toBigInt(v: Int64): bigint {
  if (typeof v === 'number') {
    // Without long.js protobufjs gives hi·2³²+lo as a double: exact up to 2⁵³, saturating for the INT64 sentinels.
    if (v >= 2 ** 63) return 0x7fffffffffffffffn;
    if (v <= -(2 ** 63)) return -0x8000000000000000n;
    return BigInt(Math.trunc(v));
  }
  const b = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  return v.unsigned ? b : BigInt.asIntN(64, b);
}
/** An int64 → number (sentinels such as INT64_MAX become ±9.22e18, which is what clamping code needs). */
function toNumber(v: Int64): number {
  return typeof v === 'number' ? v : Number(toBigInt(v));
}

// ---------------------------------------------------------------------------------------------------------------
// Tensors

/** int64 data as numbers; throws when a value is not exactly representable (|v| > 2⁵³), naming the tensor. */
export function int64Numbers(t: OnnxTensor): number[] {
  const out: number[] = [];
  for (const v of t.data) {
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw new OnnxFormatError(`int64 value ${v} of tensor '${t.name}' is not a safe integer`);
    out.push(n);
  }
  return out;
}

/** A tensor's values as numbers (int64 saturating to ±9.22e18 beyond 2⁵³, bool as 0/1), for shape arithmetic. */
export function tensorNumbers(t: OnnxTensor): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
}

function dimsOf(raw: RawTensor, name: string, file?: string): number[] {
  return raw.dims.map((d) => {
    const n = toNumber(d);
    if (!Number.isSafeInteger(n) || n < 0) throw new OnnxFormatError(`tensor '${name}' has an invalid dimension ${String(n)}`, file, name);
    return n;
  });
}

/** A fresh, aligned copy (in Node protobufjs hands out Buffer views, whose slice() shares memory). */
function copyAligned(bytes: Uint8Array): ArrayBuffer {
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out.buffer;
}

function checkCount(name: string, got: number, want: number, how: string, file?: string): void {
  if (got !== want) throw new OnnxFormatError(`tensor '${name}' holds ${got} values in ${how} but its dims call for ${want}`, file, name);
}

/** A decoded TensorProto → an OnnxTensor; external data and unsupported element types throw, naming the tensor. */
function readTensor(raw: RawTensor, file?: string, fallbackName = '(unnamed)'): OnnxTensor {
  const name = raw.name || fallbackName;
  const fileType = raw.dataType;
  if (raw.dataLocation === 1 || raw.externalData.length > 0) {
    const location = raw.externalData.find((e) => e.key === 'location')?.value ?? '(no location given)';
    throw new OnnxFormatError(
      `tensor '${name}' keeps its data in an external file ('${location}'); external data is not supported — ` +
        `save the model with its weights inside the .onnx file (onnx.save_model(model, path, save_as_external_data=False), possible below 2 GB)`,
      file,
      name,
    );
  }
  if (raw.segment) throw new OnnxFormatError(`tensor '${name}' is a segment of a larger tensor (not supported)`, file, name);
  const dims = dimsOf(raw, name, file);
  const count = dims.reduce((a, b) => a * b, 1);
  const rawBytes = raw.rawData;
  const hasRaw = rawBytes.length > 0;
  const fromRaw = <T>(itemSize: number, make: (buf: ArrayBuffer) => T): T => {
    if (rawBytes.length !== count * itemSize)
      throw new OnnxFormatError(
        `tensor '${name}' has ${rawBytes.length} bytes of raw_data but dims ${JSON.stringify(dims)} of ${onnxDataTypeName(fileType)} need ${count * itemSize}`,
        file,
        name,
      );
    return make(copyAligned(rawBytes));
  };
  switch (fileType) {
    case ONNX_DATA_TYPE.FLOAT: {
      if (hasRaw) return { name, dtype: 'float32', fileType, dims, data: fromRaw(4, (b) => new Float32Array(b)) };
      checkCount(name, raw.floatData.length, count, 'float_data', file);
      return { name, dtype: 'float32', fileType, dims, data: Float32Array.from(raw.floatData) };
    }
    case ONNX_DATA_TYPE.DOUBLE: {
      if (hasRaw) return { name, dtype: 'float64', fileType, dims, data: fromRaw(8, (b) => new Float64Array(b)) };
      checkCount(name, raw.doubleData.length, count, 'double_data', file);
      return { name, dtype: 'float64', fileType, dims, data: Float64Array.from(raw.doubleData) };
    }
    case ONNX_DATA_TYPE.FLOAT16:
    case ONNX_DATA_TYPE.BFLOAT16: {
      const half = fileType === ONNX_DATA_TYPE.FLOAT16 ? halfToFloat : (h: number) => new Float32Array(new Uint32Array([h << 16]).buffer)[0]!;
      let bits: Uint16Array;
      if (hasRaw) bits = fromRaw(2, (b) => new Uint16Array(b));
      else {
        // float16 values travel in int32_data, one per element, low 16 bits.
        checkCount(name, raw.int32Data.length, count, 'int32_data', file);
        bits = Uint16Array.from(raw.int32Data, (v) => v & 0xffff);
      }
      const data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = half(bits[i]!);
      return { name, dtype: 'float32', fileType, dims, data };
    }
    case ONNX_DATA_TYPE.INT64: {
      if (hasRaw) return { name, dtype: 'int64', fileType, dims, data: fromRaw(8, (b) => new BigInt64Array(b)) };
      checkCount(name, raw.int64Data.length, count, 'int64_data', file);
      return { name, dtype: 'int64', fileType, dims, data: BigInt64Array.from(raw.int64Data, toBigInt) };
    }
    case ONNX_DATA_TYPE.INT32:
    case ONNX_DATA_TYPE.INT16:
    case ONNX_DATA_TYPE.INT8:
    case ONNX_DATA_TYPE.UINT16:
    case ONNX_DATA_TYPE.UINT8:
    case ONNX_DATA_TYPE.BOOL: {
      const spec = {
        [ONNX_DATA_TYPE.INT32]: ['int32', 4, Int32Array],
        [ONNX_DATA_TYPE.INT16]: ['int16', 2, Int16Array],
        [ONNX_DATA_TYPE.INT8]: ['int8', 1, Int8Array],
        [ONNX_DATA_TYPE.UINT16]: ['uint16', 2, Uint16Array],
        [ONNX_DATA_TYPE.UINT8]: ['uint8', 1, Uint8Array],
        [ONNX_DATA_TYPE.BOOL]: ['bool', 1, Uint8Array],
      } as const;
      const [dtype, size, Ctor] = spec[fileType];
      if (hasRaw) return { name, dtype, fileType, dims, data: fromRaw(size, (b) => new Ctor(b)) };
      // Every integer type narrower than 64 bits travels in int32_data.
      checkCount(name, raw.int32Data.length, count, 'int32_data', file);
      const data = new Ctor(count);
      for (let i = 0; i < count; i++) data[i] = dtype === 'bool' ? (raw.int32Data[i] ? 1 : 0) : raw.int32Data[i]!;
      return { name, dtype, fileType, dims, data };
    }
    case ONNX_DATA_TYPE.UINT32: {
      if (hasRaw) return { name, dtype: 'uint32', fileType, dims, data: fromRaw(4, (b) => new Uint32Array(b)) };
      checkCount(name, raw.uint64Data.length, count, 'uint64_data', file);
      return { name, dtype: 'uint32', fileType, dims, data: Uint32Array.from(raw.uint64Data, (v) => Number(toBigInt(v))) };
    }
    default:
      throw new OnnxFormatError(`tensor '${name}' has element type ${onnxDataTypeName(fileType)}, which this reader does not support`, file, name);
  }
}

/** A serialized TensorProto (the conformance tests' input_K.pb / output_K.pb) → a tensor. */
export function parseOnnxTensor(bytes: Uint8Array, file?: string): OnnxTensor {
  if (bytes.length === 0) throw new OnnxFormatError('empty file, not a TensorProto', file);
  const raw = decode<RawTensor>(schema().tensor, bytes, 'ONNX TensorProto', file);
  if (!raw.dataType) throw new OnnxFormatError('not an ONNX TensorProto: no data_type', file);
  return readTensor(raw, file);
}

// ---------------------------------------------------------------------------------------------------------------
// Graphs

function readValueInfo(v: RawValueInfo): OnnxValueInfo {
  const t = v.type;
  if (!t) return { name: v.name, elemType: 'unknown' };
  if (!t.tensorType) return { name: v.name, elemType: t.sequenceType ? 'sequence' : t.mapType ? 'map' : t.optionalType ? 'optional' : t.sparseTensorType ? 'sparse tensor' : 'unknown' };
  const elemType = onnxDataTypeName(t.tensorType.elemType);
  const shape = t.tensorType.shape;
  if (!shape) return { name: v.name, elemType };
  return {
    name: v.name,
    elemType,
    // The oneof discriminator says which field was on the wire: an unset dimension is unknown, not 0.
    shape: shape.dim.map((d) => (d.value === 'dimValue' ? toNumber(d.dimValue!) : d.value === 'dimParam' && d.dimParam ? d.dimParam : null)),
  };
}

const utf8 = new TextDecoder();

function readAttribute(a: RawAttribute, node: string, file?: string): OnnxAttribute {
  // The `type` field is required since IR version 3; older writers omit it, so fall back on which field is set.
  let type = a.type;
  if (!type) {
    if (a.floats.length) type = 6;
    else if (a.ints.length) type = 7;
    else if (a.strings.length) type = 8;
    else if (a.tensors.length) type = 9;
    else if (a.graphs.length) type = 10;
    else if (a.t) type = 4;
    else if (a.g) type = 5;
    else if (a.s.length) type = 3;
    else if (toNumber(a.i) !== 0) type = 2;
    else type = 1;
  }
  const where = `attribute '${a.name}' of node '${node}'`;
  const tensor = (t: RawTensor, i?: number): OnnxTensor => readTensor(t, file, `${node}.${a.name}${i === undefined ? '' : `[${i}]`}`);
  switch (type) {
    case 1: return { type: 'float', value: a.f };
    case 2: return { type: 'int', value: toNumber(a.i) };
    case 3: return { type: 'string', value: utf8.decode(a.s) };
    case 4:
      if (!a.t) throw new OnnxFormatError(`${where} is a tensor attribute without a tensor`, file);
      return { type: 'tensor', value: tensor(a.t) };
    case 5: return { type: 'unsupported', kind: 'graph' };
    case 6: return { type: 'floats', value: Array.from(a.floats) };
    case 7: return { type: 'ints', value: a.ints.map(toNumber) };
    case 8: return { type: 'strings', value: a.strings.map((s) => utf8.decode(s)) };
    case 9: return { type: 'tensors', value: a.tensors.map((t, i) => tensor(t, i)) };
    case 10: return { type: 'unsupported', kind: 'graphs' };
    case 11: return { type: 'unsupported', kind: 'sparse tensor' };
    case 12: return { type: 'unsupported', kind: 'sparse tensors' };
    case 13: return { type: 'unsupported', kind: 'type proto' };
    case 14: return { type: 'unsupported', kind: 'type protos' };
    default: throw new OnnxFormatError(`${where} has unknown attribute type ${type}`, file);
  }
}

function readGraph(g: RawGraph, file?: string): OnnxGraph {
  const initializers = new Map<string, OnnxTensor>();
  g.initializer.forEach((t, i) => {
    const x = readTensor(t, file, `initializer #${i}`);
    initializers.set(x.name, x);
  });
  const nodes: OnnxNode[] = g.node.map((n, i) => {
    const name = n.name || `${n.opType}_${i}`;
    const attributes: Record<string, OnnxAttribute> = {};
    for (const a of n.attribute) {
      if (a.refAttrName) throw new OnnxFormatError(`attribute '${a.name}' of node '${name}' refers to a function attribute (only valid inside functions)`, file);
      attributes[a.name] = readAttribute(a, name, file);
    }
    return { name, opType: n.opType, domain: n.domain === 'ai.onnx' ? '' : n.domain, inputs: Array.from(n.input), outputs: Array.from(n.output), attributes };
  });
  return {
    name: g.name,
    nodes,
    inputs: g.input.filter((v) => !initializers.has(v.name)).map(readValueInfo),
    outputs: g.output.map(readValueInfo),
    initializers,
    valueInfo: g.valueInfo.map(readValueInfo),
    sparseInitializers: g.sparseInitializer.map((s, i) => s.values?.name || `sparse initializer #${i}`),
  };
}

/**
 * The bytes of a .onnx file → the model. Throws OnnxFormatError for bytes that are not an ONNX model (naming what is
 * wrong: truncated, no graph, a tensor with external data, a file over 2 GB…), never returns a half-read model.
 */
export function parseOnnx(bytes: Uint8Array, file?: string): OnnxModel {
  if (bytes.length === 0) throw new OnnxFormatError('empty file, not an ONNX model', file);
  if (bytes.length > ONNX_MAX_BYTES)
    throw new OnnxFormatError(
      `${bytes.length} bytes: a single ONNX protobuf cannot exceed 2 GB; models this large keep their weights as external data, which is not supported`,
      file,
    );
  const raw = decode<RawModel>(schema().model, bytes, 'ONNX model', file);
  const irVersion = toNumber(raw.irVersion);
  if (!raw.graph) throw new OnnxFormatError('not an ONNX model: no graph (is this an ONNX file?)', file);
  if (irVersion <= 0) throw new OnnxFormatError('not an ONNX model: no ir_version (is this an ONNX file?)', file);
  if (irVersion > 64) throw new OnnxFormatError(`not an ONNX model: ir_version ${irVersion} is implausible (is this an ONNX file?)`, file);
  const opsets = raw.opsetImport.map((o) => ({ domain: o.domain === 'ai.onnx' ? '' : o.domain, version: toNumber(o.version) }));
  // Required since IR version 3; writers put it after the graph, so a file cut there decodes without one.
  if (irVersion >= 3 && opsets.length === 0) throw new OnnxFormatError('no opset_import (a truncated file, or not an ONNX model)', file);
  const graph = readGraph(raw.graph, file);
  if (graph.nodes.some((n) => !n.opType)) throw new OnnxFormatError('not an ONNX model: a node without op_type', file);
  const metadata: Record<string, string> = {};
  for (const e of raw.metadataProps) metadata[e.key] = e.value;
  return {
    irVersion,
    producerName: raw.producerName,
    producerVersion: raw.producerVersion,
    domain: raw.domain,
    modelVersion: toNumber(raw.modelVersion),
    docString: raw.docString,
    opsets,
    // IR version 3+ requires an opset import; a file without one is read as opset 1 by the ONNX checker.
    opset: opsets.find((o) => o.domain === '')?.version ?? 0,
    metadata,
    functions: raw.functions.map((f) => `${f.domain ? `${f.domain}.` : ''}${f.name}`),
    graph,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Attributes and Constant nodes

function attrOf(node: OnnxNode, name: string): OnnxAttribute | undefined {
  const a = node.attributes[name];
  if (a?.type === 'unsupported') throw new OnnxFormatError(`node '${node.name}' (${node.opType}): attribute '${name}' is a ${a.kind}, which is not supported`);
  return a;
}
function wrongType(node: OnnxNode, name: string, a: OnnxAttribute, want: string): never {
  throw new OnnxFormatError(`node '${node.name}' (${node.opType}): attribute '${name}' is of type ${a.type}, expected ${want}`);
}
export function attrInt(node: OnnxNode, name: string, dflt: number): number;
export function attrInt(node: OnnxNode, name: string): number | undefined;
export function attrInt(node: OnnxNode, name: string, dflt?: number): number | undefined {
  const a = attrOf(node, name);
  if (!a) return dflt;
  return a.type === 'int' ? a.value : wrongType(node, name, a, 'int');
}
export function attrFloat(node: OnnxNode, name: string, dflt: number): number;
export function attrFloat(node: OnnxNode, name: string): number | undefined;
export function attrFloat(node: OnnxNode, name: string, dflt?: number): number | undefined {
  const a = attrOf(node, name);
  if (!a) return dflt;
  return a.type === 'float' ? a.value : a.type === 'int' ? a.value : wrongType(node, name, a, 'float');
}
export function attrString(node: OnnxNode, name: string, dflt: string): string;
export function attrString(node: OnnxNode, name: string): string | undefined;
export function attrString(node: OnnxNode, name: string, dflt?: string): string | undefined {
  const a = attrOf(node, name);
  if (!a) return dflt;
  return a.type === 'string' ? a.value : wrongType(node, name, a, 'string');
}
export function attrInts(node: OnnxNode, name: string): number[] | undefined {
  const a = attrOf(node, name);
  if (!a) return undefined;
  return a.type === 'ints' ? a.value : a.type === 'int' ? [a.value] : wrongType(node, name, a, 'ints');
}
export function attrFloats(node: OnnxNode, name: string): number[] | undefined {
  const a = attrOf(node, name);
  if (!a) return undefined;
  return a.type === 'floats' ? a.value : a.type === 'float' ? [a.value] : wrongType(node, name, a, 'floats');
}
export function attrTensor(node: OnnxNode, name: string): OnnxTensor | undefined {
  const a = attrOf(node, name);
  if (!a) return undefined;
  return a.type === 'tensor' ? a.value : wrongType(node, name, a, 'tensor');
}

/** The value of a `Constant` node (value, value_float(s), value_int(s); strings and sparse values are refused). */
export function constantNodeValue(node: OnnxNode): OnnxTensor {
  const name = node.outputs[0] ?? node.name;
  const t = attrTensor(node, 'value');
  if (t) return { ...t, name };
  const f = attrFloat(node, 'value_float');
  if (f !== undefined && node.attributes['value_float']) return { name, dtype: 'float32', fileType: 1, dims: [], data: Float32Array.of(f) };
  const fs = attrFloats(node, 'value_floats');
  if (fs) return { name, dtype: 'float32', fileType: 1, dims: [fs.length], data: Float32Array.from(fs) };
  const i = attrInt(node, 'value_int');
  if (i !== undefined) return { name, dtype: 'int64', fileType: 7, dims: [], data: BigInt64Array.of(BigInt(i)) };
  const is = attrInts(node, 'value_ints');
  if (is) return { name, dtype: 'int64', fileType: 7, dims: [is.length], data: BigInt64Array.from(is, (v) => BigInt(v)) };
  const kinds = Object.keys(node.attributes).join(', ') || 'none';
  throw new OnnxFormatError(`Constant node '${node.name}': value of kind ${kinds} is not supported (only tensors, floats and ints)`);
}
