// Strict reading of a staged file against the approved schema, and rejection reasons that name the line or row and the
// column without echoing the value (a rejected value may be personal data; the ingest report is not the place for it).
import { ident, literal, type Duck } from '@atoll/duck';
import { jsonReadType, type SchemaColumn } from './columns.js';

export type InputFormat = 'ndjson' | 'csv' | 'parquet';

/** The exact DuckDB type of a schema column in the raw table. */
export function duckType(type: string): string {
  switch (type) {
    case 'string':
      return 'VARCHAR';
    case 'date':
      return 'DATE';
    case 'timestamp':
      return 'TIMESTAMP';
    default: {
      const m = /^decimal\((\d+),(\d+)\)$/.exec(type);
      return m ? `DECIMAL(${m[1]},${m[2]})` : jsonReadType(type);
    }
  }
}

/** The expression that turns a read column into the raw table's type (strict: CAST fails on a bad value). */
export function castTo(c: SchemaColumn): string {
  const col = ident(c.name);
  // Zone-less timestamps are read as UTC (the session zone); zoned ones are converted to UTC.
  if (c.type === 'timestamp') return `CAST(CAST(${col} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS TIMESTAMP)`;
  return `CAST(${col} AS ${duckType(c.type)})`;
}

/** The relation of the file as read, before casting: CSV and NDJSON columns named by the schema, Parquet as written. */
export function readRelation(file: string, format: InputFormat, columns: readonly SchemaColumn[], csvHeader?: readonly string[]): string {
  if (format === 'parquet') return `read_parquet(${literal(file)})`;
  const byName = new Map(columns.map((c) => [c.name, c]));
  // A CSV's header decides the order of its columns; the schema decides their types.
  const order = format === 'csv' && csvHeader ? csvHeader.map((n) => byName.get(n)!) : columns;
  const spec = order.map((c) => `${literal(c.name)}: ${literal(jsonReadType(c.type))}`).join(', ');
  if (format === 'csv') return `read_csv(${literal(file)}, header = true, columns = {${spec}}, auto_detect = false, strict_mode = true)`;
  return `read_json(${literal(file)}, format = 'newline_delimited', columns = {${spec}}, maximum_object_size = 1048576)`;
}

export function strictSelect(relation: string, columns: readonly SchemaColumn[]): string {
  return `SELECT ${columns.map((c) => `${castTo(c)} AS ${ident(c.name)}`).join(', ')} FROM ${relation}`;
}

/** Splits a CSV header line (RFC 4180 quoting) into names. */
export function parseCsvHeader(line: string): string[] {
  const names: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i += 1) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i += 1;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      names.push(cur);
      cur = '';
    } else cur += ch;
  }
  names.push(cur);
  return names.map((n) => n.replace(/^\uFEFF/, '').trim());
}

/** Why the header does not fit the schema, or null. */
export function headerProblem(header: readonly string[], columns: readonly SchemaColumn[]): string | null {
  const known = new Set(columns.map((c) => c.name));
  const seen = new Set<string>();
  for (const name of header) {
    if (!known.has(name)) return `line 1: unknown column ${JSON.stringify(name.slice(0, 64))}`;
    if (seen.has(name)) return `line 1: column ${name} appears twice`;
    seen.add(name);
  }
  const missing = columns.filter((c) => !seen.has(c.name));
  if (missing.length > 0) return `line 1: missing column ${missing.map((c) => c.name).join(', ')}`;
  return null;
}

/** Parquet logical types each schema type accepts (widening only: a string is never silently a number). */
function parquetAccepts(schemaType: string, fileType: string): boolean {
  const t = fileType.toUpperCase();
  switch (schemaType) {
    case 'string':
      return t === 'VARCHAR';
    case 'long':
      return ['BIGINT', 'INTEGER', 'SMALLINT', 'TINYINT', 'UINTEGER', 'USMALLINT', 'UTINYINT'].includes(t);
    case 'double':
      return ['DOUBLE', 'FLOAT'].includes(t);
    case 'boolean':
      return t === 'BOOLEAN';
    case 'date':
      return t === 'DATE';
    case 'timestamp':
      return t.startsWith('TIMESTAMP');
    default: {
      const want = /^decimal\((\d+),(\d+)\)$/.exec(schemaType);
      const got = /^DECIMAL\((\d+),(\d+)\)$/.exec(t);
      if (!want) return false;
      if (['BIGINT', 'INTEGER', 'SMALLINT', 'TINYINT'].includes(t)) return true;
      if (!got) return false;
      // Exact: no lost fraction digits and room for the integer part.
      return Number(got[2]) <= Number(want[2]) && Number(got[1]) - Number(got[2]) <= Number(want[1]) - Number(want[2]);
    }
  }
}

/** Checks a Parquet file's columns and types against the schema; the reason names the column, or null. */
export async function parquetProblem(duck: Duck, file: string, columns: readonly SchemaColumn[]): Promise<string | null> {
  const described = await duck.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM read_parquet(${literal(file)})`);
  const types = new Map(described.map((d) => [d.column_name, d.column_type]));
  for (const name of types.keys()) {
    if (!columns.some((c) => c.name === name)) return `unknown column ${JSON.stringify(name.slice(0, 64))}`;
  }
  for (const c of columns) {
    const t = types.get(c.name);
    if (t === undefined) return `missing column ${c.name}`;
    if (!parquetAccepts(c.type, t)) return `column ${c.name} expects ${c.type}, the file has ${t}`;
  }
  return null;
}

/**
 * After a strict COPY failed without saying where: the first row (1-based) and column whose value does not cast, found
 * with TRY_CAST over the relation as read. Null when every value casts (the failure was elsewhere).
 */
export async function firstBadValue(duck: Duck, relation: string, columns: readonly SchemaColumn[]): Promise<{ row: number; column: string; expected: string } | null> {
  const castable = columns.filter((c) => !['string', 'long', 'double', 'boolean'].includes(c.type));
  let best: { row: number; column: string; expected: string } | null = null;
  for (const c of castable) {
    const col = ident(c.name);
    const target = c.type === 'timestamp' ? 'TIMESTAMPTZ' : duckType(c.type);
    const found = await duck.all<{ rn: bigint }>(
      `SELECT rn FROM (SELECT row_number() OVER () AS rn, ${col} FROM ${relation}) WHERE ${col} IS NOT NULL AND TRY_CAST(${col} AS ${target}) IS NULL ORDER BY rn LIMIT 1`,
    );
    const rn = found[0]?.rn;
    if (rn !== undefined && (best === null || Number(rn) < best.row)) best = { row: Number(rn), column: c.name, expected: c.type };
  }
  return best;
}

/** A DuckDB reader error as a reason: its line and column, its one-sentence cause, and no echoed values. */
export function describeReadError(message: string): string {
  const lines = message.split('\n').map((l) => l.trim());
  const line = /CSV Error on Line: (\d+)/.exec(message)?.[1];
  const column = /converting column "([^"]+)"/.exec(message)?.[1];
  const cause =
    lines.find((l, i) => i > 0 && l !== '' && !l.startsWith('Original Line') && !l.startsWith('Error when converting')) ??
    /Could not convert[^\n]*/.exec(message)?.[0] ??
    lines[0] ??
    'unreadable file';
  const redacted = (column ? (/Could not convert[^\n]*/.exec(message)?.[0] ?? cause) : line ? cause : (lines[0] ?? cause)).replace(/string "[^"]*"/g, 'a value').replace(/"[^"]{40,}"/g, '"…"');
  // Never leak the worker's local paths into a provider's report.
  const clean = redacted.replace(/'\/[^']*'/g, 'the file').replace(/"\/[^"]*"/g, 'the file');
  return `${line ? `line ${line}` : ''}${line && column ? ', ' : ''}${column ? `column ${column}` : ''}${line || column ? ': ' : ''}${clean}`;
}
