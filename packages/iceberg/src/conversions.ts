// Single-value binary serialization (spec Appendix D) and the value parsing it needs: dates, times, decimals, UUIDs.
import { InvalidInputError } from './errors.js';
import type { PrimitiveType } from './types.js';
import { decimalParams, decimalRequiredBytes, fixedLength } from './types.js';

/**
 * In-memory form of one primitive value:
 * boolean → boolean; int, date (days) → number; long, time, timestamp, timestamptz (micros) → bigint;
 * float, double → number; string → string; uuid → canonical lowercase string; binary, fixed → Uint8Array;
 * decimal → bigint unscaled value.
 */
export type PrimitiveValue = boolean | number | bigint | string | Uint8Array;

const MICROS_PER_DAY = 86_400_000_000n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Days since 1970-01-01 for a proleptic Gregorian date (astronomical year numbering). */
export function daysFromCivil(year: number, month: number, day: number): number {
  // Howard Hinnant's days_from_civil; valid for every year, unlike Date.UTC which remaps years 0..99.
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Inverse of daysFromCivil. */
export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

function pad(n: number, width: number): string {
  const s = String(Math.abs(n)).padStart(width, '0');
  return n < 0 ? `-${s}` : s;
}

export function formatDate(days: number): string {
  const { year, month, day } = civilFromDays(days);
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`;
}

const DATE_RE = /^(-?\d{4,})-(\d{2})-(\d{2})( \(BC\))?$/;
const TS_RE = /^(-?\d{4,})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)?( \(BC\))?$/;
const TIME_RE = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/;

function bcYear(year: number, bc: string | undefined): number {
  // DuckDB prints 1 BC as "0001 (BC)"; astronomical numbering calls that year 0.
  return bc ? 1 - year : year;
}

function validCivil(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const { year: y, month: m, day: d } = civilFromDays(daysFromCivil(year, month, day));
  return y === year && m === month && d === day;
}

/** "YYYY-MM-DD" (DuckDB also prints " (BC)") → days since epoch, or null if not a date. */
export function parseDate(text: string): number | null {
  const m = DATE_RE.exec(text.trim());
  if (!m) return null;
  const year = bcYear(Number(m[1]), m[4]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (!validCivil(year, month, day)) return null;
  return daysFromCivil(year, month, day);
}

function fractionMicros(frac: string | undefined): bigint {
  if (!frac) return 0n;
  // Truncating nanoseconds toward -inf keeps a lower bound valid; callers round upper bounds themselves.
  return BigInt(frac.padEnd(6, '0').slice(0, 6));
}

/**
 * Timestamp text → microseconds since epoch. Accepts DuckDB's "YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM]]" and ISO 8601
 * with "T"/"Z". A zone offset is applied (result is UTC); a value without one is taken as-is (local wall time for
 * `timestamp`, UTC for `timestamptz`). Returns null when the text is not a timestamp.
 */
export function parseTimestampMicros(text: string): bigint | null {
  const m = TS_RE.exec(text.trim());
  if (!m) return null;
  const year = bcYear(Number(m[1]), m[9]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hh = Number(m[4]);
  const mi = Number(m[5]);
  const ss = Number(m[6] ?? '0');
  if (!validCivil(year, month, day) || hh > 23 || mi > 59 || ss > 59) return null;
  let micros = BigInt(daysFromCivil(year, month, day)) * MICROS_PER_DAY + BigInt((hh * 3600 + mi * 60 + ss) * 1_000_000) + fractionMicros(m[7]);
  const zone = m[8];
  if (zone && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1n : 1n;
    const digits = zone.slice(1).replace(/:/g, '');
    const offSeconds = Number(digits.slice(0, 2)) * 3600 + Number(digits.slice(2, 4) || '0') * 60 + Number(digits.slice(4, 6) || '0');
    micros -= sign * BigInt(offSeconds) * 1_000_000n;
  }
  return micros;
}

/** "HH:MM:SS[.ffffff]" → microseconds from midnight, or null. */
export function parseTimeMicros(text: string): bigint | null {
  const m = TIME_RE.exec(text.trim());
  if (!m) return null;
  const hh = Number(m[1]);
  const mi = Number(m[2]);
  const ss = Number(m[3] ?? '0');
  if (hh > 23 || mi > 59 || ss > 59) return null;
  return BigInt((hh * 3600 + mi * 60 + ss) * 1_000_000) + fractionMicros(m[4]);
}

/** Microseconds since epoch → "YYYY-MM-DDTHH:MM:SS.ffffff" (no zone). */
export function formatTimestamp(micros: bigint): string {
  let days = micros / MICROS_PER_DAY;
  let rem = micros % MICROS_PER_DAY;
  if (rem < 0n) {
    rem += MICROS_PER_DAY;
    days -= 1n;
  }
  const secs = Number(rem / 1_000_000n);
  const frac = Number(rem % 1_000_000n);
  const time = `${pad(Math.floor(secs / 3600), 2)}:${pad(Math.floor((secs % 3600) / 60), 2)}:${pad(secs % 60, 2)}.${pad(frac, 6)}`;
  return `${formatDate(Number(days))}T${time}`;
}

/** Decimal text → unscaled integer at `scale`, or null if it has more fractional digits than the scale allows. */
export function parseDecimalUnscaled(text: string, scale: number): bigint | null {
  const m = /^([+-])?(\d*)(?:\.(\d*))?$/.exec(text.trim());
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return null;
  const frac = m[3] ?? '';
  // Trailing zeros beyond the scale are harmless ("1.500" at scale 2).
  const significant = frac.replace(/0+$/, '');
  if (significant.length > scale) return null;
  const unscaled = BigInt(`${m[2] || '0'}${frac.slice(0, scale).padEnd(scale, '0')}`);
  return m[1] === '-' ? -unscaled : unscaled;
}

export function formatDecimal(unscaled: bigint, scale: number): string {
  const neg = unscaled < 0n;
  const digits = (neg ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const body = scale > 0 ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
  return neg ? `-${body}` : body;
}

/** Minimal two's-complement big-endian bytes of an integer (decimal bounds and decimal bucket hashing). */
export function minimalTwosComplement(value: bigint): Uint8Array {
  let n = 1;
  while (value < -(2n ** BigInt(8 * n - 1)) || value > 2n ** BigInt(8 * n - 1) - 1n) n++;
  return twosComplement(value, n);
}

/** Two's-complement big-endian bytes of `value` sign-extended to exactly `size` bytes (Avro decimal fixed). */
export function twosComplement(value: bigint, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let v = BigInt.asUintN(size * 8, value);
  for (let i = size - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

export function fromTwosComplement(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return bytes.length === 0 ? 0n : BigInt.asIntN(bytes.length * 8, v);
}

export function uuidToBytes(uuid: string): Uint8Array {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new InvalidInputError(`not a UUID: ${JSON.stringify(uuid)}`);
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

export function bytesToUuid(bytes: Uint8Array): string {
  const h = Buffer.from(bytes).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function asBigInt(value: PrimitiveValue, type: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  throw new InvalidInputError(`${type} value must be an integer (number or bigint), got ${String(value)}`);
}

/** Binary single-value serialization (Appendix D) of an in-memory value; used for bounds and partition summaries. */
export function toBinary(type: PrimitiveType, value: PrimitiveValue): Uint8Array {
  const dec = decimalParams(type);
  if (dec) return minimalTwosComplement(asBigInt(value, type));
  if (fixedLength(type) !== null) {
    if (!(value instanceof Uint8Array)) throw new InvalidInputError(`${type} value must be bytes`);
    return value;
  }
  switch (type) {
    case 'boolean':
      return Uint8Array.of(value === true ? 1 : 0);
    case 'int':
    case 'date': {
      const n = Number(value);
      if (!Number.isInteger(n) || n < -(2 ** 31) || n >= 2 ** 31) throw new InvalidInputError(`${type} value out of range: ${String(value)}`);
      const b = Buffer.alloc(4);
      b.writeInt32LE(n);
      return new Uint8Array(b);
    }
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz': {
      const v = asBigInt(value, type);
      if (v < INT64_MIN || v > INT64_MAX) throw new InvalidInputError(`${type} value out of 64-bit range: ${v}`);
      const b = Buffer.alloc(8);
      b.writeBigInt64LE(v);
      return new Uint8Array(b);
    }
    case 'float': {
      const b = Buffer.alloc(4);
      b.writeFloatLE(Number(value));
      return new Uint8Array(b);
    }
    case 'double': {
      const b = Buffer.alloc(8);
      b.writeDoubleLE(Number(value));
      return new Uint8Array(b);
    }
    case 'string':
      if (typeof value !== 'string') throw new InvalidInputError('string value must be a string');
      return new Uint8Array(Buffer.from(value, 'utf8'));
    case 'uuid':
      return typeof value === 'string' ? uuidToBytes(value) : (value as Uint8Array);
    case 'binary':
      if (!(value instanceof Uint8Array)) throw new InvalidInputError('binary value must be bytes');
      return value;
    default:
      throw new InvalidInputError(`no binary serialization for type ${type}`);
  }
}

/** Inverse of toBinary. */
export function fromBinary(type: PrimitiveType, bytes: Uint8Array): PrimitiveValue {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (decimalParams(type)) return fromTwosComplement(bytes);
  if (fixedLength(type) !== null) return Uint8Array.from(bytes);
  switch (type) {
    case 'boolean':
      return bytes[0] !== 0;
    case 'int':
    case 'date':
      return buf.readInt32LE(0);
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
      return buf.readBigInt64LE(0);
    case 'float':
      return buf.readFloatLE(0);
    case 'double':
      return buf.readDoubleLE(0);
    case 'string':
      return buf.toString('utf8');
    case 'uuid':
      return bytesToUuid(bytes);
    case 'binary':
      return Uint8Array.from(bytes);
    default:
      throw new InvalidInputError(`no binary serialization for type ${type}`);
  }
}

/**
 * Accepts the friendly forms callers use for a value of `type` and returns the in-memory form:
 * dates as days or "YYYY-MM-DD", timestamps as micros or ISO text, decimals as text ("12.34"), number or unscaled
 * bigint, UUIDs as text, binary/fixed as bytes or base64 text.
 */
export function normalizeValue(type: PrimitiveType, value: unknown, where: string): PrimitiveValue {
  const bad = (): never => {
    throw new InvalidInputError(`${where}: ${JSON.stringify(typeof value === 'bigint' ? value.toString() : value)} is not a valid ${type}`);
  };
  const dec = decimalParams(type);
  if (dec) {
    if (typeof value === 'bigint') return value;
    const text = typeof value === 'number' ? value.toFixed(dec.scale) : typeof value === 'string' ? value : bad();
    const unscaled = parseDecimalUnscaled(text, dec.scale);
    if (unscaled === null || (unscaled < 0n ? -unscaled : unscaled) >= 10n ** BigInt(dec.precision)) return bad();
    return unscaled;
  }
  const fixed = fixedLength(type);
  if (fixed !== null || type === 'binary') {
    const bytes = value instanceof Uint8Array ? value : typeof value === 'string' ? new Uint8Array(Buffer.from(value, 'base64')) : bad();
    if (fixed !== null && bytes.length !== fixed) return bad();
    return bytes;
  }
  switch (type) {
    case 'boolean':
      return typeof value === 'boolean' ? value : bad();
    case 'int':
      return typeof value === 'number' && Number.isInteger(value) && Math.abs(value) < 2 ** 31 ? value : bad();
    case 'date':
      if (typeof value === 'number' && Number.isInteger(value)) return value;
      if (typeof value === 'string') return parseDate(value) ?? bad();
      return bad();
    case 'long':
      if (typeof value === 'bigint') return value;
      if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
      if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
      return bad();
    case 'time':
      if (typeof value === 'bigint') return value;
      if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
      if (typeof value === 'string') return parseTimeMicros(value) ?? bad();
      return bad();
    case 'timestamp':
    case 'timestamptz':
      if (typeof value === 'bigint') return value;
      if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
      if (typeof value === 'string') return parseTimestampMicros(value) ?? bad();
      if (value instanceof Date) return BigInt(value.getTime()) * 1000n;
      return bad();
    case 'float':
    case 'double':
      return typeof value === 'number' ? value : bad();
    case 'string':
      return typeof value === 'string' ? value : bad();
    case 'uuid':
      if (typeof value === 'string') return bytesToUuid(uuidToBytes(value));
      if (value instanceof Uint8Array && value.length === 16) return bytesToUuid(value);
      return bad();
    default:
      return bad();
  }
}

/** In-memory value → the JSON-safe form handed back to callers (longs as number when exact, else bigint). */
export function externalValue(type: PrimitiveType, value: PrimitiveValue): string | number | bigint | boolean {
  const dec = decimalParams(type);
  if (dec) return formatDecimal(value as bigint, dec.scale);
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (typeof value === 'bigint') return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  return value;
}

/** Size of the Avro fixed that stores a decimal of this type. */
export function decimalFixedSize(type: PrimitiveType): number {
  const dec = decimalParams(type);
  if (!dec) throw new InvalidInputError(`${type} is not a decimal`);
  return decimalRequiredBytes(dec.precision);
}

/** Iceberg ordering of two in-memory values of one type (strings by UTF-8 bytes; -0.0 before +0.0). */
export function compareValues(type: PrimitiveType, a: PrimitiveValue, b: PrimitiveValue): number {
  if (typeof a === 'string' && typeof b === 'string') {
    // Iceberg orders strings by UTF-8 bytes (= code point order), not UTF-16 units as JS < does.
    return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
  }
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(Buffer.from(a), Buffer.from(b));
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  if (type === 'float' || type === 'double') {
    const x = a as number;
    const y = b as number;
    if (x === y) return Object.is(x, -0) && !Object.is(y, -0) ? -1 : Object.is(y, -0) && !Object.is(x, -0) ? 1 : 0;
    return x < y ? -1 : 1;
  }
  const x = a as number | bigint;
  const y = b as number | bigint;
  return x < y ? -1 : x > y ? 1 : 0;
}
