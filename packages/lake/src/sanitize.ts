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

const trimmed = (src: string): string => `trim(CAST(${src} AS VARCHAR))`;

/** Microseconds since the epoch from an all-digit text, by unit. */
function epochMicros(s: string, unit: 'epoch_s' | 'epoch_ms' | 'epoch_us'): string {
  const factor = unit === 'epoch_s' ? 1_000_000 : unit === 'epoch_ms' ? 1_000 : 1;
  return `make_timestamp(TRY_CAST(${s} AS BIGINT) * ${factor})`;
}

function timestampFromText(s: string, format: string | undefined): string {
  if (format === 'epoch_s' || format === 'epoch_ms' || format === 'epoch_us') {
    const digits = format === 'epoch_s' ? 11 : format === 'epoch_ms' ? 14 : 17;
    return `CASE WHEN regexp_full_match(${s}, '-?[0-9]{1,${digits}}') THEN ${epochMicros(s, format)} END`;
  }
  if (format !== undefined) return `CAST(try_strptime(${s}, ${literal(format)}) AS TIMESTAMPTZ) AT TIME ZONE 'UTC'`;
  return `CASE
    WHEN regexp_full_match(${s}, '-?[0-9]{1,11}') THEN ${epochMicros(s, 'epoch_s')}
    WHEN regexp_full_match(${s}, '-?[0-9]{1,11}\\.[0-9]{1,6}') THEN make_timestamp(CAST(TRY_CAST(${s} AS DECIMAL(38,6)) * 1000000 AS BIGINT))
    WHEN regexp_full_match(${s}, '-?[0-9]{12,14}') THEN ${epochMicros(s, 'epoch_ms')}
    WHEN regexp_full_match(${s}, '-?[0-9]{15,17}') THEN ${epochMicros(s, 'epoch_us')}
    WHEN regexp_full_match(${s}, '-?[0-9.]+') THEN NULL
    ELSE TRY_CAST(${s} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' END`;
}

/**
 * The sanitizing expressions of one schema column over `src` (a column of the relation as read), whose DuckDB type
 * as read is `sourceType` (VARCHAR for CSV and NDJSON text; the file's own type for Parquet).
 */
export function sanitizeColumn(c: SchemaColumn, src: string, sourceType: string): SanitizedColumn {
  const text = sourceType.toUpperCase() === 'VARCHAR';
  const s = trimmed(src);
  let value: string;
  if (c.type === 'string') return { value: text ? s : src, bad: null };
  if (!text) {
    // A typed source (Parquet) was checked against the schema by type: widening casts only, they cannot fail.
    if (c.type === 'timestamp') value = `CAST(CAST(${src} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS TIMESTAMP)`;
    else value = `CAST(${src} AS ${sqlType(c.type)})`;
    return { value, bad: null };
  }
  switch (c.type) {
    case 'timestamp':
      value = `CAST(${timestampFromText(s, c.format)} AS TIMESTAMP)`;
      break;
    case 'date':
      value = c.format === undefined ? `TRY_CAST(${s} AS DATE)` : `CAST(try_strptime(${s}, ${literal(c.format)}) AS DATE)`;
      break;
    case 'boolean':
      value = `CASE WHEN lower(${s}) IN ('true', 't', 'yes', 'y', '1') THEN true WHEN lower(${s}) IN ('false', 'f', 'no', 'n', '0') THEN false END`;
      break;
    case 'long':
      value = `CASE WHEN regexp_full_match(${s}, '[+-]?[0-9]+') THEN TRY_CAST(${s} AS BIGINT) END`;
      break;
    case 'double':
      value = `TRY_CAST(${s} AS DOUBLE)`;
      break;
    default: {
      const m = /^decimal\((\d+),(\d+)\)$/.exec(c.type);
      if (!m) throw new Error(`unknown column type ${c.type}`);
      const scale = Number(m[2]);
      const pattern = scale === 0 ? '[+-]?[0-9]+\\.?' : `[+-]?([0-9]+(\\.[0-9]{0,${scale}})?|\\.[0-9]{1,${scale}})`;
      value = `CASE WHEN regexp_full_match(${s}, '${pattern}') THEN TRY_CAST(${s} AS DECIMAL(${m[1]},${m[2]})) END`;
    }
  }
  // An empty text is a missing value (CSV writes nulls so), not a bad one.
  return { value: `CASE WHEN ${s} <> '' THEN ${value} END`, bad: `(${src} IS NOT NULL AND ${s} <> '' AND (${value}) IS NULL)` };
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
  return `CASE WHEN ${bad} THEN error(${literal(`column ${c.name}: expects a ${c.type}`)}) ELSE ${value} END`;
}
