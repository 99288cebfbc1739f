// The core of the batch writer, shared by the writer app and the benchmarks.
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Duck, literal } from '@atoll/duck';
import { appendFiles, createTable, dataFileFromParquet, duckdbFieldIds, newDataFileUri, type CommitResult, type DataFile, type TableIdentifier } from '@atoll/iceberg';
import { parseS3Uri } from '@atoll/storage';
import { csvSelect, ndjsonSelect, rawSchema, type SchemaColumn } from './columns.js';
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
  format: 'ndjson' | 'csv';
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
    const select = opts.format === 'csv' ? csvSelect(opts.input, opts.columns) : ndjsonSelect(opts.input, opts.columns);
    try {
      await duck.run(`COPY (${select}) TO ${literal(output)} (FORMAT parquet, COMPRESSION zstd, FIELD_IDS ${duckdbFieldIds(schema)})`);
    } catch (e) {
      throw new FileDoesNotMatchSchemaError(`the file does not match the schema: ${(e as Error).message.split('\n')[0]}`);
    }
    dataFile = await dataFileFromParquet(output, { uri, schema, connection: duck.connection });
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
