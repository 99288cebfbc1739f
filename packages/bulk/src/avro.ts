// Avro object container files → NDJSON that the strict NDJSON reader loads. avsc (well kept, already Atoll's Avro
// library) decodes; logical types are turned into exact text here: decimal (bytes or fixed, two's complement) → its
// decimal string, timestamp-millis/-micros → ISO 8601 UTC to the microsecond, date → YYYY-MM-DD. Longs are read as
// bigint so no value loses precision on the way.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import avro from 'avsc';
import { UnpackError } from './unpack.js';
import { isEnvironmentFailure } from '@atoll/errors';

type Schema = string | { [key: string]: unknown } | Schema[];
type Logical = { kind: 'decimal'; scale: number } | { kind: 'timestamp'; unit: 'millis' | 'micros' } | { kind: 'date' } | { kind: 'bytes' } | { kind: 'plain' };

const bigintLong = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(0),
  toBuffer: (n: bigint | number) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(BigInt(n));
    return buf;
  },
  fromJSON: (v: unknown) => BigInt(v as string | number),
  toJSON: (n: bigint) => n.toString(),
  isValid: (n: unknown) => typeof n === 'bigint',
  compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
});

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);

/** Annotated primitives become bare ones so the bigint long applies; logical types are handled by `logicalOf`. */
function strip(schema: Schema): Schema {
  if (Array.isArray(schema)) return schema.map(strip);
  if (typeof schema !== 'object') return schema;
  if (typeof schema.type === 'string' && PRIMITIVES.has(schema.type)) return schema.type;
  const out: { [key: string]: unknown } = { ...schema };
  if (Array.isArray(schema.fields)) out.fields = (schema.fields as Array<{ type: Schema }>).map((f) => ({ ...f, type: strip(f.type) }));
  return out;
}

function logicalOf(type: Schema): Logical {
  if (Array.isArray(type)) {
    const branches = type.filter((t) => t !== 'null');
    return branches.length === 1 ? logicalOf(branches[0]!) : { kind: 'plain' };
  }
  if (typeof type === 'string') return type === 'bytes' ? { kind: 'bytes' } : { kind: 'plain' };
  const lt = type.logicalType;
  if (lt === 'decimal') return { kind: 'decimal', scale: Number(type.scale ?? 0) };
  if (lt === 'timestamp-millis' || lt === 'local-timestamp-millis') return { kind: 'timestamp', unit: 'millis' };
  if (lt === 'timestamp-micros' || lt === 'local-timestamp-micros') return { kind: 'timestamp', unit: 'micros' };
  if (lt === 'date') return { kind: 'date' };
  if (type.type === 'bytes' || type.type === 'fixed') return { kind: 'bytes' };
  return { kind: 'plain' };
}

export function decimalText(bytes: Buffer, scale: number): string {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  if (bytes.length > 0 && (bytes[0]! & 0x80) !== 0) n -= 1n << BigInt(bytes.length * 8);
  const neg = n < 0n;
  const digits = (neg ? -n : n).toString().padStart(scale + 1, '0');
  const text = scale > 0 ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
  return neg ? `-${text}` : text;
}

export function timestampText(value: bigint, unit: 'millis' | 'micros'): string {
  const micros = unit === 'millis' ? value * 1000n : value;
  const seconds = micros / 1_000_000n - (micros % 1_000_000n < 0n ? 1n : 0n);
  const frac = micros - seconds * 1_000_000n;
  const iso = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  return `${iso}.${frac.toString().padStart(6, '0')}Z`;
}

function jsonValue(value: unknown, logical: Logical, field: string, record: number): unknown {
  if (value === null || value === undefined) return null;
  switch (logical.kind) {
    case 'decimal':
      return decimalText(value as Buffer, logical.scale);
    case 'timestamp':
      return timestampText(BigInt(value as bigint | number), logical.unit);
    case 'date':
      return new Date(Number(value) * 86_400_000).toISOString().slice(0, 10);
    case 'bytes':
      throw new UnpackError(`record ${record}, column ${field}: raw bytes have no table type`);
    default:
      if (typeof value === 'bigint') return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
      return value;
  }
}

/** Converts an Avro file; returns the field names of the writer schema (to check against the table) and the count. */
export async function avroToNdjson(input: string, output: string): Promise<{ fields: string[]; records: number }> {
  let fields: Array<{ name: string; logical: Logical }> | undefined;
  const decoder = avro.createFileDecoder(input, {
    parseHook: (schema: unknown) => {
      const s = schema as { type?: string; fields?: Array<{ name: string; type: Schema }> };
      if (s.type !== 'record' || !Array.isArray(s.fields)) throw new UnpackError('the Avro file does not hold records');
      fields = s.fields.map((f) => ({ name: f.name, logical: logicalOf(f.type) }));
      return avro.Type.forSchema(strip(schema as Schema) as avro.Schema, { registry: { long: bigintLong }, wrapUnions: 'auto' });
    },
  });
  const out = createWriteStream(output, { mode: 0o600 });
  let records = 0;
  try {
    for await (const rec of decoder as AsyncIterable<Record<string, unknown>>) {
      records += 1;
      const obj: Record<string, unknown> = {};
      for (const f of fields ?? []) obj[f.name] = jsonValue(rec[f.name], f.logical, f.name, records);
      if (!out.write(`${JSON.stringify(obj)}\n`)) await once(out, 'drain');
    }
  } catch (e) {
    if (e instanceof UnpackError || isEnvironmentFailure(e)) throw e;
    throw new UnpackError(`not a readable Avro file${records > 0 ? ` (after record ${records})` : ''}: ${(e as Error).message.split('\n')[0]}`);
  } finally {
    out.end();
    await once(out, 'close');
  }
  // avsc ends quietly on a header it cannot read; a file without a schema is not Avro.
  if (!fields) throw new UnpackError('not a readable Avro file: no schema in its header');
  return { fields: fields.map((f) => f.name), records };
}
