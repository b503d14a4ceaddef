/**
 * protobufjs decodes a message type through code it generates at run time (`Function(source)`), which this page's
 * Content-Security-Policy (`script-src 'self'`, no 'unsafe-eval') forbids: reading an .onnx file in the tab would fail
 * with "Evaluating a string as JavaScript violates the following Content Security Policy directive". `decodeWithoutEval`
 * reads a message by walking its type's reflection (field ids, wire types, packed repeated numbers, nested messages,
 * oneofs) with protobufjs's own Reader, giving what the generated decoder gives; `installDecoderWithoutEval` makes it
 * every type's `decode` in the tab. Map and group fields (ONNX uses neither) are refused.
 */
import protobuf from 'protobufjs/light.js';

const { Reader, Writer, Type, Enum, types, util } = protobuf;
type Message = Record<string, unknown>;
type ReaderMethods = Record<string, (array?: unknown[]) => unknown>;

/** Field id → field, per type (fields resolved). */
const fieldsById = new WeakMap<protobuf.Type, Map<number, protobuf.Field>>();

function fieldsOf(type: protobuf.Type): Map<number, protobuf.Field> {
  let m = fieldsById.get(type);
  if (!m) {
    m = new Map();
    for (const f of type.fieldsArray) {
      f.resolve();
      if (f.map) throw new Error(`${type.fullName}.${f.name}: map fields are not supported by this decoder`);
      if ((f as protobuf.Field & { delimited?: boolean }).delimited) throw new Error(`${type.fullName}.${f.name}: group fields are not supported by this decoder`);
      m.set(f.id, f);
    }
    fieldsById.set(type, m);
  }
  return m;
}

/** The scalar type a field is read as ('int32' for enums), or null for a message field. */
function scalarType(f: protobuf.Field): string | null {
  if (f.resolvedType instanceof Enum) return 'int32';
  return (types.basic as Record<string, number | undefined>)[f.type] === undefined ? null : f.type;
}

/** The fields read from the wire, per decoded message (`toObjectWithoutEval(…, { defaults: false })` keeps only these). */
const seen = new WeakMap<Message, Set<string>>();

function seenFields(m: Message): Set<string> {
  let s = seen.get(m);
  if (!s) seen.set(m, (s = new Set()));
  return s;
}

/** A message with every field at its default, as protobufjs's: [] when repeated, null for messages, else the type's default (oneof members too; bytes: an empty array). */
function withDefaults(type: protobuf.Type): Message {
  const m: Message = {};
  for (const f of fieldsOf(type).values()) {
    if (f.repeated) m[f.name] = [];
    else if (scalarType(f) === null) m[f.name] = null;
    else m[f.name] = f.typeDefault;
  }
  return m;
}

function decodeInto(type: protobuf.Type, r: protobuf.Reader, length: number | undefined, depth: number, into?: Message): Message {
  if (depth > Reader.recursionLimit) throw new Error('max depth exceeded');
  const end = length === undefined ? r.len : r.pos + length;
  if (end > r.len) throw new RangeError('index out of range');
  const outer = r.len;
  r.len = end;
  const read = r as unknown as ReaderMethods;
  const fields = fieldsOf(type);
  const m = into ?? withDefaults(type);
  while (r.pos < end) {
    const tag = r.uint32();
    const id = tag >>> 3;
    const wire = tag & 7;
    if (id === 0) throw new Error('illegal tag: field number 0');
    const f = fields.get(id);
    if (f) seenFields(m).add(f.name);
    if (f) {
      const scalar = scalarType(f);
      const wireOf = scalar === null ? 2 : (types.basic as Record<string, number>)[scalar]!;
      if (f.repeated) {
        const list = m[f.name] as unknown[];
        if (scalar !== null && (types.packed as Record<string, number | undefined>)[scalar] !== undefined && wire === 2) {
          read[`${scalar}s`]!.call(r, list);
          continue;
        }
        if (wire === wireOf) {
          list.push(scalar === null ? decodeInto(f.resolvedType as protobuf.Type, r, r.uint32(), depth + 1) : read[scalar]!.call(r));
          continue;
        }
      } else if (wire === wireOf) {
        m[f.name] = scalar === null ? decodeInto(f.resolvedType as protobuf.Type, r, r.uint32(), depth + 1, (m[f.name] as Message | null) ?? undefined) : read[scalar]!.call(r);
        if (f.partOf) m[f.partOf.name] = f.name;
        continue;
      }
    }
    // Unknown fields, and known ones on an unexpected wire type, are skipped (as the generated decoder does).
    r.skipType(wire, depth, id);
  }
  if (r.pos !== end) throw new RangeError('index out of range');
  r.len = outer;
  return m;
}

/** One message of `type` from bytes (or a Reader, `length` bytes of it), without generating code. */
export function decodeWithoutEval(type: protobuf.Type, input: Uint8Array | protobuf.Reader, length?: number): Message {
  const r = input instanceof Reader ? input : Reader.create(input);
  return decodeInto(type, r, length, 0);
}

/** A Long (or a number) as a number, as the generated `toObject` gives it with `longs: Number`. */
function longToNumber(v: unknown, unsigned: boolean): unknown {
  if (typeof v === 'number' || v === null || typeof v !== 'object' || !('low' in v)) return v;
  const l = v as { low: number; high: number };
  return new util.LongBits(l.low >>> 0, l.high >>> 0).toNumber(unsigned);
}

export interface PlainOptions {
  /** Number: int64 fields as numbers (else as they are: a Long or a number). */
  longs?: NumberConstructor;
  /** Whether fields not read from the wire appear with their defaults (default false, as protobufjs's). */
  defaults?: boolean;
}

/**
 * A decoded message (from `decodeWithoutEval`) as a plain object, as the generated `toObject` gives it for these
 * options: without `defaults`, only the fields read from the wire (repeated ones when not empty); int64s as numbers
 * with `longs: Number`. Bytes stay Uint8Arrays, enums numbers.
 */
export function toObjectWithoutEval(type: protobuf.Type, m: Message, o: PlainOptions = {}): Message {
  const out: Message = {};
  const read = seen.get(m);
  for (const f of fieldsOf(type).values()) {
    const v = m[f.name];
    const scalar = scalarType(f);
    const conv = (x: unknown): unknown => {
      if (scalar === null) return toObjectWithoutEval(f.resolvedType as protobuf.Type, x as Message, o);
      if (o.longs === Number && ['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64'].includes(scalar)) return longToNumber(x, scalar === 'uint64' || scalar === 'fixed64');
      return x;
    };
    if (f.repeated) {
      const list = (v as unknown[] | undefined) ?? [];
      if (list.length || o.defaults) out[f.name] = list.map(conv);
    } else if (scalar === null) {
      if (v !== null && v !== undefined) out[f.name] = conv(v);
      else if (o.defaults) out[f.name] = null;
    } else if (o.defaults && !f.partOf) {
      out[f.name] = conv(v);
    } else if (read?.has(f.name) && ((f as protobuf.Field & { hasPresence?: boolean }).hasPresence || !isDefault(scalar, v))) {
      // As the generated decoder, a field without presence read at its default is as if not read.
      out[f.name] = conv(v);
    }
  }
  return out;
}

function isDefault(scalar: string, v: unknown): boolean {
  if (scalar === 'bool') return v === false;
  if (scalar === 'string') return v === '';
  if (scalar === 'bytes') return (v as { length: number }).length === 0;
  if (scalar === 'double' || scalar === 'float') return Object.is(v, 0);
  if (typeof v === 'object' && v !== null) return !(v as { low: number }).low && !(v as { high: number }).high;
  return v === 0;
}

function encodeInto(type: protobuf.Type, m: Message, w: protobuf.Writer): protobuf.Writer {
  const write = w as unknown as Record<string, (v: unknown) => protobuf.Writer>;
  const fields = [...fieldsOf(type).values()].sort((a, b) => a.id - b.id);
  // A message from decodeWithoutEval holds every field: of its scalars, those read from the wire are written.
  const read = seen.get(m);
  for (const f of fields) {
    const v = m[f.name];
    if (v === null || v === undefined || !Object.prototype.hasOwnProperty.call(m, f.name)) continue;
    if (read && !f.repeated && scalarType(f) !== null && !read.has(f.name)) continue;
    // A oneof member other than the one the message names is not written (a decoded message holds all at defaults).
    if (f.partOf && typeof m[f.partOf.name] === 'string' && m[f.partOf.name] !== f.name) continue;
    const scalar = scalarType(f);
    // A scalar without presence (proto3 style) is written only when it is not its default, as by protobufjs.
    if (!f.repeated && !f.required && scalar !== null && !(f as protobuf.Field & { hasPresence?: boolean }).hasPresence && isDefault(scalar, v)) continue;
    const wire = scalar === null ? 2 : (types.basic as Record<string, number>)[scalar]!;
    const one = (x: unknown): void => {
      if (scalar === null) {
        encodeInto(f.resolvedType as protobuf.Type, x as Message, w.uint32(((f.id << 3) | 2) >>> 0).fork()).ldelim();
      } else write[scalar]!.call(w.uint32(((f.id << 3) | wire) >>> 0), x);
    };
    if (f.repeated) {
      const list = v as unknown[];
      if (!list.length) continue;
      if (scalar !== null && f.packed && (types.packed as Record<string, number | undefined>)[scalar] !== undefined) {
        w.uint32(((f.id << 3) | 2) >>> 0).fork();
        for (const x of list) write[scalar]!.call(w, x);
        w.ldelim();
      } else for (const x of list) one(x);
    } else one(v);
  }
  return w;
}

/**
 * A message (a plain object: field names in camelCase, int64s as numbers or Longs, bytes as Uint8Arrays, enums as
 * numbers) encoded as the generated encoder does: fields in id order, each present (not null) one written, repeated
 * numbers packed where the schema says so, without generating code.
 */
export function encodeWithoutEval(type: protobuf.Type, m: Message, w: protobuf.Writer = Writer.create()): protobuf.Writer {
  return encodeInto(type, m, w);
}

let installed = false;

/**
 * Every protobufjs message type decodes, encodes and converts without generated code from now on (in this bundle):
 * `decode` is `decodeWithoutEval`, `encode` `encodeWithoutEval`, `toObject` `toObjectWithoutEval`, `fromObject`
 * passes the plain object through (the encoder takes plain objects), and `verify` finds nothing (the generated
 * verifier is code too). That is what reading an .onnx file and exporting a model to ONNX in the tab use.
 */
export function installDecoderWithoutEval(): void {
  if (installed) return;
  installed = true;
  // A type keeps these prototype methods until its generated codecs are set up, which nothing in the tab asks for now.
  const proto = Type.prototype as unknown as Record<string, unknown>;
  proto['decode'] = function decode(this: protobuf.Type, input: Uint8Array | protobuf.Reader, length?: number) {
    return decodeWithoutEval(this, input, length);
  };
  proto['encode'] = function encode(this: protobuf.Type, m: Message, w?: protobuf.Writer) {
    return encodeWithoutEval(this, m, w);
  };
  proto['toObject'] = function toObject(this: protobuf.Type, m: Message, o?: PlainOptions) {
    return toObjectWithoutEval(this, m, o);
  };
  proto['fromObject'] = function fromObject(this: protobuf.Type, o: Message) {
    return o;
  };
  proto['verify'] = function verify() {
    return null;
  };
}
