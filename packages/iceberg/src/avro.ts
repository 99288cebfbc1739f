// Avro object container files for manifests and manifest lists: 64-bit longs as bigint, the header written by us
// (so the `avro.schema` keeps Iceberg's field-id attributes verbatim) and records decoded by field id.
//
// avsc does the record encoding; we frame the container ourselves because avsc's stream encoder is asynchronous and
// its re-exported schema would be ours anyway — owning the header makes "field ids survive" a property of this file.
import { randomBytes } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import avro from 'avsc';
import type { Type } from 'avsc';
import { CorruptMetadataError, UnsupportedTableError } from './errors.js';

/** An Avro schema as plain JSON (with Iceberg's `field-id`, `element-id`… attributes). */
export type AvroSchema = string | AvroSchema[] | { [key: string]: unknown };

const MAGIC = Buffer.from([0x4f, 0x62, 0x6a, 0x01]); // "Obj" 1
const SYNC_SIZE = 16;
// Uncompressed bytes per block before we start a new one; matches avsc's own default.
const BLOCK_TARGET_BYTES = 64 * 1024;

/** Avro long as bigint: snapshot ids use all 63 bits, which a JS number cannot hold. */
const bigintLong = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(0),
  toBuffer: (n: bigint | number) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(BigInt(n));
    return buf;
  },
  fromJSON: (v: unknown) => BigInt(v as string | number),
  toJSON: (n: bigint) => (n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString()),
  isValid: (n: unknown) => typeof n === 'bigint' || (typeof n === 'number' && Number.isSafeInteger(n)),
  compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
});

const typeCache = new Map<string, Type>();

const PRIMITIVE_NAMES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);

/**
 * The schema as avsc should see it: primitives annotated with a logical type (`{"type": "long", "logicalType":
 * "timestamp-micros"}`) become the bare primitive, otherwise avsc builds its own long type for them and bypasses the
 * bigint registry. The file header keeps the annotated original.
 */
function stripPrimitiveLogicalTypes(schema: AvroSchema): AvroSchema {
  if (Array.isArray(schema)) return schema.map(stripPrimitiveLogicalTypes);
  if (typeof schema !== 'object') return schema;
  if (typeof schema.type === 'string' && PRIMITIVE_NAMES.has(schema.type)) return schema.type;
  const out: { [key: string]: unknown } = { ...schema };
  if (typeof schema.type === 'object' && schema.type !== null) out.type = stripPrimitiveLogicalTypes(schema.type as AvroSchema);
  if (Array.isArray(schema.fields)) {
    out.fields = (schema.fields as Array<{ type: AvroSchema }>).map((f) => ({ ...f, type: stripPrimitiveLogicalTypes(f.type) }));
  }
  if (schema.items !== undefined) out.items = stripPrimitiveLogicalTypes(schema.items as AvroSchema);
  if (schema.values !== undefined) out.values = stripPrimitiveLogicalTypes(schema.values as AvroSchema);
  return out;
}

/** avsc Type for a schema, with bigint longs; cached because manifests of one spec share a schema. */
export function avroType(schema: AvroSchema): Type {
  const key = JSON.stringify(schema);
  let type = typeCache.get(key);
  if (!type) {
    type = avro.Type.forSchema(stripPrimitiveLogicalTypes(schema) as avro.Schema, { registry: { long: bigintLong }, wrapUnions: 'auto' });
    if (typeCache.size > 256) typeCache.clear();
    typeCache.set(key, type);
  }
  return type;
}

const headerType = avro.Type.forSchema({
  type: 'record',
  name: 'org.apache.avro.file.Header',
  fields: [
    { name: 'magic', type: { type: 'fixed', name: 'Magic', size: 4 } },
    { name: 'meta', type: { type: 'map', values: 'bytes' } },
    { name: 'sync', type: { type: 'fixed', name: 'Sync', size: SYNC_SIZE } },
  ],
});
const plainLong = avro.Type.forSchema('long');

/** Writes an object container file (deflate codec, as the reference implementation does by default). */
export function writeAvroFile(opts: {
  schema: AvroSchema;
  records: unknown[];
  metadata: Record<string, string>;
  codec?: 'deflate' | 'null';
}): Uint8Array {
  const codec = opts.codec ?? 'deflate';
  const type = avroType(opts.schema);
  const meta: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(opts.metadata)) meta[k] = Buffer.from(v, 'utf8');
  meta['avro.schema'] = Buffer.from(JSON.stringify(opts.schema), 'utf8');
  meta['avro.codec'] = Buffer.from(codec, 'utf8');
  const sync = randomBytes(SYNC_SIZE);
  const parts: Buffer[] = [headerType.toBuffer({ magic: MAGIC, meta, sync })];

  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = (): void => {
    if (pending.length === 0) return;
    const raw = Buffer.concat(pending);
    const data = codec === 'deflate' ? deflateRawSync(raw) : raw;
    parts.push(plainLong.toBuffer(pending.length), plainLong.toBuffer(data.length), data, sync);
    pending = [];
    pendingBytes = 0;
  };
  for (const record of opts.records) {
    const buf = type.toBuffer(record);
    pending.push(buf);
    pendingBytes += buf.length;
    if (pendingBytes >= BLOCK_TARGET_BYTES) flush();
  }
  flush();
  return new Uint8Array(Buffer.concat(parts));
}

export interface AvroFileContents {
  schema: AvroSchema;
  metadata: Record<string, string>;
  records: unknown[];
}

/** Reads a whole object container file; `location` names the file in errors. */
export function readAvroFile(bytes: Uint8Array, location: string): AvroFileContents {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const corrupt = (problem: string, cause?: unknown): never => {
    throw new CorruptMetadataError(location, problem, cause === undefined ? undefined : { cause });
  };
  if (buf.length < MAGIC.length || !buf.subarray(0, 4).equals(MAGIC)) corrupt('not an Avro object container file (bad magic)');
  let header: { value: { meta: Record<string, Buffer>; sync: Buffer }; offset: number };
  try {
    header = headerType.decode(buf, 0);
  } catch (err) {
    return corrupt('unreadable Avro header', err);
  }
  if (header.offset < 0) corrupt('truncated Avro header');
  const meta: Record<string, string> = {};
  for (const [k, v] of Object.entries(header.value.meta)) meta[k] = v.toString('utf8');
  const codec = meta['avro.codec'] ?? 'null';
  if (codec !== 'null' && codec !== 'deflate') {
    throw new UnsupportedTableError(`${location}: Avro codec ${codec} is not supported (null and deflate are)`);
  }
  let schema: AvroSchema;
  let type: Type;
  try {
    schema = JSON.parse(meta['avro.schema'] ?? '') as AvroSchema;
    type = avroType(schema);
  } catch (err) {
    return corrupt('the Avro schema in the header is missing or invalid', err);
  }
  const sync = header.value.sync;
  const records: unknown[] = [];
  let pos = header.offset;
  while (pos < buf.length) {
    const count = plainLong.decode(buf, pos);
    if (count.offset < 0) corrupt('truncated block header');
    const size = plainLong.decode(buf, count.offset);
    if (size.offset < 0) corrupt('truncated block header');
    const start = size.offset;
    const end = start + (size.value as number);
    if (end + SYNC_SIZE > buf.length) corrupt('truncated block');
    if (!buf.subarray(end, end + SYNC_SIZE).equals(sync)) corrupt('block sync marker does not match the header');
    let block: Buffer;
    try {
      block = codec === 'deflate' ? inflateRawSync(buf.subarray(start, end)) : buf.subarray(start, end);
    } catch (err) {
      return corrupt('a block does not inflate', err);
    }
    let p = 0;
    for (let i = 0; i < (count.value as number); i++) {
      let res: { value: unknown; offset: number };
      try {
        res = type.decode(block, p);
      } catch (err) {
        return corrupt(`record ${records.length} does not decode`, err);
      }
      if (res.offset < 0) corrupt(`record ${records.length} is truncated`);
      records.push(res.value);
      p = res.offset;
    }
    pos = end + SYNC_SIZE;
  }
  return { schema, metadata: meta, records };
}

/**
 * A decoded Avro value re-keyed by Iceberg field id: records become `{ [fieldId]: value }` (fields without an id are
 * dropped), Iceberg maps (Avro map, or array of key/value records with logicalType map) become `[key, value][]`.
 * Readers then never depend on the writer's field names — only on the ids the spec fixes.
 */
export type ById = { [fieldId: number]: unknown };

export function rekeyByFieldId(schema: AvroSchema, value: unknown): unknown {
  const named = new Map<string, AvroSchema>();
  const collect = (s: AvroSchema, ns: string | undefined): void => {
    if (Array.isArray(s)) {
      s.forEach((b) => collect(b, ns));
      return;
    }
    if (typeof s !== 'object') return;
    const name = s.name;
    const namespace = typeof s.namespace === 'string' ? s.namespace : ns;
    if (typeof name === 'string' && (s.type === 'record' || s.type === 'fixed' || s.type === 'enum')) {
      named.set(name, s);
      const short = name.includes('.') ? name.slice(name.lastIndexOf('.') + 1) : name;
      named.set(short, s);
      if (namespace && !name.includes('.')) named.set(`${namespace}.${name}`, s);
    }
    if (Array.isArray(s.fields)) for (const f of s.fields as Array<{ type: AvroSchema }>) collect(f.type, namespace);
    if (s.items !== undefined) collect(s.items as AvroSchema, namespace);
    if (s.values !== undefined) collect(s.values as AvroSchema, namespace);
    if (typeof s.type === 'object') collect(s.type as AvroSchema, namespace);
  };
  collect(schema, undefined);

  const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);
  const convert = (s: AvroSchema, v: unknown): unknown => {
    if (v === null || v === undefined) return null;
    if (Array.isArray(s)) {
      // Iceberg only allows ["null", T] unions, which avsc decodes unwrapped.
      const branch = s.find((b) => b !== 'null');
      return branch === undefined ? null : convert(branch, v);
    }
    if (typeof s === 'string') {
      if (PRIMITIVES.has(s)) return v;
      const def = named.get(s);
      return def ? convert(def, v) : v;
    }
    const t = s.type;
    if (typeof t === 'object' && t !== null) return convert(t as AvroSchema, v);
    if (t === 'record') {
      const out: ById = {};
      const rec = v as Record<string, unknown>;
      for (const f of s.fields as Array<{ name: string; type: AvroSchema; 'field-id'?: number }>) {
        if (typeof f['field-id'] === 'number') out[f['field-id']] = convert(f.type, rec[f.name]);
      }
      return out;
    }
    if (t === 'array') {
      const items = s.items as AvroSchema;
      const arr = v as unknown[];
      const itemsDef = typeof items === 'string' ? named.get(items) : items;
      if (s.logicalType === 'map' && typeof itemsDef === 'object' && !Array.isArray(itemsDef) && itemsDef.type === 'record') {
        const kv = itemsDef as { fields: Array<{ name: string; type: AvroSchema }> };
        const keyField = kv.fields.find((f) => f.name === 'key') ?? kv.fields[0];
        const valueField = kv.fields.find((f) => f.name === 'value') ?? kv.fields[1];
        if (!keyField || !valueField) return [];
        return arr.map((e) => {
          const rec = e as Record<string, unknown>;
          return [convert(keyField.type, rec[keyField.name]), convert(valueField.type, rec[valueField.name])];
        });
      }
      return arr.map((e) => convert(items, e));
    }
    if (t === 'map') {
      const values = s.values as AvroSchema;
      return Object.entries(v as Record<string, unknown>).map(([k, e]) => [k, convert(values, e)]);
    }
    return v;
  };
  return convert(schema, value);
}

/** Avro-compatible name for an arbitrary field name (invalid characters become _xHH, a leading digit gets "_"). */
export function avroCompatibleName(name: string): string {
  let out = '';
  for (const [i, ch] of Array.from(name).entries()) {
    const ok = /[A-Za-z_]/.test(ch) || (i > 0 && /[0-9]/.test(ch));
    if (ok) out += ch;
    else if (i === 0 && /[0-9]/.test(ch)) out += `_${ch}`;
    else out += `_x${ch.codePointAt(0)!.toString(16).toUpperCase()}`;
  }
  return out.length > 0 ? out : '_';
}
