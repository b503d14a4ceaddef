// Keras HDF5 weight files (model.save_weights / keras.applications *.h5), read and written through h5wasm on
// its in-memory file system, so the API is bytes in, bytes out.
//
// Layout: the root (or /model_weights in a full-model file) has the attribute layer_names; each layer group has
// the attribute weight_names, whose entries are dataset paths relative to the group:
//   Keras 2:          block1_conv1/kernel:0             → /block1_conv1/block1_conv1/kernel:0
//   nested (TF 2.x):  block1_conv1/block1_conv1/kernel:0
//   Keras 1 (the official VGG16 notop file): block1_conv1_W_1:0, block1_conv1_b_1:0
// Tensors are named `<layer>/<weight>` with Keras 2 weight names (kernel, bias, …).
import type { Attribute, Dataset, File as H5File, Group } from 'h5wasm';
import { type HostTensor, type NamedArrays, WeightFormatError } from './types.js';
import { checkTensor, dtypeOf, numel } from './tensor.js';

type H5Lib = typeof import('h5wasm').default;
type H5FS = NonNullable<Awaited<H5Lib['ready']>['FS']>;

interface H5Runtime {
  lib: H5Lib;
  FS: H5FS;
  /** What the HDF5 library printed on its error stream since the last reset (diagnostic stacks). */
  diag: { text: string };
}

let runtime: Promise<H5Runtime> | null = null;
let fileCounter = 0;

/** Loads h5wasm once and routes HDF5's stderr into a buffer, so diagnostics become error messages, not noise. */
function h5(): Promise<H5Runtime> {
  runtime ??= (async () => {
    const lib = (await import('h5wasm')).default;
    const mod = await lib.ready;
    const FS = mod.FS as H5FS;
    const diag = { text: '' };
    const fs = FS as unknown as {
      makedev(ma: number, mi: number): number;
      registerDevice(dev: number, ops: object): void;
      mkdev(path: string, mode: number, dev: number): void;
      getStream(fd: number): unknown;
      close(stream: unknown): void;
      open(path: string, flags: string): { fd: number };
    };
    try {
      const dev = fs.makedev(64, 0);
      const dec = new TextDecoder();
      fs.registerDevice(dev, {
        open() {},
        close() {},
        read() {
          return 0;
        },
        write(_s: unknown, buffer: Uint8Array, offset: number, length: number) {
          if (diag.text.length < 65536) diag.text += dec.decode(buffer.subarray(offset, offset + length));
          return length;
        },
      });
      fs.mkdev('/dev/h5diag', 0o666, dev);
      const s2 = fs.getStream(2);
      if (s2) fs.close(s2);
      fs.open('/dev/h5diag', 'w');
    } catch {
      // Diagnostics keep going to the console; parsing is unaffected.
    }
    return { lib, FS, diag };
  })();
  return runtime;
}

/** The innermost message of an HDF5 error stack ("H5Fopen: unable to open file; file signature not found"). */
function summarize(diag: string): string {
  const frames = [...diag.matchAll(/#\d+: .* in (\w+)\(\): (.*)\n(?:\s*major: (.*)\n)?(?:\s*minor: (.*))?/g)];
  if (!frames.length) return '';
  const first = frames[0]!;
  const last = frames[frames.length - 1]!;
  const parts = [`${first[1]}: ${first[2]}`];
  if (last !== first) parts.push(last[2]!);
  if (last[4]) parts.push(last[4]);
  return parts.join('; ');
}

function asError(e: unknown, rt: H5Runtime | null, file: string | undefined, what: string): WeightFormatError {
  if (e instanceof WeightFormatError) return e;
  const detail = (rt && summarize(rt.diag.text)) || (e instanceof Error ? e.message : String(e));
  return new WeightFormatError(`${what}${detail ? ` (${detail})` : ''}`, file);
}

/** Decodes a string-list attribute (fixed or variable length, str or bytes); an empty numeric array is an empty list. */
function stringList(attr: Attribute | undefined, what: string, file?: string): string[] | null {
  if (!attr) return null;
  const v = attr.value;
  if (v === null || v === undefined) return [];
  const dec = new TextDecoder();
  const one = (x: unknown): string => {
    if (typeof x === 'string') return x.replace(/\0+$/, '');
    if (x instanceof Uint8Array) return dec.decode(x).replace(/\0+$/, '');
    throw new WeightFormatError(`attribute ${what} holds ${typeof x} values, expected strings`, file);
  };
  if (typeof v === 'string') return [one(v)];
  if (Array.isArray(v)) return v.map(one);
  if (ArrayBuffer.isView(v) && (v as unknown as ArrayLike<unknown>).length === 0) return [];
  throw new WeightFormatError(`attribute ${what} is not a list of strings`, file);
}

/** Reads an attribute that Keras may have split into name0, name1, … when it exceeded the HDF5 header limit. */
function chunkedStringList(attrs: Record<string, Attribute>, name: string, where: string, file?: string): string[] | null {
  const whole = stringList(attrs[name], `${where}${name}`, file);
  if (whole) return whole;
  if (!attrs[`${name}0`]) return null;
  const out: string[] = [];
  for (let k = 0; attrs[`${name}${k}`]; k++) out.push(...stringList(attrs[`${name}${k}`], `${where}${name}${k}`, file)!);
  return out;
}

const KNOWN_WEIGHTS = new Set(['kernel', 'bias', 'gamma', 'beta', 'moving_mean', 'moving_variance', 'depthwise_kernel', 'pointwise_kernel', 'embeddings']);

/** The Keras 2 name of one stored weight: 'block1_conv1/kernel:0', '…/block1_conv1/kernel:0' or 'block1_conv1_W_1:0' → 'block1_conv1/kernel'. */
export function kerasWeightName(layer: string, stored: string): string {
  let w = stored.replace(/:\d+$/, '');
  w = w.slice(w.lastIndexOf('/') + 1);
  if (!KNOWN_WEIGHTS.has(w)) {
    const m = /^(?:(.*)_)?(W|b)(?:_\d+)?$/.exec(w);
    if (m && (m[1] === undefined || m[1] === layer)) w = m[2] === 'W' ? 'kernel' : 'bias';
  }
  return `${layer}/${w}`;
}

const H5T_INTEGER = 0;
const H5T_FLOAT = 1;

function readDataset(ds: Dataset, fileSize: number, file: string | undefined, name: string): HostTensor {
  const md = ds.metadata;
  const shape = md.shape ?? [];
  const n = numel(shape, file, name);
  const sizeNeeded = n * md.size;
  // An uncompressed dataset can't hold more than the file; a corrupt header must not trigger a huge allocation.
  const compressed = ds.filters.length > 0;
  if (!compressed ? sizeNeeded > fileSize : sizeNeeded > 1 << 30) {
    throw new WeightFormatError(`dataset '${name}' claims ${sizeNeeded} bytes of data but the file has ${fileSize}`, file, name);
  }
  if (md.vlen || (md.type !== H5T_FLOAT && md.type !== H5T_INTEGER)) {
    throw new WeightFormatError(`dataset '${name}' has HDF5 type class ${md.type}${md.vlen ? ' (variable length)' : ''}, expected numbers`, file, name);
  }
  if (md.type === H5T_FLOAT && md.size !== 4 && md.size !== 8) {
    throw new WeightFormatError(`dataset '${name}' holds ${md.size * 8}-bit floats; only 32- and 64-bit are read`, file, name);
  }
  let v = ds.value as unknown;
  if (typeof v === 'number' || typeof v === 'bigint') v = md.type === H5T_FLOAT ? new Float64Array([Number(v)]) : v;
  let data: HostTensor['data'];
  if (v instanceof Float32Array) data = v.slice();
  else if (v instanceof Float64Array) data = Float32Array.from(v);
  else if (v instanceof Int32Array || v instanceof Uint32Array || v instanceof Uint8Array || v instanceof BigInt64Array) {
    data = v.slice() as HostTensor['data'];
  } else if (v instanceof Int16Array || v instanceof Uint16Array || v instanceof Int8Array) {
    data = Int32Array.from(v);
  } else {
    throw new WeightFormatError(`dataset '${name}' has an unsupported element type (HDF5 class ${md.type}, ${md.size} bytes)`, file, name);
  }
  const t: HostTensor = { shape: [...shape], data };
  if (data.length !== n) throw new WeightFormatError(`dataset '${name}' has shape [${shape.join(', ')}] but ${data.length} values were read`, file, name);
  return t;
}

function isGroup(x: unknown, lib: H5Lib): x is Group {
  return x instanceof lib.Group;
}

/**
 * Parses a Keras weights HDF5 file. Returns `<layer>/<weight>` tensors in the file's layer order; kernels keep
 * the Keras layout (conv HWIO, dense [in, out]).
 */
export async function parseKerasH5(bytes: Uint8Array, file?: string): Promise<NamedArrays> {
  let rt: H5Runtime | null = null;
  const path = `/keras-in-${++fileCounter}.h5`;
  let f: H5File | null = null;
  try {
    if (bytes.length < 8 || !(bytes[0] === 0x89 && bytes[1] === 0x48 && bytes[2] === 0x44 && bytes[3] === 0x46)) {
      throw new WeightFormatError('not an HDF5 file (signature \\x89HDF missing)', file);
    }
    rt = await h5();
    rt.diag.text = '';
    rt.FS.writeFile(path, bytes);
    f = new rt.lib.File(path, 'r');
    if (f.file_id < 0n) {
      f = null;
      throw asError(null, rt, file, 'not a readable HDF5 file');
    }
    let root: Group = f;
    let layers = chunkedStringList(root.attrs, 'layer_names', '/', file);
    if (!layers) {
      const mw = root.get('model_weights');
      if (isGroup(mw, rt.lib)) {
        root = mw;
        layers = chunkedStringList(root.attrs, 'layer_names', '/model_weights/', file);
      }
    }
    if (!layers) throw new WeightFormatError('no layer_names attribute: not a Keras weights file', file);
    const out: NamedArrays = new Map();
    for (const layer of layers) {
      const g = root.get(layer);
      if (!isGroup(g, rt.lib)) throw new WeightFormatError(`layer '${layer}' listed in layer_names has no group`, file, layer);
      const weights = chunkedStringList(g.attrs, 'weight_names', `${g.path}/`, file);
      if (!weights) throw new WeightFormatError(`layer '${layer}' has no weight_names attribute`, file, layer);
      for (const w of weights) {
        const ds = g.get(w) ?? root.get(w);
        const name = kerasWeightName(layer, w);
        if (!(ds instanceof rt.lib.Dataset)) throw new WeightFormatError(`weight '${w}' of layer '${layer}' is not a dataset in the file`, file, name);
        if (out.has(name)) throw new WeightFormatError(`two weights of layer '${layer}' map to the same name '${name}'`, file, name);
        out.set(name, readDataset(ds, bytes.length, file, name));
      }
    }
    return out;
  } catch (e) {
    throw asError(e, rt, file, 'not a readable Keras HDF5 file');
  } finally {
    try {
      f?.close();
    } catch {
      // A half-open file from a corrupt header: nothing more to release.
    }
    try {
      rt?.FS.unlink(path);
    } catch {
      // Never written.
    }
  }
}

export type KerasWeightNameStyle = 'keras2' | 'nested' | 'keras1';

export interface KerasH5WriteOptions {
  /** How weight_names are spelled (see the file comment); default 'keras2'. */
  style?: KerasWeightNameStyle;
  /** Root attribute keras_version; default '2.2.4'. */
  kerasVersion?: string;
}

const H5_DTYPE = { f32: '<f', i32: '<i', u32: '<I', u8: '<B', i64: '<q' } as const;

function storedName(layer: string, weight: string, style: KerasWeightNameStyle): string {
  if (style === 'keras1') {
    const short = weight === 'kernel' ? 'W' : weight === 'bias' ? 'b' : weight;
    return `${layer}_${short}_1:0`;
  }
  return style === 'nested' ? `${layer}/${layer}/${weight}:0` : `${layer}/${weight}:0`;
}

/**
 * Writes tensors named `<layer>/<weight>` in the Keras weights layout. `layerOrder` lists every layer in model
 * order, weightless ones (pools, inputs) included; each tensor's layer must be in it.
 */
export async function writeKerasH5(tensors: NamedArrays, layerOrder: string[], opts: KerasH5WriteOptions = {}): Promise<Uint8Array> {
  const style = opts.style ?? 'keras2';
  const byLayer = new Map<string, [string, HostTensor][]>(layerOrder.map((l) => [l, []]));
  if (byLayer.size !== layerOrder.length) throw new WeightFormatError('layerOrder lists a layer twice');
  for (const [name, t] of tensors) {
    checkTensor(name, t);
    const cut = name.lastIndexOf('/');
    if (cut <= 0) throw new WeightFormatError(`tensor name '${name}' is not <layer>/<weight>`, undefined, name);
    const list = byLayer.get(name.slice(0, cut));
    if (!list) throw new WeightFormatError(`tensor '${name}' belongs to a layer missing from layerOrder`, undefined, name);
    list.push([name.slice(cut + 1), t]);
  }
  const rt = await h5();
  const path = `/keras-out-${++fileCounter}.h5`;
  const fixedType = (xs: string[]): string => `S${Math.max(1, ...xs.map((x) => new TextEncoder().encode(x).length))}`;
  const f = new rt.lib.File(path, 'w');
  try {
    f.create_attribute('layer_names', layerOrder, null, fixedType(layerOrder));
    f.create_attribute('backend', 'tensorflow');
    f.create_attribute('keras_version', opts.kerasVersion ?? '2.2.4');
    for (const [layer, weights] of byLayer) {
      const g = f.create_group(layer);
      const stored = weights.map(([w]) => storedName(layer, w, style));
      g.create_attribute('weight_names', stored, null, fixedType(stored));
      weights.forEach(([, t], k) => {
        const parts = stored[k]!.split('/');
        let parent: Group = g;
        for (const p of parts.slice(0, -1)) parent = (parent.get(p) as Group | null) ?? parent.create_group(p);
        const kind = dtypeOf(t) as keyof typeof H5_DTYPE;
        parent.create_dataset({ name: parts[parts.length - 1]!, data: t.data, shape: t.shape, dtype: H5_DTYPE[kind] });
      });
    }
    f.close();
    return rt.FS.readFile(path).slice();
  } catch (e) {
    try {
      f.close();
    } catch {
      // Already closed.
    }
    throw asError(e, rt, undefined, 'could not write the Keras HDF5 file');
  } finally {
    try {
      rt.FS.unlink(path);
    } catch {
      // Never created.
    }
  }
}
