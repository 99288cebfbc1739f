// Interop proof: tables written by @atoll/iceberg (DuckDB Parquet with field ids, our Avro manifests and metadata)
// read back by PyIceberg's StaticTable — by metadata file and by table location via version-hint.text.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import type { DuckDBConnection } from '@duckdb/node-api';
import {
  LocalFileIO,
  MemoryCatalogStore,
  appendFiles,
  createTable,
  dataFileFromParquet,
  duckdbFieldIds,
  duckdbSelectList,
  fileUri,
  icebergSchemaFromColumns,
  loadTable,
  newDataFileUri,
  overwriteFiles,
  planFiles,
} from '@atoll/iceberg';
import type { DataFile, IcebergSchema, TableIdentifier } from '@atoll/iceberg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const INTEROP_DIR = fileURLToPath(new URL('../packages/iceberg/interop/', import.meta.url));

interface PyIcebergRead {
  metadata_location: string;
  format_version: number;
  fields: Array<{ id: number; name: string; type: string; required: boolean }>;
  arrow_types: Record<string, string>;
  snapshot_id: string | null;
  snapshot_count: number;
  summary: Record<string, string> | null;
  files: string[];
  rows: Array<Record<string, unknown>>;
}

let python: string;
let dir: string;
let duck: DuckDBConnection;
const io = new LocalFileIO();
const catalog = new MemoryCatalogStore();

async function pyiceberg(location: string, filter?: string): Promise<PyIcebergRead> {
  const args = [join(INTEROP_DIR, 'read_table.py'), location, ...(filter ? ['--filter', filter] : [])];
  const { stdout } = await run(python, args, { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout) as PyIcebergRead;
}

/** Writes rows to Parquet the way Atoll's writer does: cast to the Iceberg types, FIELD_IDS on COPY. */
async function writeDataFile(opts: {
  schema: IcebergSchema;
  metadata: Awaited<ReturnType<typeof loadTable>>['metadata'];
  columns: string;
  values: string[];
  partition?: Record<string, unknown>;
}): Promise<DataFile> {
  const uri = newDataFileUri(opts.metadata);
  const localPath = fileURLToPath(uri);
  mkdirSync(dirname(localPath), { recursive: true }); // DuckDB's COPY does not create directories
  await duck.run(`COPY (SELECT ${duckdbSelectList(opts.schema)} FROM (VALUES ${opts.values.join(', ')}) v(${opts.columns}))
                  TO '${localPath}' (FORMAT parquet, FIELD_IDS ${duckdbFieldIds(opts.schema)})`);
  return dataFileFromParquet(localPath, { uri, schema: opts.schema, ...(opts.partition ? { partition: opts.partition } : {}) });
}

const byId = (a: Record<string, unknown>, b: Record<string, unknown>): number => String(a.id).localeCompare(String(b.id), 'en', { numeric: true });

beforeAll(async () => {
  // First run installs the pinned PyIceberg into ${ATOLL_CACHE_DIR:-~/.cache/atoll}/pyiceberg-venv; later runs reuse it.
  const { stdout } = await run(process.execPath, [join(INTEROP_DIR, 'ensure-venv.mjs')], { maxBuffer: 16 * 1024 * 1024 });
  python = stdout.trim();
  dir = mkdtempSync(join(tmpdir(), 'atoll-iceberg-interop-'));
  duck = await (await DuckDBInstance.create(':memory:')).connect();
}, 600_000);

afterAll(() => {
  duck?.closeSync();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('PyIceberg reads tables written by @atoll/iceberg', () => {
  const schema = icebergSchemaFromColumns([
    { name: 'id', type: 'long', required: true },
    { name: 'name', type: 'string' },
    { name: 'score', type: 'double' },
    { name: 'active', type: 'boolean' },
    { name: 'birthday', type: 'date' },
    { name: 'seen_at', type: 'timestamp' },
    { name: 'balance', type: 'decimal(12,2)' },
  ]);
  const columns = 'id, name, score, active, birthday, seen_at, balance';
  const id: TableIdentifier = { namespace: ['interop'], name: 'people' };

  const expectedFirst = [
    { id: 1, name: 'Ada', score: 9.5, active: true, birthday: '1815-12-10', seen_at: '2024-05-01T12:30:45.123456', balance: '1234.50' },
    { id: 2, name: 'Zoë 😀', score: -0.25, active: false, birthday: '1969-12-31', seen_at: '1970-01-01T00:00:00', balance: '-0.01' },
    { id: 3, name: null, score: null, active: null, birthday: null, seen_at: null, balance: null },
  ];
  const expectedSecond = [
    { id: 100, name: 'Grace', score: 1e-300, active: true, birthday: '2000-02-29', seen_at: '2038-01-19T03:14:08', balance: '9999999999.99' },
    { id: '9007199254740993', name: '', score: 0, active: false, birthday: '2024-01-01', seen_at: '2024-01-01T00:00:00.000001', balance: '0.00' },
  ];

  let tableLocation: string;
  let secondSnapshot: bigint;
  let secondMetadata: string;
  let firstFile: DataFile;

  it('two appends, read by metadata file and by version-hint.text', async () => {
    tableLocation = fileUri(join(dir, 'people'));
    const created = await createTable({ io, catalog, id, location: tableLocation, schema });
    firstFile = await writeDataFile({
      schema,
      metadata: created.metadata,
      columns,
      values: [
        "(1, 'Ada', 9.5, true, DATE '1815-12-10', TIMESTAMP '2024-05-01 12:30:45.123456', 1234.50)",
        "(2, 'Zoë 😀', -0.25, false, DATE '1969-12-31', TIMESTAMP '1970-01-01 00:00:00', -0.01)",
        '(3, NULL, NULL, NULL, NULL, NULL, NULL)',
      ],
    });
    const first = await appendFiles({ io, catalog, id, files: [firstFile], commitId: 'interop-1' });
    const secondFile = await writeDataFile({
      schema,
      metadata: created.metadata,
      columns,
      values: [
        "(100, 'Grace', 1e-300, true, DATE '2000-02-29', TIMESTAMP '2038-01-19 03:14:08', 9999999999.99)",
        "(9007199254740993, '', 0.0, false, DATE '2024-01-01', TIMESTAMP '2024-01-01 00:00:00.000001', 0)",
      ],
    });
    const second = await appendFiles({ io, catalog, id, files: [secondFile], commitId: 'interop-2' });
    expect(first.alreadyCommitted || second.alreadyCommitted).toBe(false);
    secondSnapshot = second.snapshotId;
    secondMetadata = second.metadataLocation;
    expect(secondMetadata).toBe(`${tableLocation}/metadata/v3.metadata.json`);

    const byFile = await pyiceberg(secondMetadata);
    const byHint = await pyiceberg(tableLocation);
    expect(byHint.metadata_location).toBe(secondMetadata);
    for (const read of [byFile, byHint]) {
      expect(read.format_version).toBe(2);
      expect(read.fields).toEqual([
        { id: 1, name: 'id', type: 'long', required: true },
        { id: 2, name: 'name', type: 'string', required: false },
        { id: 3, name: 'score', type: 'double', required: false },
        { id: 4, name: 'active', type: 'boolean', required: false },
        { id: 5, name: 'birthday', type: 'date', required: false },
        { id: 6, name: 'seen_at', type: 'timestamp', required: false },
        { id: 7, name: 'balance', type: 'decimal(12, 2)', required: false },
      ]);
      expect(read.arrow_types).toEqual({
        id: 'int64',
        name: 'string',
        score: 'double',
        active: 'bool',
        birthday: 'date32[day]',
        seen_at: 'timestamp[us]',
        balance: 'decimal128(12, 2)',
      });
      expect(read.snapshot_id).toBe(secondSnapshot.toString());
      expect(read.snapshot_count).toBe(2);
      expect(read.summary).toMatchObject({ operation: 'append', 'total-records': '5', 'total-data-files': '2', 'added-records': '2', 'atoll.commit-id': 'interop-2' });
      expect(read.files).toEqual([firstFile.filePath, secondFile.filePath].sort());
      expect([...read.rows].sort(byId)).toEqual([...expectedFirst, ...expectedSecond].sort(byId));
    }
  });

  it('PyIceberg prunes files with our column bounds', async () => {
    const big = await pyiceberg(tableLocation, 'id >= 100');
    expect(big.files).toHaveLength(1);
    expect(big.rows.map((r) => r.id).sort()).toEqual([100, '9007199254740993'].sort());
    // File 2's names span '' .. 'Grace', so only file 1 ('Ada' .. 'Zoë 😀') can hold this one.
    const byName = await pyiceberg(tableLocation, "name == 'Zoë 😀'");
    expect(byName.files).toEqual([firstFile.filePath]);
    expect(byName.rows).toEqual([expectedFirst[1]]);
    const none = await pyiceberg(tableLocation, "name > 'zz'");
    expect(none.files).toEqual([]);
    const byDate = await pyiceberg(tableLocation, "birthday < '1900-01-01'");
    expect(byDate.files).toEqual([firstFile.filePath]);
    const byBalance = await pyiceberg(tableLocation, 'balance > 5000');
    expect(byBalance.files).toHaveLength(1);
    expect(byBalance.rows.map((r) => r.id)).toEqual([100]);
  });

  it('a copy-on-write overwrite is what PyIceberg sees next; the old snapshot stays readable', async () => {
    const { metadata } = await loadTable({ io, catalog, id });
    const replacement = await writeDataFile({
      schema,
      metadata,
      columns,
      values: ["(1, 'Ada L.', 9.75, true, DATE '1815-12-10', TIMESTAMP '2024-05-02 00:00:00', 1300.00)"],
    });
    await overwriteFiles({ io, catalog, id, deleteFiles: [firstFile.filePath], addFiles: [replacement], commitId: 'interop-3' });
    const latest = await pyiceberg(tableLocation);
    expect(latest.metadata_location).toBe(`${tableLocation}/metadata/v4.metadata.json`);
    expect(latest.summary).toMatchObject({ operation: 'overwrite', 'total-records': '3', 'deleted-records': '3', 'added-records': '1' });
    expect([...latest.rows].sort(byId)).toEqual(
      [{ id: 1, name: 'Ada L.', score: 9.75, active: true, birthday: '1815-12-10', seen_at: '2024-05-02T00:00:00', balance: '1300.00' }, ...expectedSecond].sort(byId),
    );
    const before = await pyiceberg(secondMetadata);
    expect(before.rows).toHaveLength(5);
    expect((await planFiles({ io, metadata: (await loadTable({ io, catalog, id })).metadata })).length).toBe(2);
  });

  it('partitioned table: identity and day partitions are read and pruned', async () => {
    const events = icebergSchemaFromColumns([
      { name: 'tid', type: 'string', required: true },
      { name: 'country', type: 'string' },
      { name: 'happened_at', type: 'timestamp' },
      { name: 'amount', type: 'decimal(9,2)' },
    ]);
    const eventsId: TableIdentifier = { namespace: ['interop'], name: 'events' };
    const location = fileUri(join(dir, 'events'));
    const created = await createTable({
      io,
      catalog,
      id: eventsId,
      location,
      schema: events,
      partitionSpec: [
        { sourceColumn: 'country', transform: 'identity' },
        { sourceColumn: 'happened_at', transform: 'day' },
      ],
    });
    const cols = 'tid, country, happened_at, amount';
    const nl = await writeDataFile({
      schema: events,
      metadata: created.metadata,
      columns: cols,
      values: ["('t1', 'NL', TIMESTAMP '2024-06-01 08:00:00', 1.50)", "('t2', 'NL', TIMESTAMP '2024-06-01 23:59:59', 2.25)"],
      partition: { country: 'NL', happened_at_day: '2024-06-01' },
    });
    const de = await writeDataFile({
      schema: events,
      metadata: created.metadata,
      columns: cols,
      values: ["('t3', 'DE', TIMESTAMP '2024-06-02 00:00:00', -3.00)"],
      partition: { country: 'DE', happened_at_day: '2024-06-02' },
    });
    const unknown = await writeDataFile({
      schema: events,
      metadata: created.metadata,
      columns: cols,
      values: ["('t4', NULL, NULL, NULL)"],
      partition: { country: null, happened_at_day: null },
    });
    await appendFiles({ io, catalog, id: eventsId, files: [nl, de] });
    await appendFiles({ io, catalog, id: eventsId, files: [unknown] });
    const all = await pyiceberg(location);
    expect(all.rows.map((r) => r.tid).sort()).toEqual(['t1', 't2', 't3', 't4']);
    expect(all.rows.find((r) => r.tid === 't3')).toEqual({ tid: 't3', country: 'DE', happened_at: '2024-06-02T00:00:00', amount: '-3.00' });
    const onlyNl = await pyiceberg(location, "country == 'NL'");
    expect(onlyNl.files).toEqual([nl.filePath]);
    expect(onlyNl.rows.map((r) => r.tid).sort()).toEqual(['t1', 't2']);
    const june2 = await pyiceberg(location, "happened_at >= '2024-06-02T00:00:00'");
    expect(june2.files).toEqual([de.filePath]);
    const nulls = await pyiceberg(location, 'country is null');
    expect(nulls.files).toEqual([unknown.filePath]);
  });
});
