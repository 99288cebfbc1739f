// An operator's stock DuckDB 1.4.4 (pip wheels, nothing downloaded at run time) attaches Atoll's Iceberg REST catalog
// with the operator's API key (OAuth2 client credentials at Keycloak) and vended credentials: it lists the lake, reads
// a table Atoll's writers made, travels back to earlier snapshots by id and by time, and its iceberg_snapshots /
// iceberg_metadata answers match the catalog's own loadTable. Then it writes through the catalog (CREATE TABLE,
// INSERT, DELETE, UPDATE, CTAS, DROP) and PyIceberg reads what DuckDB committed; ALTER TABLE is DuckDB's own gap.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPool, type Pool } from '@atoll/db';
import { parseJson, planFiles, loadTable, type IcebergSchema, type TableIdentifier } from '@atoll/iceberg';
import { Lake } from '@atoll/lake';
import { clientToken } from '@atoll/stack';
import { ObjectStore } from '@atoll/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { env, uniq } from './support/actors.js';
import { INTEROP_DIR, appendRows, duckCatalogRequest, enginePython, errorOf, python, rowsOf, runDuckdb, type DuckOutput } from './support/engines.js';
import { startInProcessApi, type InProcessApi } from './support/inprocess-api.js';

const LAKE = env.ATOLL_BUCKET_LAKE ?? 'atoll-lake';
const SCHEMA: IcebergSchema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'item', required: false, type: 'string' },
    { id: 3, name: 'amount', required: false, type: 'decimal(10,2)' },
  ],
};
/** Three appends: 3 rows, then 2, then 1 (each its own snapshot). */
const APPENDS: Array<Array<[string, string, string | null]>> = [
  [
    ['1', 'tea', '1.50'],
    ['2', 'cup', '4.00'],
    ['3', 'pot', null],
  ],
  [
    ['4', 'milk', '0.99'],
    ['5', 'sugar', '2.25'],
  ],
  [['6', 'lemon', '0.40']],
];
const rowsUpTo = (n: number) => APPENDS.slice(0, n).flat().map(([id, item, amount]) => ({ id: Number(id), item, amount }));

interface CatalogSnapshot {
  'snapshot-id': string;
  'parent-snapshot-id'?: string;
  'sequence-number': number;
  'timestamp-ms': number;
}

let api: InProcessApi;
let pool: Pool;
let duckPython: string;
let pyicebergPython: string;
let work: string;
let writerLake: Lake;
let opToken: string;
const ns = `duckop_${uniq()}`;
const ledger: TableIdentifier = { namespace: [ns], name: 'ledger' };
const snapshotIds: bigint[] = [];

const duckdb = (queries: string[]): Promise<DuckOutput> =>
  runDuckdb(duckPython, duckCatalogRequest({ catalogUrl: `${api.url}/iceberg`, clientId: env.ATOLL_OPERATOR_CLIENT_ID!, clientSecret: env.ATOLL_OPERATOR_CLIENT_SECRET!, queries }));

async function catalogCall(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${api.url}/iceberg/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${opToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  // Snapshot ids are 63-bit: parse without rounding, then keep them as decimal strings.
  const json = text ? (JSON.parse(JSON.stringify(parseJson(text), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))) as Record<string, unknown>) : {};
  return { status: res.status, json };
}

async function catalogSnapshots(table: string): Promise<CatalogSnapshot[]> {
  const loaded = await catalogCall('GET', `/namespaces/${ns}/tables/${table}`);
  expect(loaded.status).toBe(200);
  return (loaded.json.metadata as { snapshots: CatalogSnapshot[] }).snapshots;
}

/** A TIMESTAMPTZ literal for an epoch-millisecond instant (DuckDB runs with TimeZone = UTC). */
const tsLiteral = (ms: number): string => `TIMESTAMPTZ '${new Date(ms).toISOString().replace('T', ' ').replace('Z', '+00')}'`;

beforeAll(async () => {
  duckPython = await enginePython('duckdb');
  pyicebergPython = await enginePython();
  work = mkdtempSync(join(tmpdir(), 'atoll-duckdb-operator-'));
  api = await startInProcessApi();
  pool = createPool(env.ATOLL_DATABASE_URL!, { max: 4, applicationName: 'duckdb-operator-test' });
  writerLake = new Lake(new ObjectStore({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey: env.ATOLL_S3_WRITER_ACCESS_KEY!, secretKey: env.ATOLL_S3_WRITER_SECRET_KEY! }), pool, join(work, 'cache'));
  opToken = await clientToken(env, env.ATOLL_OPERATOR_CLIENT_ID!, env.ATOLL_OPERATOR_CLIENT_SECRET!);
  expect((await catalogCall('POST', '/namespaces', { namespace: [ns] })).status).toBe(200);
  for (const rows of APPENDS) {
    snapshotIds.push(await appendRows({ lake: writerLake, id: ledger, location: `s3://${LAKE}/${ns}/ledger`, schema: SCHEMA, columns: ['id', 'item', 'amount'], rows, workDir: work }));
    // Snapshot timestamps are milliseconds: keep them apart so a timestamp names exactly one snapshot.
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}, 600_000);

afterAll(async () => {
  if (api) {
    for (const t of ['ledger', 'duck_made', 'duck_ctas']) await catalogCall('DELETE', `/namespaces/${ns}/tables/${t}`);
    await catalogCall('DELETE', `/namespaces/${ns}`);
    // Every table's files, and those DuckDB's DROP TABLE left (it drops without purge).
    const objects = await writerLake.store.listObjects(LAKE, `${ns}/`);
    await writerLake.store.removeObjects(LAKE, objects.map((o) => o.key));
  }
  await api?.[Symbol.asyncDispose]();
  await pool?.end();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('DuckDB ATTACH (TYPE iceberg) as the operator', () => {
  it('lists the lake\'s namespaces and tables and selects a writer-made table\'s exact rows', async () => {
    const out = await duckdb([
      `SELECT schema_name FROM information_schema.schemata WHERE catalog_name = 'atoll' AND schema_name IN ('raw', 'published', '${ns}') ORDER BY 1`,
      `SELECT id, item, amount FROM atoll.${ns}.ledger ORDER BY id`,
      `SELECT column_name, column_type FROM (DESCRIBE atoll.${ns}.ledger)`,
    ]);
    expect(out.error, out.message).toBeUndefined();
    expect(out.tables).toContainEqual([ns, 'ledger']);
    // Operators see the lake, never a cleanroom namespace.
    expect(out.tables?.some(([schema]) => schema!.startsWith('cr_'))).toBe(false);
    expect(rowsOf(out.results?.[0])).toEqual([{ schema_name: ns }, { schema_name: 'published' }, { schema_name: 'raw' }]);
    expect(rowsOf(out.results?.[1])).toEqual(rowsUpTo(3));
    expect(rowsOf(out.results?.[2])).toEqual([
      { column_name: 'id', column_type: 'BIGINT' },
      { column_name: 'item', column_type: 'VARCHAR' },
      { column_name: 'amount', column_type: 'DECIMAL(10,2)' },
    ]);
  }, 120_000);

  it('time travels: AT (VERSION => id) and AT (TIMESTAMP => t) return the exact rows of each earlier snapshot', async () => {
    const snapshots = await catalogSnapshots('ledger');
    expect(snapshots.map((s) => s['snapshot-id'])).toEqual(snapshotIds.map(String));
    const at = snapshots.map((s) => s['timestamp-ms']);
    const out = await duckdb([
      ...snapshotIds.map((id) => `SELECT id, item, amount FROM atoll.${ns}.ledger AT (VERSION => ${id}) ORDER BY id`),
      // A snapshot's own commit time, and a time between two commits, both name the earlier snapshot.
      `SELECT count(*) AS n FROM atoll.${ns}.ledger AT (TIMESTAMP => ${tsLiteral(at[0]!)})`,
      `SELECT count(*) AS n FROM atoll.${ns}.ledger AT (TIMESTAMP => ${tsLiteral(at[1]!)})`,
      `SELECT count(*) AS n FROM atoll.${ns}.ledger AT (TIMESTAMP => ${tsLiteral(at[2]! - 1)})`,
      `SELECT count(*) AS n FROM atoll.${ns}.ledger AT (TIMESTAMP => ${tsLiteral(at[2]!)})`,
      `SELECT count(*) AS n FROM atoll.${ns}.ledger AT (TIMESTAMP => ${tsLiteral(at[0]! - 1)})`,
      `SELECT count(*) AS n FROM atoll.${ns}.ledger AT (VERSION => 42)`,
    ]);
    expect(out.error, out.message).toBeUndefined();
    expect(rowsOf(out.results?.[0])).toEqual(rowsUpTo(1));
    expect(rowsOf(out.results?.[1])).toEqual(rowsUpTo(2));
    expect(rowsOf(out.results?.[2])).toEqual(rowsUpTo(3));
    expect([3, 4, 5, 6].map((i) => rowsOf(out.results?.[i])[0]!.n)).toEqual([3, 5, 5, 6]);
    // Before the first snapshot, or a snapshot id the table never had: an error, not an empty or current answer.
    expect(errorOf(out.results?.[7])).toMatch(/Could not find latest snapshots for timestamp/);
    expect(errorOf(out.results?.[8])).toMatch(/42/);
  }, 120_000);

  it('iceberg_snapshots and iceberg_metadata answer exactly the catalog\'s snapshots, sequence numbers and files', async () => {
    const snapshots = await catalogSnapshots('ledger');
    const out = await duckdb([
      `SELECT snapshot_id::VARCHAR AS snapshot_id, sequence_number, epoch_ms(timestamp_ms) AS ms FROM iceberg_snapshots(atoll.${ns}.ledger) ORDER BY sequence_number`,
      `SELECT status, file_path, record_count, manifest_sequence_number FROM iceberg_metadata(atoll.${ns}.ledger) ORDER BY manifest_sequence_number`,
    ]);
    expect(out.error, out.message).toBeUndefined();
    expect(rowsOf(out.results?.[0])).toEqual(snapshots.map((s) => ({ snapshot_id: s['snapshot-id'], sequence_number: s['sequence-number'], ms: s['timestamp-ms'] })));
    expect(snapshots.map((s) => s['sequence-number'])).toEqual([1, 2, 3]);
    expect(snapshots.map((s) => s['parent-snapshot-id'] ?? null)).toEqual([null, snapshotIds[0]!.toString(), snapshotIds[1]!.toString()]);
    // The live data files Atoll's own planner finds, one per append, with their row counts.
    const live = await planFiles({ io: writerLake.io, metadata: (await loadTable({ io: writerLake.io, catalog: writerLake.catalog, id: ledger })).metadata });
    const files = rowsOf(out.results?.[1]);
    expect(files.map((f) => f.file_path).sort()).toEqual(live.map((f) => f.filePath).sort());
    expect(files.map((f) => [f.status, f.record_count, f.manifest_sequence_number])).toEqual([
      ['ADDED', 3, 1],
      ['ADDED', 2, 2],
      ['ADDED', 1, 3],
    ]);
  }, 120_000);

  it('writes through the catalog (CREATE TABLE, INSERT, DELETE, UPDATE, CTAS, DROP); PyIceberg reads what it committed', async () => {
    const t = `atoll.${ns}.duck_made`;
    const out = await duckdb([
      `CREATE TABLE ${t} (id BIGINT, note VARCHAR)`,
      `INSERT INTO ${t} VALUES (1, 'one'), (2, 'two'), (3, 'three')`,
      `INSERT INTO ${t} VALUES (4, 'four')`,
      `DELETE FROM ${t} WHERE id = 1`,
      `UPDATE ${t} SET note = 'TWO' WHERE id = 2`,
      `SELECT id, note FROM ${t} ORDER BY id`,
      `CREATE TABLE atoll.${ns}.duck_ctas AS SELECT id, item FROM atoll.${ns}.ledger WHERE amount > 1`,
      `SELECT id, item FROM atoll.${ns}.duck_ctas ORDER BY id`,
      `ALTER TABLE ${t} ADD COLUMN extra INTEGER`,
      `CREATE TABLE atoll.${ns}.duck_dropped AS SELECT 1 AS x`,
      `DROP TABLE atoll.${ns}.duck_dropped`,
    ]);
    expect(out.error, out.message).toBeUndefined();
    for (const i of [0, 1, 2, 3, 4, 6, 9, 10]) rowsOf(out.results?.[i]);
    const expected = [
      { id: 2, note: 'TWO' },
      { id: 3, note: 'three' },
      { id: 4, note: 'four' },
    ];
    expect(rowsOf(out.results?.[5])).toEqual(expected);
    expect(rowsOf(out.results?.[7])).toEqual([
      { id: 1, item: 'tea' },
      { id: 2, item: 'cup' },
      { id: 5, item: 'sugar' },
    ]);
    // DuckDB 1.4's iceberg extension has no schema evolution: its own error, before any request reaches the catalog.
    expect(errorOf(out.results?.[8])).toMatch(/Not implemented Error: Alter Schema Entry/);
    expect((await catalogCall('GET', `/namespaces/${ns}/tables/duck_dropped`)).status).toBe(404);

    // The catalog recorded one snapshot per write, a linear chain; the DELETE and UPDATE wrote position deletes.
    const snapshots = await catalogSnapshots('duck_made');
    expect(snapshots.map((s) => s['sequence-number'])).toEqual([1, 2, 3, 4]);
    expect(snapshots.slice(1).map((s) => s['parent-snapshot-id'])).toEqual(snapshots.slice(0, -1).map((s) => s['snapshot-id']));
    const meta = await duckdb([`SELECT content, count(*) AS n FROM iceberg_metadata(${t}) WHERE status = 'ADDED' GROUP BY content ORDER BY content`]);
    expect(rowsOf(meta.results?.[0])).toEqual([
      // DuckDB 1.4 labels a data file's content 'EXISTING' (it means DATA).
      { content: 'EXISTING', n: 3 },
      { content: 'POSITION_DELETES', n: 2 },
    ]);

    // PyIceberg, through the same catalog with its own token, applies DuckDB's position deletes: the same rows.
    const read = await python<{ rows: Array<{ id: number; note: string }>; error?: string; message?: string }>(
      pyicebergPython,
      [`${INTEROP_DIR}rest_client.py`, `${api.url}/iceberg`, opToken, 'read', `${ns}.duck_made`],
      {},
    );
    expect(read.error, read.message).toBeUndefined();
    expect(read.rows.sort((a, b) => a.id - b.id)).toEqual(expected);
  }, 180_000);
});
