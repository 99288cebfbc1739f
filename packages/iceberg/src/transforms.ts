// Partition transforms (identity, bucket[N], truncate[W], year, month, day, hour, void): validation, result types, values.
import { InvalidInputError } from './errors.js';
import type { PrimitiveValue } from './conversions.js';
import { civilFromDays, minimalTwosComplement, uuidToBytes } from './conversions.js';
import type { IcebergType, PrimitiveType } from './types.js';
import { decimalParams, fixedLength } from './types.js';

export type Transform =
  | { kind: 'identity' }
  | { kind: 'bucket'; n: number }
  | { kind: 'truncate'; width: number }
  | { kind: 'year' }
  | { kind: 'month' }
  | { kind: 'day' }
  | { kind: 'hour' }
  | { kind: 'void' };

const MICROS_PER_DAY = 86_400_000_000n;
const MICROS_PER_HOUR = 3_600_000_000n;

export function parseTransform(text: string): Transform {
  const t = text.trim();
  switch (t) {
    case 'identity':
    case 'year':
    case 'month':
    case 'day':
    case 'hour':
    case 'void':
      return { kind: t };
  }
  const m = /^(bucket|truncate)\[\s*(\d+)\s*\]$/.exec(t);
  if (m) {
    const n = Number(m[2]);
    if (n < 1) throw new InvalidInputError(`transform ${t}: parameter must be positive`);
    return m[1] === 'bucket' ? { kind: 'bucket', n } : { kind: 'truncate', width: n };
  }
  // Writers must not commit with unknown transforms (spec: Partitioning), so reject early.
  throw new InvalidInputError(`unknown partition transform ${JSON.stringify(text)}`);
}

export function transformToString(t: Transform): string {
  if (t.kind === 'bucket') return `bucket[${t.n}]`;
  if (t.kind === 'truncate') return `truncate[${t.width}]`;
  return t.kind;
}

const TEMPORAL = new Set(['date', 'timestamp', 'timestamptz']);

/** Type of the partition value a transform produces from `source`; throws if the transform cannot apply. */
export function transformResultType(t: Transform, source: IcebergType): PrimitiveType {
  if (typeof source !== 'string') throw new InvalidInputError(`cannot partition by a ${source.type} column`);
  const unsupported = (): never => {
    throw new InvalidInputError(`transform ${transformToString(t)} does not apply to type ${source}`);
  };
  switch (t.kind) {
    case 'identity':
    case 'void':
      return source;
    case 'bucket':
      if (source === 'boolean' || source === 'float' || source === 'double') return unsupported();
      return 'int';
    case 'truncate':
      if (source === 'int' || source === 'long' || source === 'string' || source === 'binary' || decimalParams(source)) return source;
      return unsupported();
    case 'year':
    case 'month':
      return TEMPORAL.has(source) ? 'int' : unsupported();
    case 'day':
      return TEMPORAL.has(source) ? 'date' : unsupported();
    case 'hour':
      return source === 'timestamp' || source === 'timestamptz' ? 'int' : unsupported();
  }
}

/** 32-bit Murmur3, x86 variant, seed 0 (Appendix B), as a signed int like Java's. */
export function murmur3x86_32(data: Uint8Array): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = 0;
  const len = data.length;
  const blocks = len - (len % 4);
  for (let i = 0; i < blocks; i += 4) {
    let k = (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) >>> 0;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = len & 3;
  if (tail > 0) {
    let k = 0;
    if (tail === 3) k ^= data[blocks + 2]! << 16;
    if (tail >= 2) k ^= data[blocks + 1]! << 8;
    k ^= data[blocks]!;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

function longBytes(v: bigint): Uint8Array {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt.asIntN(64, v));
  return new Uint8Array(b);
}

/** Iceberg bucket hash of one in-memory value of `type` (Appendix B). */
export function bucketHash(type: PrimitiveType, value: PrimitiveValue): number {
  if (decimalParams(type)) return murmur3x86_32(minimalTwosComplement(value as bigint));
  if (fixedLength(type) !== null || type === 'binary') return murmur3x86_32(value as Uint8Array);
  switch (type) {
    case 'int':
    case 'date':
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
      // int and long hash identically so promoting int → long keeps bucket assignments.
      return murmur3x86_32(longBytes(BigInt(value as number | bigint)));
    case 'string':
      return murmur3x86_32(new Uint8Array(Buffer.from(value as string, 'utf8')));
    case 'uuid':
      return murmur3x86_32(uuidToBytes(value as string));
    default:
      throw new InvalidInputError(`cannot bucket type ${type}`);
  }
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

function daysOf(type: PrimitiveType, value: PrimitiveValue): number {
  return type === 'date' ? (value as number) : Number(floorDiv(value as bigint, MICROS_PER_DAY));
}

/** Applies a transform to one in-memory source value; null stays null (all transforms map null to null). */
export function applyTransform(t: Transform, source: PrimitiveType, value: PrimitiveValue | null): PrimitiveValue | null {
  if (value === null) return null;
  switch (t.kind) {
    case 'identity':
      return value;
    case 'void':
      return null;
    case 'bucket':
      return (bucketHash(source, value) & 0x7fffffff) % t.n;
    case 'truncate': {
      if (source === 'int') {
        const v = value as number;
        return v - (((v % t.width) + t.width) % t.width);
      }
      if (source === 'long' || decimalParams(source)) {
        // for decimals the width applies to the unscaled value, i.e. in units of the column's scale
        const v = value as bigint;
        const w = BigInt(t.width);
        return v - (((v % w) + w) % w);
      }
      if (source === 'string') return Array.from(value as string).slice(0, t.width).join('');
      return (value as Uint8Array).subarray(0, t.width);
    }
    case 'year':
      return civilFromDays(daysOf(source, value)).year - 1970;
    case 'month': {
      const { year, month } = civilFromDays(daysOf(source, value));
      return (year - 1970) * 12 + (month - 1);
    }
    case 'day':
      return daysOf(source, value);
    case 'hour':
      return Number(floorDiv(value as bigint, MICROS_PER_HOUR));
  }
}

/** Default partition field name for a transform of a column, as the reference implementation names them. */
export function defaultPartitionFieldName(t: Transform, column: string): string {
  switch (t.kind) {
    case 'identity':
      return column;
    case 'bucket':
      return `${column}_bucket_${t.n}`;
    case 'truncate':
      return `${column}_trunc_${t.width}`;
    case 'void':
      return `${column}_null`;
    default:
      return `${column}_${t.kind}`;
  }
}
