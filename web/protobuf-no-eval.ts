/**
 * protobufjs decodes a message type through code it generates at run time (`Function(source)`), which this page's
 * Content-Security-Policy (`script-src 'self'`, no 'unsafe-eval') forbids: reading an .onnx file in the tab would fail
 * with "Evaluating a string as JavaScript violates the following Content Security Policy directive". `decodeWithoutEval`
 * reads a message by walking its type's reflection (field ids, wire types, packed repeated numbers, nested messages,
 * oneofs) with protobufjs's own Reader, giving what the generated decoder gives; `installDecoderWithoutEval` makes it
 * every type's `decode` in the tab. Map and group fields (ONNX uses neither) are refused.
 */
import protobuf from 'protobufjs/light.js';

const { Reader, Type, Enum, types } = protobuf;
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

let installed = false;

/** Every protobufjs message type decodes with `decodeWithoutEval` from now on (in this bundle). */
export function installDecoderWithoutEval(): void {
  if (installed) return;
  installed = true;
  // A type keeps this prototype method until its generated codecs are set up, which nothing in the tab asks for.
  Type.prototype.decode = function decode(this: protobuf.Type, input: Uint8Array | protobuf.Reader, length?: number) {
    return decodeWithoutEval(this, input, length) as unknown as protobuf.Message;
  };
}
