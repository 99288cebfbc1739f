// The core of the batch writer, shared by the writer app and the benchmarks.
import { randomUUID } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Duck, literal } from '@atoll/duck';
import { appendFiles, createTable, dataFileFromParquet, duckdbFieldIds, newDataFileUri, type CommitResult, type DataFile, type TableIdentifier } from '@atoll/iceberg';
import { parseS3Uri } from '@atoll/storage';
import { rawSchema, type SchemaColumn } from './columns.js';
import { describeReadError, firstBadValue, headerProblem, parquetProblem, parseCsvHeader, readRelation, strictSelect, textSources, type InputFormat, type SourceTypes } from './strict-read.js';
import type { Lake } from './lake.js';

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
}

export async function writeDataFileForTable(opts: WriteDataFileOptions): Promise<{ dataFile: DataFile }> {
  const schema = rawSchema(opts.columns);
  const table = await createTable({ io: opts.lake.io, catalog: opts.lake.catalog, id: opts.id, location: opts.location, schema, ifNotExists: true });
  const output = join(opts.workDir, `${randomUUID()}.parquet`);
  const duck = await Duck.open({ memoryLimit: opts.memoryLimit, threads: opts.threads ?? 1, tempDirectory: join(opts.workDir, 'tmp') });
  const uri = newDataFileUri(table.metadata);
  let dataFile: DataFile;
  try {
    await duck.run(`SET TimeZone = 'UTC'`);
    const { relation, sources } = await checkedRelation(duck, opts);
    try {
      await duck.run(`COPY (${strictSelect(relation, opts.columns, sources)}) TO ${literal(output)} (FORMAT parquet, COMPRESSION zstd, FIELD_IDS ${duckdbFieldIds(schema)})`);
    } catch (e) {
      const message = (e as Error).message;
      let reason = describeReadError(message);
      if (!/CSV Error on Line/.test(message)) {
        // A value that cannot be sanitized fails without a position: find the first one.
        const bad = await firstBadValue(duck, relation, opts.columns, sources).catch(() => null);
        if (bad) reason = `${(opts.rowLabel ?? defaultRowLabel(opts.format))(bad.row)}, column ${bad.column}: expects a ${bad.expected}`;
      }
      throw new FileDoesNotMatchSchemaError(`the file does not match the schema: ${reason}`);
    }
    dataFile = await dataFileFromParquet(output, { uri, schema, connection: duck.connection });
    if (dataFile.recordCount === 0) throw new FileDoesNotMatchSchemaError('the file holds no rows');
  } finally {
    duck.close();
  }
  try {
    const { bucket, key } = parseS3Uri(uri);
    await opts.lake.store.putFile(bucket, key, output, { contentType: 'application/vnd.apache.parquet' });
    return { dataFile };
  } finally {
    await rm(output, { force: true });
  }
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
    return { relation: readRelation(opts.input, 'csv', opts.columns, header), sources: textSources(opts.columns) };
  }
  if (opts.format === 'parquet') {
    let checked: Awaited<ReturnType<typeof parquetProblem>>;
    try {
      checked = await parquetProblem(duck, opts.input, opts.columns);
    } catch (e) {
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
