// The core of the batch writer, shared by the writer app and the benchmarks.
import { randomUUID } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Duck, ident, literal } from '@atoll/duck';
import { isEnvironmentFailure } from '@atoll/errors';
import { appendFiles, createTable, dataFileFromParquet, duckdbFieldIds, newDataFileUri, type CommitResult, type DataFile, type IcebergSchema, type TableIdentifier } from '@atoll/iceberg';
import { parseS3Uri } from '@atoll/storage';
import { rawSchema, type SchemaColumn } from './columns.js';
import { describeReadError, firstBadValue, headerProblem, parquetProblem, parseCsvHeader, readRelation, strictSelect, textSources, type InputFormat, type SourceTypes } from './strict-read.js';
import type { Lake } from './lake.js';
import { expects, sanitizeColumn } from './sanitize.js';

export class FileDoesNotMatchSchemaError extends Error {}

/**
 * The batch writer's half of an ingest: one local CSV or NDJSON file → one Parquet file with Iceberg field ids
 * (DuckDB) → uploaded under the table's data location, creating the table if needed. Nothing is committed: the caller
 * appends the returned file (at once, or batched with others by a metadata writer).
 */
export interface WriteDataFileOptions {
  lake: Lake;
  id: TableIdentifier;
  location: string;
  columns: readonly SchemaColumn[];
  input: string;
  format: InputFormat;
  /** How a rejection names the n-th row (1-based) when the reader gives no line; defaults per format. */
  rowLabel?: (row: number) => string;
  workDir: string;
  memoryLimit: string;
  threads?: number;
  /**
   * Bad rows (values that cannot be sanitized; CSV lines with too many or too few columns or invalid UTF-8) are kept
   * aside, up to `max`, and the good rows load. Absent: the first bad row rejects the whole file.
   */
  quarantine?: { max: number };
}

/** A row kept aside: where it was (`line 7`, `row 3`), why, and the row as read (text values, or the raw CSV line). */
export interface QuarantinedRow {
  position: string;
  reason: string;
  row: Record<string, unknown>;
}

export async function writeDataFileForTable(opts: WriteDataFileOptions): Promise<{ dataFile: DataFile; quarantined: QuarantinedRow[] }> {
  const schema = rawSchema(opts.columns);
  // The table (created on first use) is needed only for the data file's name: its catalog and S3 round trips run
  // while DuckDB reads the file. Awaited below; the catch only keeps a failed read from leaving it unobserved.
  const table = createTable({ io: opts.lake.io, catalog: opts.lake.catalog, id: opts.id, location: opts.location, schema, ifNotExists: true });
  table.catch(() => undefined);
  const output = join(opts.workDir, `${randomUUID()}.parquet`);
  const duck = await Duck.open({ memoryLimit: opts.memoryLimit, threads: opts.threads ?? 1, tempDirectory: join(opts.workDir, 'tmp') });
  let uri: string;
  let dataFile: DataFile;
  let quarantined: QuarantinedRow[] = [];
  try {
    await duck.run(`SET TimeZone = 'UTC'`);
    // Common-subexpression elimination would hoist an expression a projection uses twice out of its CASE branch and
    // run it for every row: the `trim(src)` of a timestamp's epoch fallbacks and of each strict value's error check,
    // which only rows that reach the branch need. Off, the strict COPY of the ingest bench's CSV takes ~9 % less CPU.
    await duck.run(`SET disabled_optimizers = 'common_subexpressions'`);
    const { relation, sources } = await checkedRelation(duck, opts);
    if (opts.quarantine) quarantined = await writeGoodRows(duck, opts, relation, sources, output, schema, opts.quarantine.max);
    else await writeAllRows(duck, opts, relation, sources, output, schema);
    uri = newDataFileUri((await table).metadata);
    dataFile = await dataFileFromParquet(output, { uri, schema, connection: duck.connection });
    if (dataFile.recordCount === 0) {
      const first = quarantined[0];
      throw new FileDoesNotMatchSchemaError(first ? `the file holds no good rows: ${first.position}: ${first.reason}` : 'the file holds no rows');
    }
  } finally {
    duck.close();
  }
  try {
    const { bucket, key } = parseS3Uri(uri);
    await opts.lake.store.putFile(bucket, key, output, { contentType: 'application/vnd.apache.parquet' });
    return { dataFile, quarantined };
  } finally {
    await rm(output, { force: true });
  }
}

/** Whole-file mode: every row sanitizes, or the first that does not rejects the file, named by line or row and column. */
async function writeAllRows(duck: Duck, opts: WriteDataFileOptions, relation: string, sources: SourceTypes, output: string, schema: IcebergSchema): Promise<void> {
  try {
    await duck.run(`COPY (${strictSelect(relation, opts.columns, sources)}) TO ${literal(output)} (FORMAT parquet, COMPRESSION zstd, FIELD_IDS ${duckdbFieldIds(schema)})`);
  } catch (e) {
    if (isEnvironmentFailure(e)) throw e;
    const message = (e as Error).message;
    let reason = describeReadError(message);
    if (!/CSV Error on Line/.test(message)) {
      // A value that cannot be sanitized fails without a position: find the first one.
      const bad = await firstBadValue(duck, relation, opts.columns, sources).catch(() => null);
      if (bad) reason = `${(opts.rowLabel ?? defaultRowLabel(opts.format))(bad.row)}, column ${bad.column}: ${bad.expects}`;
    }
    throw new FileDoesNotMatchSchemaError(`the file does not match the schema: ${reason}`);
  }
}

/**
 * Quarantine mode: the rows that sanitize go to `output`; the others (and the CSV lines the reader set aside) are
 * returned with their reasons. More than `max` of them rejects the file: a file that bad is the wrong file.
 */
async function writeGoodRows(duck: Duck, opts: WriteDataFileOptions, relation: string, sources: SourceTypes, output: string, schema: IcebergSchema, max: number): Promise<QuarantinedRow[]> {
  const checks = opts.columns.flatMap((c) => {
    const { bad } = sanitizeColumn(c, ident(c.name), sources.get(c.name) ?? 'VARCHAR');
    return bad === null ? [] : [{ c, bad }];
  });
  const which = checks.length === 0 ? 'NULL' : `CASE ${checks.map(({ bad }, i) => `WHEN ${bad} THEN ${i}`).join(' ')} END`;
  try {
    await duck.run(`CREATE TEMP TABLE staged AS SELECT row_number() OVER () AS _rn, ${which} AS _bad, * FROM ${relation}`);
  } catch (e) {
    if (isEnvironmentFailure(e)) throw e;
    throw new FileDoesNotMatchSchemaError(`the file does not match the schema: ${describeReadError((e as Error).message)}`);
  }
  // CSV lines the reader could not split into the schema's columns (stored by store_rejects). An unterminated quote
  // swallows the rest of the file: nothing after it can be trusted, so that rejects the file.
  const rejects = opts.format === 'csv' ? await duck.all<{ line: bigint; error_type: string; column_name: string | null; csv_line: string | null }>('SELECT line, error_type, column_name, csv_line FROM reject_errors ORDER BY line') : [];
  const unquoted = rejects.find((r) => r.error_type === 'UNQUOTED VALUE');
  if (unquoted) throw new FileDoesNotMatchSchemaError(`the file does not match the schema: line ${unquoted.line}: a quoted value is never closed`);
  const badRows = await duck.all<{ rn: bigint; i: number; row: string }>(
    `SELECT _rn AS rn, _bad AS i, CAST(to_json(struct_pack(${opts.columns.map((c) => `${ident(c.name)} := ${ident(c.name)}`).join(', ')})) AS VARCHAR) AS row FROM staged WHERE _bad IS NOT NULL ORDER BY _rn LIMIT ${max + 1}`,
  );
  const rejectedLines = rejects.map((r) => Number(r.line)).sort((a, b) => a - b);
  const label = (rn: number): string => {
    if (opts.format !== 'csv' || opts.rowLabel) return (opts.rowLabel ?? defaultRowLabel(opts.format))(rn);
    // The rn-th row the reader kept is on line rn + 1 (after the header), pushed down by each line it set aside.
    let line = rn + 1;
    for (const l of rejectedLines) if (l <= line) line += 1;
    return `line ${line}`;
  };
  const quarantined: QuarantinedRow[] = [
    // A number the reader could not parse (CAST) names its column like a value sanitizing refused.
    ...rejects.map((r) => {
      const column = r.error_type === 'CAST' ? opts.columns.find((c) => c.name === r.column_name) : undefined;
      return { position: `line ${r.line}`, reason: column ? `column ${column.name}: ${expects(column)}` : r.error_type.toLowerCase(), row: { line: r.csv_line ?? '' } };
    }),
    ...badRows.map((b) => {
      const c = checks[Number(b.i)]!.c;
      return { position: label(Number(b.rn)), reason: `column ${c.name}: ${expects(c)}`, row: JSON.parse(b.row) as Record<string, unknown> };
    }),
  ];
  if (quarantined.length > max) throw new FileDoesNotMatchSchemaError(`more than ${max} bad rows; the first: ${quarantined[0]!.position}: ${quarantined[0]!.reason}`);
  await duck.run(`COPY (${strictSelect('staged', opts.columns, sources)} WHERE _bad IS NULL) TO ${literal(output)} (FORMAT parquet, COMPRESSION zstd, FIELD_IDS ${duckdbFieldIds(schema)})`);
  return quarantined;
}

function defaultRowLabel(format: InputFormat): (row: number) => string {
  // CSV line 1 is the header; NDJSON has one record per line; Parquet has rows.
  if (format === 'csv') return (row) => `line ${row + 1}`;
  if (format === 'ndjson') return (row) => `line ${row}`;
  return (row) => `row ${row}`;
}

/** The first line of a file, at most 64 KiB; null for an empty file. */
async function firstLine(file: string): Promise<string | null> {
  const handle = await open(file, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    if (bytesRead === 0) return null;
    const text = buf.subarray(0, bytesRead).toString('utf8');
    const nl = text.indexOf('\n');
    return (nl >= 0 ? text.slice(0, nl) : text).replace(/\r$/, '');
  } finally {
    await handle.close();
  }
}

/** The relation to read, after the checks a reader cannot make itself (CSV header names, Parquet column types). */
async function checkedRelation(duck: Duck, opts: WriteDataFileOptions): Promise<{ relation: string; sources: SourceTypes }> {
  if (opts.format === 'csv') {
    const line = await firstLine(opts.input);
    if (line === null || line.trim() === '') throw new FileDoesNotMatchSchemaError('the file is empty');
    const header = parseCsvHeader(line);
    const problem = headerProblem(header, opts.columns);
    if (problem) throw new FileDoesNotMatchSchemaError(`the file does not match the schema: ${problem}`);
    return { relation: readRelation(opts.input, 'csv', opts.columns, header, { storeRejects: opts.quarantine !== undefined }), sources: textSources(opts.columns) };
  }
  if (opts.format === 'parquet') {
    let checked: Awaited<ReturnType<typeof parquetProblem>>;
    try {
      checked = await parquetProblem(duck, opts.input, opts.columns);
    } catch (e) {
      if (isEnvironmentFailure(e)) throw e;
      throw new FileDoesNotMatchSchemaError(`not a readable Parquet file: ${describeReadError((e as Error).message)}`);
    }
    if ('problem' in checked) throw new FileDoesNotMatchSchemaError(`the file does not match the schema: ${checked.problem}`);
    return { relation: readRelation(opts.input, 'parquet', opts.columns), sources: checked.sources };
  }
  return { relation: readRelation(opts.input, opts.format, opts.columns), sources: textSources(opts.columns) };
}

/**
 * The core of the batch writer: one local CSV or NDJSON file → one Parquet file with Iceberg field ids (DuckDB) →
 * uploaded next to the table → one committed snapshot. `commitId` makes a retry a no-op once the commit landed.
 */
export async function loadFileIntoTable(opts: WriteDataFileOptions & { commitId: string }): Promise<{ commit: CommitResult; dataFile: DataFile }> {
  const { commitId, ...write } = opts;
  const { dataFile } = await writeDataFileForTable(write);
  const commit = await appendFiles({ io: opts.lake.io, catalog: opts.lake.catalog, id: opts.id, files: [dataFile], commitId });
  return { commit, dataFile };
}
