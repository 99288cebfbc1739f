// Partitioned writes in one DuckDB job (day/month/identity values in SQL) read back and pruned by PyIceberg, and
// field-id reads of files written before a rename/add/widen.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import type { DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCatalogStore } from './catalog-store.js';
import { appendFiles, createTable, loadTable, newDataFileUri, planFiles } from './index.js';
import { duckdbPartitionExpressions, duckdbReadParquet, writePartitionedParquet } from './duckdb-write.js';
import { InvalidInputError } from './errors.js';
import { updateSchema } from './evolution.js';
import { LocalFileIO, fileUri } from './io.js';
import { currentSchema, defaultSpec } from './metadata.js';
import type { DataFile } from './manifest.js';
import type { PartitionValue } from './partition.js';
import { buildPartitionSpec, partitionForRow } from './partition.js';
import { duckdbFieldIds, duckdbSelectList, icebergSchemaFromColumns } from './schema.js';
import type { IcebergSchema } from './types.js';
import { dataFileFromParquet } from './stats.js';

const run = promisify(execFile);
const INTEROP_DIR = fileURLToPath(new URL('../interop/', import.meta.url));
const io = new LocalFileIO();
let dir: string;
let duck: DuckDBConnection;
let python: string;

beforeAll(async () => {
  const { stdout } = await run(process.execPath, [join(INTEROP_DIR, 'ensure-venv.mjs')], { maxBuffer: 16 * 1024 * 1024 });
  python = stdout.trim();
  dir = mkdtempSync(join(tmpdir(), 'atoll-duckdb-write-'));
  duck = await (await DuckDBInstance.create(':memory:', { threads: '1' })).connect();
  await duck.run(`SET TimeZone = 'UTC'`);
}, 600_000);

afterAll(() => {
  duck?.closeSync();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface PyRead {
  fields: Array<{ id: number; name: string; type: string }>;
  files: string[];
  rows: Array<Record<string, unknown>>;
}

async function pyiceberg(location: string, filter?: string): Promise<PyRead> {
  const { stdout } = await run(python, [join(INTEROP_DIR, 'read_table.py'), location, ...(filter ? ['--filter', filter] : [])], { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout) as PyRead;
}

const schema = icebergSchemaFromColumns([
  { name: 'id', type: 'long', required: true },
  { name: 'country', type: 'string' },
  { name: 'ts', type: 'timestamp' },
]);

const VALUES = `(VALUES
  (1, 'DE', TIMESTAMP '2024-01-31 23:59:59.999999'),
  (2, 'DE', TIMESTAMP '2024-02-01 00:00:00'),
  (3, 'FR', TIMESTAMP '2024-02-01 12:00:00'),
  (4, NULL, TIMESTAMP '1969-12-31 23:00:00'),
  (5, 'FR', NULL),
  (6, 'DE', TIMESTAMP '2024-02-01 08:00:00')) v(id, country, ts)`;

describe('duckdbPartitionExpressions', () => {
  it('computes the same values as partitionForRow (day, month, identity, truncate; negatives and nulls)', async () => {
    const spec = buildPartitionSpec(schema, [
      { sourceColumn: 'ts', transform: 'day' },
      { sourceColumn: 'ts', transform: 'month' },
      { sourceColumn: 'country', transform: 'identity' },
      { sourceColumn: 'id', transform: 'truncate[4]' },
      { sourceColumn: 'ts', transform: 'identity' },
    ]);
    const exprs = duckdbPartitionExpressions(schema, spec);
    const reader = await duck.runAndReadAll(
      `SELECT id, country, CAST(ts AS VARCHAR) AS ts_text, ${exprs.map((e) => `${e.sql} AS "${e.name}"`).join(', ')} FROM ${VALUES} ORDER BY id`,
    );
    const rows = reader.getRowObjectsJS();
    expect(rows).toHaveLength(6);
    for (const row of rows) {
      const fromSql: Record<string, unknown> = {};
      for (const e of exprs) fromSql[e.name] = row[e.name] ?? null;
      const expected = partitionForRow(schema, spec, { id: row.id, country: row.country, ts: row.ts_text ?? null });
      // The SQL values go through the commit's normalizer and come back in the form partitionForRow returns.
      const viaSql = await normalizedPartition(spec, fromSql);
      expect(viaSql).toEqual(expected);
    }
  });

  it('refuses bucket (needs Iceberg murmur3), with a clear error', () => {
    const spec = buildPartitionSpec(schema, [{ sourceColumn: 'id', transform: 'bucket[8]' }]);
    expect(() => duckdbPartitionExpressions(schema, spec)).toThrow(InvalidInputError);
    expect(() => duckdbPartitionExpressions(schema, spec)).toThrow(/partitionForRow/);
  });
});

/** DataFile.partition as the commit normalizes it, in the external form planFiles hands back. */
async function normalizedPartition(spec: ReturnType<typeof buildPartitionSpec>, partition: Record<string, unknown>): Promise<Record<string, unknown>> {
  const catalog = new MemoryCatalogStore();
  const id = { namespace: ['n'], name: `p${Math.random().toString(36).slice(2)}` };
  const table = await createTable({ io, catalog, id, location: fileUri(join(dir, id.name)), schema, partitionSpec: spec });
  // Only the manifest is read back, so the data file itself need not exist.
  const uri = newDataFileUri(table.metadata);
  await appendFiles({ io, catalog, id, files: [{ filePath: uri, fileFormat: 'PARQUET', partition: partition as Record<string, PartitionValue>, recordCount: 1, fileSizeInBytes: 1 }] });
  const [file] = await planFiles({ io, metadata: (await loadTable({ io, catalog, id })).metadata });
  return file!.partition;
}

describe('writePartitionedParquet', () => {
  it('writes one file per (day, country) in one job; PyIceberg reads every row and prunes by day and country', async () => {
    const catalog = new MemoryCatalogStore();
    const id = { namespace: ['n'], name: 'events' };
    const location = fileUri(join(dir, 'events'));
    const table = await createTable({
      io,
      catalog,
      id,
      location,
      schema,
      partitionSpec: [
        { sourceColumn: 'ts', transform: 'day' },
        { sourceColumn: 'country', transform: 'identity' },
      ],
    });
    const spec = defaultSpec(table.metadata);
    const written = await writePartitionedParquet({
      connection: duck,
      select: `SELECT ${duckdbSelectList(schema)} FROM ${VALUES}`,
      schema,
      spec,
      outputDir: join(dir, 'staging-events'),
    });
    // Partitions: (2024-01-31, DE), (2024-02-01, DE) ×2 rows, (2024-02-01, FR), (1969-12-31, null), (null, FR).
    expect(written).toHaveLength(5);
    const files = [];
    for (const w of written) {
      const uri = newDataFileUri(table.metadata);
      await run('mkdir', ['-p', fileURLToPath(uri).replace(/\/[^/]+$/, '')]);
      await run('cp', [w.path, fileURLToPath(uri)]);
      files.push(await dataFileFromParquet(fileURLToPath(uri), { uri, schema, partition: w.partition, specId: w.specId, connection: duck }));
    }
    expect(files.reduce((n, f) => n + f.recordCount, 0)).toBe(6);
    await appendFiles({ io, catalog, id, files });

    const all = await pyiceberg(location);
    expect(all.rows.map((r) => r.id).sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(all.files).toHaveLength(5);
    const feb1 = await pyiceberg(location, "ts >= '2024-02-01T00:00:00' and ts < '2024-02-02T00:00:00'");
    expect(feb1.files).toHaveLength(2); // (02-01, DE) and (02-01, FR): pruned by the day partition
    expect(feb1.rows.map((r) => r.id).sort()).toEqual([2, 3, 6]);
    const fr = await pyiceberg(location, "country == 'FR'");
    expect(fr.files).toHaveLength(2);
    expect(fr.rows.map((r) => r.id).sort()).toEqual([3, 5]);
    const before1970 = await pyiceberg(location, "ts < '1970-01-01T00:00:00'");
    expect(before1970.files).toHaveLength(1);
    expect(before1970.rows.map((r) => r.id)).toEqual([4]);
  }, 120_000);

  it('month partitions: values match the spec (months since 1970-01)', async () => {
    const spec = buildPartitionSpec(schema, [{ sourceColumn: 'ts', transform: 'month' }]);
    const written = await writePartitionedParquet({ connection: duck, select: `SELECT ${duckdbSelectList(schema)} FROM ${VALUES}`, schema, spec, outputDir: join(dir, 'staging-month') });
    const months = written.map((w) => w.partition.ts_month).sort((a, b) => Number(a ?? -999) - Number(b ?? -999));
    // null, 1969-12 = -1, 2024-01 = 648, 2024-02 = 649
    expect(months).toEqual([null, -1, 648, 649]);
  });
});

describe('duckdbReadParquet', () => {
  it('reads old files by field id after rename, add and widen', async () => {
    const catalog = new MemoryCatalogStore();
    const id = { namespace: ['n'], name: 'evolving' };
    const s = icebergSchemaFromColumns([
      { name: 'id', type: 'long', required: true },
      { name: 'name', type: 'string' },
      { name: 'amount', type: 'decimal(10,2)' },
    ]);
    const table = await createTable({ io, catalog, id, location: fileUri(join(dir, 'evolving')), schema: s });
    const path = join(dir, 'old.parquet');
    await duck.run(`COPY (SELECT ${duckdbSelectList(s)} FROM (VALUES (1, 'Ada', 12.5)) v(id, name, amount)) TO '${path}' (FORMAT parquet, FIELD_IDS ${duckdbFieldIds(s)})`);
    await updateSchema({
      io,
      catalog,
      id: table.id,
      changes: [
        { op: 'rename-column', from: 'name', to: 'full_name' },
        { op: 'add-column', name: 'country', type: 'string' },
        { op: 'widen-column', name: 'amount', type: 'decimal(20,2)' },
      ],
    });
    const evolved = currentSchema((await loadTable({ io, catalog, id })).metadata);
    const reader = await duck.runAndReadAll(`SELECT id, full_name, CAST(amount AS VARCHAR) AS amount, country, typeof(amount) AS t FROM ${duckdbReadParquet([path], evolved)}`);
    expect(reader.getRowObjectsJS()).toEqual([{ id: 1n, full_name: 'Ada', amount: '12.50', country: null, t: 'DECIMAL(20,2)' }]);
  });
});

describe('widened columns read by PyIceberg', () => {
  it('int → long and float → double: old files (int/float bounds) and new ones read and prune as the wide type', async () => {
    const catalog = new MemoryCatalogStore();
    const id = { namespace: ['n'], name: 'widen' };
    const location = fileUri(join(dir, 'widen'));
    // int and float are not Atoll column types, but another engine's table may have them.
    const narrow: IcebergSchema = {
      type: 'struct',
      'schema-id': 0,
      fields: [
        { id: 1, name: 'n', required: true, type: 'int' },
        { id: 2, name: 'f', required: false, type: 'float' },
      ],
    };
    const table = await createTable({ io, catalog, id, location, schema: narrow });
    const write = async (s: IcebergSchema, values: string): Promise<DataFile> => {
      const uri = newDataFileUri(table.metadata);
      const path = fileURLToPath(uri);
      await run('mkdir', ['-p', path.replace(/\/[^/]+$/, '')]);
      await duck.run(`COPY (SELECT ${duckdbSelectList(s)} FROM (VALUES ${values}) v(n, f)) TO '${path}' (FORMAT parquet, FIELD_IDS ${duckdbFieldIds(s)})`);
      return dataFileFromParquet(path, { uri, schema: s });
    };
    await appendFiles({ io, catalog, id, files: [await write(narrow, '(1, 1.5), (2, 2.5)')] });
    const widened = await updateSchema({
      io,
      catalog,
      id,
      changes: [
        { op: 'widen-column', name: 'n', type: 'long' },
        { op: 'widen-column', name: 'f', type: 'double' },
      ],
    });
    await appendFiles({ io, catalog, id, files: [await write(widened.schema, '(5000000000, 0.1), (3, NULL)')] });
    const all = await pyiceberg(location);
    expect(all.fields.map((f) => [f.name, f.type])).toEqual([
      ['n', 'long'],
      ['f', 'double'],
    ]);
    expect(all.rows.sort((a, b) => Number(a.n) - Number(b.n))).toEqual([
      { n: 1, f: 1.5 },
      { n: 2, f: 2.5 },
      { n: 3, f: null },
      { n: 5000000000, f: 0.1 },
    ]);
    const big = await pyiceberg(location, 'n > 4000000000');
    expect(big.files).toHaveLength(1); // the old file's int bounds (1..2) prune it
    expect(big.rows).toEqual([{ n: 5000000000, f: 0.1 }]);
  }, 120_000);
});
