// Strict reading of a staged file against the approved schema, and rejection reasons that name the line or row and the
// column without echoing the value (a rejected value may be personal data; the ingest report is not the place for it).
import { ident, literal, type Duck } from '@atoll/duck';
import type { SchemaColumn } from './columns.js';
import { expects, readType, sanitizeColumn, strictValue } from './sanitize.js';

export type InputFormat = 'ndjson' | 'csv' | 'parquet';

/** The relation of the file as read, before sanitizing: CSV and NDJSON columns named by the schema (numbers typed by the reader, the rest text), Parquet as written. */
export function readRelation(file: string, format: InputFormat, columns: readonly SchemaColumn[], csvHeader?: readonly string[], opts: { storeRejects?: boolean } = {}): string {
  if (format === 'parquet') return `read_parquet(${literal(file)})`;
  const byName = new Map(columns.map((c) => [c.name, c]));
  // A CSV's header decides the order of its columns; sanitizing (sanitize.ts) decides their types.
  const order = format === 'csv' && csvHeader ? csvHeader.map((n) => byName.get(n)!) : columns;
  const spec = order.map((c) => `${literal(c.name)}: ${literal(readType(c.type))}`).join(', ');
  // store_rejects (quarantine mode): lines that do not split into the columns are set aside in reject_errors.
  if (format === 'csv') return `read_csv(${literal(file)}, header = true, columns = {${spec}}, auto_detect = false, strict_mode = true${opts.storeRejects ? ', store_rejects = true' : ''})`;
  return `read_json(${literal(file)}, format = 'newline_delimited', columns = {${spec}}, maximum_object_size = 1048576)`;
}

/** Each schema column's DuckDB type as read: readType for CSV and NDJSON, the file's own for Parquet. */
export type SourceTypes = ReadonlyMap<string, string>;

export const textSources = (columns: readonly SchemaColumn[]): SourceTypes => new Map(columns.map((c) => [c.name, readType(c.type)]));

export function strictSelect(relation: string, columns: readonly SchemaColumn[], sources: SourceTypes): string {
  return `SELECT ${columns.map((c) => `${strictValue(c, ident(c.name), sources.get(c.name) ?? 'VARCHAR')} AS ${ident(c.name)}`).join(', ')} FROM ${relation}`;
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
  // Text columns are sanitized like CSV values (a timestamp exported as ISO text, a decimal as a string).
  if (t === 'VARCHAR') return true;
  switch (schemaType) {
    case 'string':
      return false;
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

/** Checks a Parquet file's columns and types against the schema: the reason names the column, or the types as read. */
export async function parquetProblem(duck: Duck, file: string, columns: readonly SchemaColumn[]): Promise<{ problem: string } | { sources: SourceTypes }> {
  const described = await duck.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM read_parquet(${literal(file)})`);
  const types = new Map(described.map((d) => [d.column_name, d.column_type]));
  for (const name of types.keys()) {
    if (!columns.some((c) => c.name === name)) return { problem: `unknown column ${JSON.stringify(name.slice(0, 64))}` };
  }
  for (const c of columns) {
    const t = types.get(c.name);
    if (t === undefined) return { problem: `missing column ${c.name}` };
    if (!parquetAccepts(c.type, t)) return { problem: `column ${c.name} expects ${c.type}, the file has ${t}` };
  }
  return { sources: types };
}

/**
 * After a strict COPY failed without saying where: the first row (1-based) and column whose value cannot be sanitized
 * (sanitize.ts), in one pass. Null when every value can (the failure was elsewhere).
 */
export async function firstBadValue(duck: Duck, relation: string, columns: readonly SchemaColumn[], sources: SourceTypes): Promise<{ row: number; column: string; expects: string } | null> {
  const checks = columns.flatMap((c) => {
    const { bad } = sanitizeColumn(c, ident(c.name), sources.get(c.name) ?? 'VARCHAR');
    return bad === null ? [] : [{ c, bad }];
  });
  if (checks.length === 0) return null;
  const which = `CASE ${checks.map(({ bad }, i) => `WHEN ${bad} THEN ${i}`).join(' ')} END`;
  const found = await duck.all<{ rn: bigint; i: number }>(
    `SELECT rn, i FROM (SELECT row_number() OVER () AS rn, ${which} AS i FROM ${relation}) WHERE i IS NOT NULL ORDER BY rn LIMIT 1`,
  );
  const hit = found[0];
  if (!hit) return null;
  const { c } = checks[Number(hit.i)]!;
  return { row: Number(hit.rn), column: c.name, expects: expects(c) };
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
