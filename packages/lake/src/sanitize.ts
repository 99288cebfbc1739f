// Sanitization of a staged value into its schema type, as DuckDB SQL: one expression for the value and one that says
// the value cannot be sanitized. The strict read turns the second into an error (the whole file is rejected, or the
// row quarantined); nothing that fails here ever becomes a silent null.
//
// - timestamp: ISO-8601 with `Z` or an offset (converted to UTC), without a zone (read as UTC), `YYYY-MM-DD HH:MM:SS`,
//   a bare date (midnight UTC), epoch seconds (up to 11 digits, optionally with up to 6 fraction digits), epoch
//   milliseconds (12–14 digits) or microseconds (15–17 digits). A column's `format` overrides the guess: `epoch_s`,
//   `epoch_ms`, `epoch_us`, or a strptime pattern (`%d/%m/%Y %H:%M`; `%z` reads an offset).
// - date: ISO `YYYY-MM-DD`, or the column's strptime `format`.
// - decimal(p,s): plain notation (`-12.50`, `+3`, `.5`) with at most s fraction digits: a value that would round is
//   refused, not rounded.
// - boolean: true/false, t/f, yes/no, y/n, 1/0, any case.
// - string: trimmed.
// Surrounding whitespace is ignored for every type.
import { literal } from '@atoll/duck';
import type { SchemaColumn } from './columns.js';

export const EPOCH_FORMATS = ['epoch_s', 'epoch_ms', 'epoch_us'] as const;

export interface SanitizedColumn {
  /** The typed value, or NULL when the source is NULL or cannot be sanitized. */
  value: string;
  /** True when the source holds a value that cannot be sanitized; null when every source value can. */
  bad: string | null;
}

/** Why a column's `format` is not usable, or null. Only date and timestamp columns take one. */
export function formatProblem(c: { name: string; type: string; format?: string | undefined }): string | null {
  if (c.format === undefined) return null;
  if (c.type !== 'timestamp' && c.type !== 'date') return `column ${c.name}: only date and timestamp columns take a format`;
  if (c.type === 'timestamp' && (EPOCH_FORMATS as readonly string[]).includes(c.format)) return null;
  // strptime specifiers only: letters after %, and literal separators; no quotes or backslashes reach the SQL.
  if (!/^(?:%[a-zA-Z%]|[ \-/:.,T_])+$/.test(c.format) || !c.format.includes('%')) {
    return `column ${c.name}: format must be ${c.type === 'timestamp' ? `${EPOCH_FORMATS.join(', ')} or ` : ''}a strptime pattern such as %d/%m/%Y`;
  }
  return null;
}

const trimmed = (src: string): string => `trim(${src})`;

/** Microseconds since the epoch from an all-digit text, by unit. */
function epochMicros(s: string, unit: 'epoch_s' | 'epoch_ms' | 'epoch_us'): string {
  const factor = unit === 'epoch_s' ? 1_000_000 : unit === 'epoch_ms' ? 1_000 : 1;
  return `make_timestamp(TRY_CAST(${s} AS BIGINT) * ${factor})`;
}

/** A finite value of a cast, or NULL (DuckDB reads 'infinity' as a date or timestamp). */
const finite = (expr: string): string => `CASE WHEN isfinite(${expr}) THEN ${expr} END`;

function timestampFromText(src: string, format: string | undefined): string {
  const s = trimmed(src);
  if (format === 'epoch_s' || format === 'epoch_ms' || format === 'epoch_us') {
    const digits = format === 'epoch_s' ? 11 : format === 'epoch_ms' ? 14 : 17;
    return `CASE WHEN regexp_full_match(${s}, '-?[0-9]{1,${digits}}') THEN ${epochMicros(s, format)} END`;
  }
  if (format !== undefined) return `make_timestamp(epoch_us(CAST(try_strptime(${s}, ${literal(format)}) AS TIMESTAMPTZ)))`;
  // The common case first: DuckDB's own casts read every ISO form. Only what they refuse is tried as an epoch number
  // (DuckDB evaluates a CASE branch for the rows that reach it only).
  // A numeric offset (a + or - after the time's first colon) needs the TIMESTAMPTZ cast: the plain TIMESTAMP cast
  // ignores it. Everything else goes to the plain cast first (zone-less, Z, UTC), and only what it refuses (a named
  // zone) to TIMESTAMPTZ: DuckDB's TIMESTAMPTZ cast (ICU) carries a named zone over to the zone-less values after it in
  // the same vector (10:00 read as 15:00 UTC after a value in America/New_York), so a zone-less value must never reach
  // it. Through epoch microseconds, not AT TIME ZONE: the same UTC value without a time-zone lookup per row (twice as
  // fast), and 'infinity' comes out NULL.
  const iso = (x: string): string => {
    const zoned = `make_timestamp(epoch_us(TRY_CAST(${x} AS TIMESTAMPTZ)))`;
    return `CASE WHEN ${x} LIKE '%:%+%' OR ${x} LIKE '%:%-%' THEN ${zoned} ELSE COALESCE(make_timestamp(epoch_us(TRY_CAST(${x} AS TIMESTAMP))), ${zoned}) END`;
  };
  // DuckDB's casts refuse trailing whitespace after a bare date, an offset or a named zone (' 2026-01-01 '): only the
  // values the casts refused are tried again trimmed, so the common case pays no trim.
  return `COALESCE(${iso(src)}, CASE
    WHEN regexp_full_match(${s}, '-?[0-9]{1,11}') THEN ${epochMicros(s, 'epoch_s')}
    WHEN regexp_full_match(${s}, '-?[0-9]{1,11}\\.[0-9]{1,6}') THEN make_timestamp(CAST(TRY_CAST(${s} AS DECIMAL(38,6)) * 1000000 AS BIGINT))
    WHEN regexp_full_match(${s}, '-?[0-9]{12,14}') THEN ${epochMicros(s, 'epoch_ms')}
    WHEN regexp_full_match(${s}, '-?[0-9]{15,17}') THEN ${epochMicros(s, 'epoch_us')}
    WHEN ${s} <> ${src} THEN ${iso(s)} END)`;
}

/** How CSV and NDJSON columns are read: numbers by the reader itself (fast, strict, with line numbers), the rest as text. */
export function readType(type: string): string {
  if (type === 'long') return 'BIGINT';
  if (type === 'double') return 'DOUBLE';
  return 'VARCHAR';
}

/**
 * The sanitizing expressions of one schema column over `src` (a column of the relation as read), whose DuckDB type
 * as read is `sourceType` (see readType for CSV and NDJSON; the file's own type for Parquet).
 */
export function sanitizeColumn(c: SchemaColumn, src: string, sourceType: string): SanitizedColumn {
  const typed = sanitizeTyped(c, src, sourceType);
  if (c.role !== 'user_id') return typed;
  // The user id is never a missing value: a row without one belongs to no subject, so it cannot be licensed, delivered
  // or erased (uploads refuse it the same way).
  return { value: typed.value, bad: `((${typed.value}) IS NULL OR CAST(${typed.value} AS VARCHAR) = '')` };
}

/** What a column's values must be, as rejection reasons say it (`column <name>: <this>`). */
export function expects(c: Pick<SchemaColumn, 'type' | 'role'>): string {
  return c.role === 'user_id' ? `expects a non-empty ${c.type} (the user id)` : `expects a ${c.type}`;
}

function sanitizeTyped(c: SchemaColumn, src: string, sourceType: string): SanitizedColumn {
  const text = sourceType.toUpperCase() === 'VARCHAR';
  let value: string;
  if (c.type === 'string') return { value: text ? trimmed(src) : src, bad: null };
  if (!text) {
    // A typed source (numbers read by the CSV reader, Parquet checked by type): widening casts only, they cannot fail.
    if (c.type === 'timestamp') value = /WITH TIME ZONE|TIMESTAMPTZ/i.test(sourceType) ? `make_timestamp(epoch_us(${src}))` : `CAST(${src} AS TIMESTAMP)`;
    else value = `CAST(${src} AS ${sqlType(c.type)})`;
    return { value, bad: null };
  }
  switch (c.type) {
    case 'timestamp':
      value = timestampFromText(src, c.format);
      break;
    case 'date':
      value = c.format === undefined ? finite(`TRY_CAST(${src} AS DATE)`) : `CAST(try_strptime(${trimmed(src)}, ${literal(c.format)}) AS DATE)`;
      break;
    case 'boolean':
      // DuckDB's cast reads true/false, t/f, yes/no, y/n, 1/0 in any case, but not with surrounding whitespace.
      value = `TRY_CAST(${trimmed(src)} AS BOOLEAN)`;
      break;
    case 'long':
      value = `CASE WHEN regexp_full_match(${trimmed(src)}, '[+-]?[0-9]+') THEN TRY_CAST(${src} AS BIGINT) END`;
      break;
    case 'double':
      value = `TRY_CAST(${src} AS DOUBLE)`;
      break;
    default: {
      const m = /^decimal\((\d+),(\d+)\)$/.exec(c.type);
      if (!m) throw new Error(`unknown column type ${c.type}`);
      const scale = Number(m[2]);
      const pattern = scale === 0 ? '[+-]?[0-9]+\\.?' : `[+-]?([0-9]+(\\.[0-9]{0,${scale}})?|\\.[0-9]{1,${scale}})`;
      value = `CASE WHEN regexp_full_match(${trimmed(src)}, '${pattern}') THEN TRY_CAST(${src} AS DECIMAL(${m[1]},${m[2]})) END`;
    }
  }
  // An empty text is a missing value (CSV writes nulls so), not a bad one; every cast above gives NULL for it.
  return { value, bad: `((${value}) IS NULL AND ${trimmed(src)} <> '')` };
}

/** The exact DuckDB type of a schema column in the raw table. */
export function sqlType(type: string): string {
  switch (type) {
    case 'string':
      return 'VARCHAR';
    case 'long':
      return 'BIGINT';
    case 'double':
      return 'DOUBLE';
    case 'boolean':
      return 'BOOLEAN';
    case 'date':
      return 'DATE';
    case 'timestamp':
      return 'TIMESTAMP';
    default: {
      const m = /^decimal\((\d+),(\d+)\)$/.exec(type);
      if (!m) throw new Error(`unknown column type ${type}`);
      return `DECIMAL(${m[1]},${m[2]})`;
    }
  }
}

/** The strict expression: the sanitized value, or an error naming the column and its type when it cannot be. */
export function strictValue(c: SchemaColumn, src: string, sourceType: string): string {
  const { value, bad } = sanitizeColumn(c, src, sourceType);
  if (bad === null) return value;
  const fail = `error(${literal(`column ${c.name}: ${expects(c)}`)})`;
  if (c.role === 'user_id') return `CASE WHEN ${bad} THEN ${fail} ELSE ${value} END`;
  // The value once; the error only where it is NULL although the text was not empty (COALESCE is lazy per row).
  return `COALESCE(${value}, CASE WHEN ${trimmed(src)} <> '' THEN ${fail} END)`;
}
