// A consumer's stock DuckDB 1.4.4 (pip wheels: duckdb + httpfs/iceberg/avro extensions, nothing downloaded at run
// time) attaches Atoll's Iceberg REST catalog with its own API key (OAuth2 client credentials at Keycloak) and vended
// credentials, lists and reads exactly its own cleanroom tables — not another consumer's, not the lake — and reads
// the same table path-based with its static cleanroom key; PyIceberg reads the same table by the same identifier.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPool, type Pool } from '@atoll/db';
import type { IcebergSchema, TableIdentifier } from '@atoll/iceberg';
import { Lake, cleanroomTableId, tableLocation } from '@atoll/lake';
import { clientToken } from '@atoll/stack';
import { ObjectStore } from '@atoll/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { env, operator, uniq } from './support/actors.js';
import { INTEROP_DIR, appendRows, duckCatalogRequest, enginePython, errorOf, python, rowsOf, runDuckdb, tokenUrl, type DuckOutput } from './support/engines.js';
import { startInProcessApi, type InProcessApi } from './support/inprocess-api.js';


/** A cleanroom table as the cleanroom worker writes one: tid required, a decimal, a timestamptz. */
const SCHEMA: IcebergSchema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'tid', required: true, type: 'string' },
    { id: 2, name: 'amount', required: false, type: 'decimal(10,2)' },
    { id: 3, name: 'bought_at', required: false, type: 'timestamptz' },
    { id: 4, name: 'item', required: false, type: 'string' },
  ],
};
interface Row {
  tid: string;
  amount: string | null;
  bought_at: string | null;
  item: string | null;
}
/** SQL literal rows; `bought_at` is written as an ISO time with an offset and read back in UTC. */
const PURCHASES: Array<[string, string | null, string | null, string | null]> = [
  ['tid_a1', '12.50', '2026-03-01 10:15:30.123456+00', 'tea'],
  ['tid_a2', '-0.05', '2026-03-02 23:59:59+02', 'cup'],
  ['tid_a3', null, null, null],
];
const PURCHASE_ROWS: Row[] = [
  { tid: 'tid_a1', amount: '12.50', bought_at: '2026-03-01T10:15:30.123456+00:00', item: 'tea' },
  { tid: 'tid_a2', amount: '-0.05', bought_at: '2026-03-02T21:59:59+00:00', item: 'cup' },
  { tid: 'tid_a3', amount: null, bought_at: null, item: null },
];

interface ApiKey {
  clientId: string;
  clientSecret: string;
  token: string;
}
interface Cleanroom {
  id: string;
  bucket: string;
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

let api: InProcessApi;
let pool: Pool;
let duckPython: string;
let pyicebergPython: string;
let work: string;
let cleanroomLake: Lake;
let writerLake: Lake;

const s3 = (accessKey: string, secretKey: string): ObjectStore => new ObjectStore({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey, secretKey });
const nsOf = (cleanroomId: string): string => `cr_${cleanroomId.replaceAll('-', '')}`;

async function newConsumerKey(): Promise<ApiKey> {
  const op = await operator();
  const c = await op.call<{ id: string }>('POST', '/v1/consumers', { body: { name: `consumer ${uniq()}`, useCase: { category: 'analytics', description: 'duckdb catalog test' } } });
  const a = await op.call<{ clientId: string; clientSecret: string }>('POST', `/v1/consumers/${c.id}/approve`);
  return { ...a, token: await clientToken(env, a.clientId, a.clientSecret) };
}

async function newCleanroom(key: ApiKey): Promise<Cleanroom> {
  const res = await fetch(`${api.url}/v1/cleanrooms`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: `cr ${uniq()}` }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as Cleanroom;
}

const writeTable = (opts: { lake: Lake; id: TableIdentifier; location: string; rows: typeof PURCHASES }): Promise<unknown> =>
  appendRows({ ...opts, schema: SCHEMA, columns: ['tid', 'amount', 'bought_at', 'item'], workDir: work });

const duckdb = (request: Record<string, unknown>): Promise<DuckOutput> => runDuckdb(duckPython, request);
const catalogRequest = (key: ApiKey, queries: string[]): Record<string, unknown> =>
  duckCatalogRequest({ catalogUrl: `${api.url}/iceberg`, clientId: key.clientId, clientSecret: key.clientSecret, queries });

let consumerA: ApiKey;
let consumerB: ApiKey;
let roomA: Cleanroom;
let roomB: Cleanroom;
let opToken: string;
const lakeNs = `duck_${uniq()}`;

beforeAll(async () => {
  duckPython = await enginePython('duckdb');
  pyicebergPython = await enginePython();
  work = mkdtempSync(join(tmpdir(), 'atoll-duckdb-catalog-'));
  api = await startInProcessApi();
  pool = createPool(env.ATOLL_DATABASE_URL!, { max: 4, applicationName: 'duckdb-catalog-test' });
  cleanroomLake = new Lake(s3(env.ATOLL_S3_CLEANROOM_ACCESS_KEY!, env.ATOLL_S3_CLEANROOM_SECRET_KEY!), pool, join(work, 'cache-cleanroom'));
  writerLake = new Lake(s3(env.ATOLL_S3_WRITER_ACCESS_KEY!, env.ATOLL_S3_WRITER_SECRET_KEY!), pool, join(work, 'cache-writer'));
  opToken = await clientToken(env, env.ATOLL_OPERATOR_CLIENT_ID!, env.ATOLL_OPERATOR_CLIENT_SECRET!);

  [consumerA, consumerB] = await Promise.all([newConsumerKey(), newConsumerKey()]);
  [roomA, roomB] = await Promise.all([newCleanroom(consumerA), newCleanroom(consumerB)]);
  const purchasesA = cleanroomTableId(roomA.id, 'purchases');
  const visitsA = cleanroomTableId(roomA.id, 'visits');
  const purchasesB = cleanroomTableId(roomB.id, 'purchases');
  await writeTable({ lake: cleanroomLake, id: purchasesA, location: tableLocation(roomA.bucket, purchasesA), rows: PURCHASES });
  await writeTable({ lake: cleanroomLake, id: visitsA, location: tableLocation(roomA.bucket, visitsA), rows: [['tid_v1', '1.00', '2026-01-01 00:00:00+00', 'visit']] });
  await writeTable({ lake: cleanroomLake, id: purchasesB, location: tableLocation(roomB.bucket, purchasesB), rows: [['tid_b1', '99.99', '2026-02-02 02:02:02+00', 'secret of b']] });

  // An operator-only lake table beside them.
  const created = await fetch(`${api.url}/iceberg/v1/namespaces`, {
    method: 'POST',
    headers: { authorization: `Bearer ${opToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ namespace: [lakeNs] }),
  });
  expect(created.status).toBe(200);
  const lakeId: TableIdentifier = { namespace: [lakeNs], name: 'ledger' };
  await writeTable({ lake: writerLake, id: lakeId, location: `s3://${env.ATOLL_BUCKET_LAKE ?? 'atoll-lake'}/${lakeNs}/ledger`, rows: [['tid_lake', '5.00', null, 'lake only']] });
}, 600_000);

afterAll(async () => {
  if (api) {
    const headers = { authorization: `Bearer ${opToken}` };
    await fetch(`${api.url}/iceberg/v1/namespaces/${lakeNs}/tables/ledger`, { method: 'DELETE', headers });
    await fetch(`${api.url}/iceberg/v1/namespaces/${lakeNs}`, { method: 'DELETE', headers });
    const bucket = env.ATOLL_BUCKET_LAKE ?? 'atoll-lake';
    const objects = await writerLake.store.listObjects(bucket, `${lakeNs}/`);
    await writerLake.store.removeObjects(bucket, objects.map((o) => o.key));
  }
  await api?.[Symbol.asyncDispose]();
  await pool?.end();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('DuckDB ATTACH (TYPE iceberg) as a consumer', () => {
  it('lists exactly its own cleanroom tables and selects their exact rows with vended credentials', async () => {
    const a = nsOf(roomA.id);
    const out = await duckdb(
      catalogRequest(consumerA, [
        `SELECT * FROM atoll.${a}.purchases ORDER BY tid`,
        `SELECT tid, amount, bought_at, item FROM atoll.${a}.visits`,
        `SELECT typeof(amount) AS amount_type, typeof(bought_at) AS ts_type, sum(amount) AS total FROM atoll.${a}.purchases GROUP BY ALL`,
        `SELECT column_name, column_type AS data_type FROM (DESCRIBE atoll.${a}.purchases)`,
        `SELECT database, schema, name FROM (SHOW ALL TABLES) WHERE database = 'atoll' ORDER BY ALL`,
      ]),
    );
    expect(out.error, out.message).toBeUndefined();
    // Its two tables, nothing of consumer B's cleanroom, nothing of the lake.
    expect(out.tables).toEqual([
      [a, 'purchases'],
      [a, 'visits'],
    ]);
    expect(rowsOf(out.results?.[0])).toEqual(PURCHASE_ROWS);
    expect(rowsOf(out.results?.[1])).toEqual([{ tid: 'tid_v1', amount: '1.00', bought_at: '2026-01-01T00:00:00+00:00', item: 'visit' }]);
    expect(rowsOf(out.results?.[2])).toEqual([{ amount_type: 'DECIMAL(10,2)', ts_type: 'TIMESTAMP WITH TIME ZONE', total: '12.45' }]);
    expect(rowsOf(out.results?.[3])).toEqual([
      { column_name: 'tid', data_type: 'VARCHAR' },
      { column_name: 'amount', data_type: 'DECIMAL(10,2)' },
      { column_name: 'bought_at', data_type: 'TIMESTAMP WITH TIME ZONE' },
      { column_name: 'item', data_type: 'VARCHAR' },
    ]);
    expect(rowsOf(out.results?.[4])).toEqual([
      { database: 'atoll', schema: a, name: 'purchases' },
      { database: 'atoll', schema: a, name: 'visits' },
    ]);
  }, 60_000);

  it('cannot see or select another consumer\'s cleanroom table, nor an operator\'s lake table', async () => {
    const out = await duckdb(
      catalogRequest(consumerA, [
        `SELECT * FROM atoll.${nsOf(roomB.id)}.purchases`,
        `SELECT * FROM atoll.${lakeNs}.ledger`,
      ]),
    );
    expect(out.error, out.message).toBeUndefined();
    expect(out.tables?.every(([schema]) => schema === nsOf(roomA.id))).toBe(true);
    for (const result of out.results ?? []) expect(errorOf(result)).toMatch(/does not exist|not found|Catalog Error/i);
    expect(out.results).toHaveLength(2);
    // Consumer B sees its own table only, with its own row.
    const b = await duckdb(catalogRequest(consumerB, [`SELECT tid, amount, item FROM atoll.${nsOf(roomB.id)}.purchases`, `SELECT * FROM atoll.${nsOf(roomA.id)}.purchases`]));
    expect(b.tables).toEqual([[nsOf(roomB.id), 'purchases']]);
    expect(rowsOf(b.results?.[0])).toEqual([{ tid: 'tid_b1', amount: '99.99', item: 'secret of b' }]);
    expect(errorOf(b.results?.[1])).toMatch(/does not exist|not found|Catalog Error/i);
  }, 60_000);

  it('cannot write its own cleanroom through the catalog: INSERT, DELETE and CREATE TABLE are refused and change nothing', async () => {
    const a = nsOf(roomA.id);
    const out = await duckdb(
      catalogRequest(consumerA, [
        `INSERT INTO atoll.${a}.purchases VALUES ('tid_forged', 1.00, NULL, 'forged')`,
        `DELETE FROM atoll.${a}.purchases WHERE tid = 'tid_a1'`,
        `CREATE TABLE atoll.${a}.forged (x INTEGER)`,
        `SELECT tid FROM atoll.${a}.purchases ORDER BY tid`,
        `SELECT count(*) AS n FROM iceberg_snapshots(atoll.${a}.purchases)`,
      ]),
    );
    expect(out.error, out.message).toBeUndefined();
    // The commits reach the catalog and are answered 403 ForbiddenException (cleanroom tables are read-only there).
    for (const i of [0, 1, 2]) expect(errorOf(out.results?.[i])).toMatch(/403|Forbidden|read-only/i);
    expect(rowsOf(out.results?.[3])).toEqual(PURCHASE_ROWS.map((r) => ({ tid: r.tid })));
    expect(rowsOf(out.results?.[4])).toEqual([{ n: 1 }]);
    const listed = await fetch(`${api.url}/iceberg/v1/namespaces/${a}/tables`, { headers: { authorization: `Bearer ${consumerA.token}` } });
    expect(((await listed.json()) as { identifiers: Array<{ name: string }> }).identifiers.map((t) => t.name)).toEqual(['purchases', 'visits']);
  }, 60_000);

  it('over HTTP, another consumer\'s cleanroom is a 404 like a missing one, and the lake a 403', async () => {
    const get = (path: string, token: string) => fetch(`${api.url}/iceberg/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
    const foreign = await get(`/namespaces/${nsOf(roomB.id)}/tables/purchases`, consumerA.token);
    expect(foreign.status).toBe(404);
    // Loading a table whose namespace the caller cannot see is the spec's NoSuchTableException, as for a missing one.
    expect(((await foreign.json()) as { error: { type: string } }).error.type).toBe('NoSuchTableException');
    expect((await get(`/namespaces/${nsOf(roomB.id)}`, consumerA.token)).status).toBe(404);
    expect((await get(`/namespaces/cr_${'0'.repeat(32)}/tables`, consumerA.token)).status).toBe(404);
    expect((await get(`/namespaces/${lakeNs}/tables/ledger`, consumerA.token)).status).toBe(403);
    const listed = (await (await get('/namespaces', consumerA.token)).json()) as { namespaces: string[][] };
    expect(listed.namespaces).toEqual([[nsOf(roomA.id)]]);
    const tables = (await (await get(`/namespaces/${nsOf(roomA.id)}/tables`, consumerA.token)).json()) as { identifiers: unknown[] };
    expect(tables.identifiers).toEqual([
      { namespace: [nsOf(roomA.id)], name: 'purchases' },
      { namespace: [nsOf(roomA.id)], name: 'visits' },
    ]);
    // Operators see the lake, not cleanrooms.
    expect((await get(`/namespaces/${nsOf(roomA.id)}/tables/purchases`, opToken)).status).toBe(403);
  });
});

describe('path-based and PyIceberg reads of the same table', () => {
  it('iceberg_scan(\'s3://<bucket>/purchases\') with the consumer\'s static cleanroom key returns the exact rows', async () => {
    const out = await duckdb({
      mode: 'path',
      s3_endpoint: roomA.endpoint.replace(/^https?:\/\//, '').replace(/\/+$/, ''),
      region: roomA.region,
      key_id: roomA.accessKeyId,
      secret: roomA.secretAccessKey,
      queries: [
        `SELECT * FROM iceberg_scan('s3://${roomA.bucket}/purchases') ORDER BY tid`,
        `SELECT count(*) AS n FROM iceberg_scan('s3://${roomA.bucket}/visits')`,
        `SELECT * FROM iceberg_scan('s3://${roomB.bucket}/purchases')`,
        `SELECT content FROM read_text('s3://${roomB.bucket}/purchases/metadata/version-hint.text')`,
      ],
    });
    expect(out.error, out.message).toBeUndefined();
    expect(rowsOf(out.results?.[0])).toEqual(PURCHASE_ROWS);
    expect(rowsOf(out.results?.[1])).toEqual([{ n: 1 }]);
    // The key of cleanroom A reaches nothing in cleanroom B's bucket: DuckDB cannot even read its version hint.
    expect(errorOf(out.results?.[2])).toMatch(/version-hint could be found/);
    expect(errorOf(out.results?.[3])).toMatch(/HTTP 403/);
  }, 60_000);

  it('PyIceberg through the REST catalog, with the consumer\'s client credentials, reads cr_<id>.purchases: same rows', async () => {
    // The catalog properties docs/iceberg-rest.md gives consumers: PyIceberg fetches its own token at Keycloak.
    const read = await python<{ rows: Row[]; fields: unknown[]; error?: string; message?: string }>(
      pyicebergPython,
      [join(INTEROP_DIR, 'rest_client.py'), `${api.url}/iceberg`, '-', 'read', `${nsOf(roomA.id)}.purchases`],
      { credential: `${consumerA.clientId}:${consumerA.clientSecret}`, 'oauth2-server-uri': tokenUrl(), scope: 'openid' },
    );
    expect(read.error, read.message).toBeUndefined();
    expect(read.rows.sort((x, y) => x.tid.localeCompare(y.tid))).toEqual(PURCHASE_ROWS);
    expect(read.fields).toEqual([
      { id: 1, name: 'tid', type: 'string', required: true },
      { id: 2, name: 'amount', type: 'decimal(10, 2)', required: false },
      { id: 3, name: 'bought_at', type: 'timestamptz', required: false },
      { id: 4, name: 'item', type: 'string', required: false },
    ]);
    // Consumer B's credentials get no such table.
    const foreign = await python<{ error?: string }>(
      pyicebergPython,
      [join(INTEROP_DIR, 'rest_client.py'), `${api.url}/iceberg`, '-', 'read', `${nsOf(roomA.id)}.purchases`],
      { credential: `${consumerB.clientId}:${consumerB.clientSecret}`, 'oauth2-server-uri': tokenUrl(), scope: 'openid' },
    );
    // PyIceberg reports any 404 on load as NoSuchTableError; the HTTP test above checks it is NoSuchNamespace.
    expect(foreign.error).toBe('NoSuchTableError');
  }, 60_000);
});
