// Iceberg REST catalog (/iceberg) against the real stack: PyIceberg's RestCatalog reads Atoll-written tables with
// vended credentials and appends through the catalog; Atoll's reader and writers see those commits; stale
// requirements, unknown names, missing or foreign tokens and out-of-scope storage access are refused.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createPool, type Pool } from '@atoll/db';
import { Duck, literal } from '@atoll/duck';
import {
  currentSchema,
  currentSnapshot,
  defaultSpec,
  dropTable,
  encodeManifest,
  encodeManifestList,
  loadTable,
  newSnapshotId,
  planFiles,
  readManifestEntries,
  readManifestList,
  resolvePartitionSpec,
  stringifyJson,
  type ManifestFile,
  type TableIdentifier,
} from '@atoll/iceberg';
import { Lake, cleanroomTableId, loadFileIntoTable, tableLocation, type SchemaColumn } from '@atoll/lake';
import { clientToken } from '@atoll/stack';
import { ObjectStore, parseS3Uri } from '@atoll/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { env, operator, uniq } from './support/actors.js';
import { startInProcessApi, type InProcessApi } from './support/inprocess-api.js';

const run = promisify(execFile);
const INTEROP_DIR = fileURLToPath(new URL('../packages/iceberg/interop/', import.meta.url));
const COLUMNS: SchemaColumn[] = [
  { name: 'user_id', type: 'string', role: 'user_id' },
  { name: 'kind', type: 'string' },
  { name: 'value', type: 'long' },
];
type Row = { user_id: string; kind: string; value: number };
const byValue = (a: Row, b: Row): number => a.value - b.value;

let api: InProcessApi;
let pool: Pool;
let python: string;
let work: string;
let opToken: string;
const s3 = (accessKey: string, secretKey: string, sessionToken?: string): ObjectStore =>
  new ObjectStore({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey, secretKey, ...(sessionToken ? { sessionToken } : {}) });
let writerLake: Lake;
let cleanroomLake: Lake;

/** PyIceberg through the REST catalog; no S3 keys in its environment, so storage access must come vended. */
async function pyiceberg<T>(token: string, ...args: string[]): Promise<T & { error?: string; message?: string }> {
  const childEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  try {
    const { stdout } = await run(python, [join(INTEROP_DIR, 'rest_client.py'), `${api.url}/iceberg`, token, ...args], { env: childEnv, maxBuffer: 64 * 1024 * 1024 });
    return JSON.parse(stdout) as T & { error?: string; message?: string };
  } catch (err) {
    const stdout = (err as { stdout?: string }).stdout;
    if (stdout) return JSON.parse(stdout) as T & { error: string; message: string };
    throw err;
  }
}

/** Response bodies of /iceberg as this test reads them (a field absent at run time fails the assertion using it). */
interface RestBody {
  error: { message: string; type: string; code: number };
  'metadata-location': string;
  metadata: { location: string; 'table-uuid': string; properties: Record<string, string | undefined> };
  config: Record<string, string>;
  'storage-credentials': Array<{ prefix: string; config: Record<string, string> }>;
  defaults: Record<string, string>;
  overrides: Record<string, string>;
  namespaces: string[][];
  identifiers: Array<{ namespace: string[]; name: string }>;
}

async function rest(method: string, path: string, opts: { token?: string | null; body?: unknown; vended?: boolean } = {}): Promise<{ status: number; body: RestBody }> {
  const headers: Record<string, string> = {};
  const token = opts.token === undefined ? opToken : opts.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.vended) headers['x-iceberg-access-delegation'] = 'vended-credentials';
  const res = await fetch(`${api.url}/iceberg${path}`, { method, headers, ...(opts.body !== undefined ? { body: typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body) } : {}) });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as RestBody };
}

async function writeRows(opts: { lake: Lake; id: TableIdentifier; location: string; rows: Row[] }): Promise<void> {
  const input = join(work, `${uniq()}.ndjson`);
  writeFileSync(input, opts.rows.map((r) => JSON.stringify(r)).join('\n'));
  await loadFileIntoTable({ lake: opts.lake, id: opts.id, location: opts.location, columns: COLUMNS, input, format: 'ndjson', workDir: work, memoryLimit: '256MB', commitId: uniq() });
}

/** Rows of a table as Atoll's own reader sees them: planFiles → local Parquet copies → DuckDB. */
async function atollRows(lake: Lake, id: TableIdentifier): Promise<{ rows: Row[]; records: number; snapshots: number }> {
  const table = await loadTable({ io: lake.io, catalog: lake.catalog, id });
  const files = await planFiles({ io: lake.io, metadata: table.metadata });
  const local = await lake.localCopies(files);
  const duck = await Duck.open({ threads: 1, memoryLimit: '256MB' });
  try {
    const rows = await duck.all<{ user_id: string; kind: string; value: bigint }>(
      `SELECT user_id, kind, value FROM read_parquet([${local.map(literal).join(', ')}])`,
    );
    return {
      rows: rows.map((r) => ({ user_id: r.user_id, kind: r.kind, value: Number(r.value) })).sort(byValue),
      records: files.reduce((n, f) => n + f.recordCount, 0),
      snapshots: table.metadata.snapshots.length,
    };
  } finally {
    duck.close();
  }
}

async function s3Error(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'no error';
  } catch (err) {
    return String((err as { code?: string }).code ?? (err as Error).message);
  }
}

beforeAll(async () => {
  const { stdout } = await run(process.execPath, [join(INTEROP_DIR, 'ensure-venv.mjs')], { maxBuffer: 16 * 1024 * 1024 });
  python = stdout.trim();
  work = mkdtempSync(join(tmpdir(), 'atoll-iceberg-rest-'));
  api = await startInProcessApi();
  pool = createPool(env.ATOLL_DATABASE_URL!, { max: 4, applicationName: 'iceberg-rest-test' });
  opToken = await clientToken(env, env.ATOLL_OPERATOR_CLIENT_ID!, env.ATOLL_OPERATOR_CLIENT_SECRET!);
  writerLake = new Lake(s3(env.ATOLL_S3_WRITER_ACCESS_KEY!, env.ATOLL_S3_WRITER_SECRET_KEY!), pool, join(work, 'cache-writer'));
  cleanroomLake = new Lake(s3(env.ATOLL_S3_CLEANROOM_ACCESS_KEY!, env.ATOLL_S3_CLEANROOM_SECRET_KEY!), pool, join(work, 'cache-cleanroom'));
}, 600_000);

afterAll(async () => {
  await api?.[Symbol.asyncDispose]();
  await pool?.end();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('operator: the lake through /iceberg', () => {
  const ns = `rest_${uniq()}`;
  const lakeBucket = () => env.ATOLL_BUCKET_LAKE ?? 'atoll-lake';
  const id: TableIdentifier = { namespace: [ns], name: 'events' };
  const other: TableIdentifier = { namespace: [ns], name: 'other' };
  const written: Row[] = [
    { user_id: 'u1', kind: 'view', value: 1 },
    { user_id: 'u2', kind: 'click', value: 2 },
    { user_id: 'u3', kind: 'buy', value: 3 },
  ];

  beforeAll(async () => {
    const created = await rest('POST', '/v1/namespaces', { body: { namespace: [ns], properties: { owner: 'iceberg-rest-test' } } });
    expect(created.status).toBe(200);
    await writeRows({ lake: writerLake, id, location: `s3://${lakeBucket()}/${ns}/events`, rows: written });
    await writeRows({ lake: writerLake, id: other, location: `s3://${lakeBucket()}/${ns}/other`, rows: [{ user_id: 'x', kind: 'secret', value: 99 }] });
  }, 120_000);

  afterAll(async () => {
    // Through the catalog first (which is also a check that drop works), then the files with the writer's key.
    for (const t of ['events', 'other', 'race', 'clicks']) await rest('DELETE', `/v1/namespaces/${ns}/tables/${t}`);
    expect((await rest('DELETE', `/v1/namespaces/${ns}`)).status).toBe(204);
    expect((await rest('GET', `/v1/namespaces/${ns}`)).status).toBe(404);
    const objects = await writerLake.store.listObjects(lakeBucket(), `${ns}/`);
    await writerLake.store.removeObjects(lakeBucket(), objects.map((o) => o.key));
  }, 60_000);

  it('config, namespaces and tables are listed', async () => {
    const config = await rest('GET', '/v1/config');
    expect(config.status).toBe(200);
    expect(config.body.defaults['s3.endpoint']).toBeTruthy();
    expect(config.body.overrides).toEqual({ 'namespace-separator': '%1F' });
    const listed = await pyiceberg<{ namespaces: string[][] }>(opToken, 'list-namespaces');
    expect(listed.namespaces).toEqual(expect.arrayContaining([['raw'], ['published'], [ns]]));
    expect(listed.namespaces.some((n) => n[0] === 'cleanroom' || n[0]!.startsWith('cr_'))).toBe(false);
    // Cleanroom namespace names are reserved, in either form.
    for (const reserved of [['cleanroom'], [`cr_${uniq()}`]]) expect((await rest('POST', '/v1/namespaces', { body: { namespace: reserved } })).status).toBe(400);
    const loadedNs = await rest('GET', `/v1/namespaces/${ns}`);
    expect(loadedNs.body).toEqual({ namespace: [ns], properties: { owner: 'iceberg-rest-test' } });
    const tables = await rest('GET', `/v1/namespaces/${ns}/tables`);
    expect(tables.body.identifiers).toEqual([{ namespace: [ns], name: 'events' }, { namespace: [ns], name: 'other' }]);
  });

  it('PyIceberg reads exactly the rows Atoll wrote, schema and types included, with vended credentials', async () => {
    const read = await pyiceberg<{ rows: Row[]; fields: unknown[]; arrow_types: Record<string, string>; vended: string[] }>(opToken, 'read', `${ns}.events`);
    expect(read.error).toBeUndefined();
    expect(read.rows.sort(byValue)).toEqual(written);
    expect(read.fields).toEqual([
      { id: 1, name: 'user_id', type: 'string', required: true },
      { id: 2, name: 'kind', type: 'string', required: false },
      { id: 3, name: 'value', type: 'long', required: false },
    ]);
    expect(read.arrow_types.value).toBe('int64');
    expect(read.vended).toEqual(expect.arrayContaining(['s3.access-key-id', 's3.endpoint', 's3.session-token']));
  }, 60_000);

  it('a PyIceberg append through the catalog is seen by Atoll, and Atoll\'s next append keeps it', async () => {
    const added: Row[] = [
      { user_id: 'p1', kind: 'py', value: 10 },
      { user_id: 'p2', kind: 'py', value: 11 },
    ];
    const appended = await pyiceberg<{ snapshot_id: string; metadata_location: string }>(opToken, 'append', `${ns}.events`, JSON.stringify(added));
    expect(appended.error).toBeUndefined();
    const afterPy = await atollRows(writerLake, id);
    expect(afterPy.rows).toEqual([...written, ...added]);
    expect(afterPy.records).toBe(5);
    expect(afterPy.snapshots).toBe(2);
    const current = await writerLake.catalog.load(id);
    expect(current?.metadataLocation).toBe(appended.metadata_location);

    // Atoll's writer commits on top of PyIceberg's snapshot through the same pointer; nobody's rows are lost.
    const more: Row[] = [{ user_id: 'a1', kind: 'atoll', value: 20 }];
    await writeRows({ lake: writerLake, id, location: `s3://${lakeBucket()}/${ns}/events`, rows: more });
    const read = await pyiceberg<{ rows: Row[]; snapshot_count: number }>(opToken, 'read', `${ns}.events`);
    expect(read.rows.sort(byValue)).toEqual([...written, ...added, ...more]);
    expect(read.snapshot_count).toBe(3);
    // Path-based readers follow too: version-hint.text names the current metadata version.
    const hint = await writerLake.io.read(`s3://${lakeBucket()}/${ns}/events/metadata/version-hint.text`);
    const pointer = await writerLake.catalog.load(id);
    expect(pointer?.metadataLocation).toBe(`s3://${lakeBucket()}/${ns}/events/metadata/v${Buffer.from(hint).toString()}.metadata.json`);
  }, 120_000);

  it('a PyIceberg schema change (add column) commits through the catalog; old rows read back with null', async () => {
    const evolved = await pyiceberg<{ fields: unknown[] }>(opToken, 'add-column', `${ns}.other`, 'note');
    expect(evolved.error).toBeUndefined();
    expect(evolved.fields).toContainEqual({ id: 4, name: 'note', type: 'string', required: false });
    const table = await loadTable({ io: writerLake.io, catalog: writerLake.catalog, id: other });
    expect(table.metadata.schemas).toHaveLength(2);
    expect(table.metadata['current-schema-id']).toBe(1);
    const read = await pyiceberg<{ rows: unknown[] }>(opToken, 'read', `${ns}.other`);
    expect(read.rows).toEqual([{ user_id: 'x', kind: 'secret', value: 99, note: null }]);
  }, 60_000);

  it('a commit with a stale requirement gets 409 CommitFailedException and changes nothing', async () => {
    const before = await rest('GET', `/v1/namespaces/${ns}/tables/events`);
    // Atoll's loader keeps the 64-bit ids exact (JSON.parse in this test would round them); the first is stale now.
    const table = await loadTable({ io: writerLake.io, catalog: writerLake.catalog, id });
    expect(table.metadata.snapshots.length).toBe(3);
    const first = table.metadata.snapshots[0]!['snapshot-id'];
    const stale = await rest('POST', `/v1/namespaces/${ns}/tables/events`, {
      body: `{"requirements":[{"type":"assert-ref-snapshot-id","ref":"main","snapshot-id":${first}}],"updates":[{"action":"set-properties","updates":{"stale":"yes"}}]}`,
    });
    expect(stale.status).toBe(409);
    expect(stale.body.error.type).toBe('CommitFailedException');
    const wrongUuid = await rest('POST', `/v1/namespaces/${ns}/tables/events`, {
      body: { requirements: [{ type: 'assert-table-uuid', uuid: '00000000-0000-4000-8000-000000000000' }], updates: [{ action: 'set-properties', updates: { stale: 'yes' } }] },
    });
    expect(wrongUuid.status).toBe(409);
    const after = await rest('GET', `/v1/namespaces/${ns}/tables/events`);
    expect(after.body['metadata-location']).toBe(before.body['metadata-location']);
    expect(after.body.metadata.properties.stale).toBeUndefined();

    // The same update with a current requirement lands.
    const ok = await rest('POST', `/v1/namespaces/${ns}/tables/events`, {
      body: { requirements: [{ type: 'assert-table-uuid', uuid: before.body.metadata['table-uuid'] }], updates: [{ action: 'set-properties', updates: { fresh: 'yes' } }] },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.metadata.properties.fresh).toBe('yes');
    expect(ok.body['metadata-location']).not.toBe(before.body['metadata-location']);
  });

  it('a type-narrowing schema change is refused with 400 and nothing is written', async () => {
    const before = await rest('GET', `/v1/namespaces/${ns}/tables/events`);
    const narrowed = await rest('POST', `/v1/namespaces/${ns}/tables/events`, {
      body: {
        requirements: [{ type: 'assert-current-schema-id', 'current-schema-id': 0 }],
        updates: [
          { action: 'add-schema', schema: { type: 'struct', 'schema-id': 1, fields: [{ id: 1, name: 'user_id', type: 'string', required: true }, { id: 2, name: 'kind', type: 'string', required: false }, { id: 3, name: 'value', type: 'int', required: false }] } },
          { action: 'set-current-schema', 'schema-id': -1 },
        ],
      },
    });
    expect(narrowed.status).toBe(400);
    expect(narrowed.body.error.type).toBe('BadRequestException');
    expect(narrowed.body.error.message).toMatch(/long to int/);
    const after = await rest('GET', `/v1/namespaces/${ns}/tables/events`);
    expect(after.body['metadata-location']).toBe(before.body['metadata-location']);
  });

  it('a commit whose new snapshot references files outside the table is refused with 400 and nothing is written', async () => {
    const before = await rest('GET', `/v1/namespaces/${ns}/tables/events`);
    const table = await loadTable({ io: writerLake.io, catalog: writerLake.catalog, id });
    const md = table.metadata;
    const parent = currentSnapshot(md)!;
    const own = await readManifestList(writerLake.io, parent);
    const otherTable = await loadTable({ io: writerLake.io, catalog: writerLake.catalog, id: other });
    const otherManifest = (await readManifestList(writerLake.io, currentSnapshot(otherTable.metadata)!))[0]!;
    // What a REST client with the table's vended credentials can write: files under the table's metadata/.
    const put = async (name: string, bytes: Uint8Array): Promise<string> => {
      const uri = `${md.location}/metadata/${uniq()}-${name}`;
      await writerLake.io.write(uri, bytes);
      return uri;
    };
    const commitWith = async (extra: ManifestFile) => {
      const snapshotId = newSnapshotId();
      const seq = md['last-sequence-number'] + 1;
      const list = await put('snap.avro', encodeManifestList({ manifests: [...own, extra], snapshotId, parentSnapshotId: parent['snapshot-id'], sequenceNumber: seq }));
      const snapshot = { 'snapshot-id': snapshotId, 'parent-snapshot-id': parent['snapshot-id'], 'sequence-number': seq, 'timestamp-ms': Date.now(), 'manifest-list': list, summary: { operation: 'append' } };
      return rest('POST', `/v1/namespaces/${ns}/tables/events`, {
        body: stringifyJson({
          requirements: [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': parent['snapshot-id'] }],
          updates: [{ action: 'add-snapshot', snapshot }, { action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': snapshotId }],
        }),
      });
    };
    // 1. Another table's manifest, listed where it is.
    const foreignManifest = await commitWith(otherManifest);
    // 2. A copy of it under this table: its data file is still the other table's.
    const copied = await put('m0.avro', await writerLake.io.read(otherManifest.manifestPath));
    const foreignDataFile = await commitWith({ ...otherManifest, manifestPath: copied });
    // 3. A manifest under this table naming a file in another bucket.
    const schema = currentSchema(md);
    const spec = defaultSpec(md);
    const entries = (await readManifestEntries(writerLake.io, md, own[0]!)).map((e) => ({
      ...e,
      status: 1 as const,
      snapshotId: null,
      sequenceNumber: null,
      fileSequenceNumber: null,
      dataFile: { ...e.dataFile, filePath: `s3://other-bucket/${ns}/events/data/${uniq()}.parquet` },
    }));
    const crafted = await put('m1.avro', encodeManifest({ schema, spec, resolved: resolvePartitionSpec(schema, spec), entries }));
    const otherBucket = await commitWith({ ...own[0]!, manifestPath: crafted });
    for (const [res, what] of [[foreignManifest, /manifest s3:\/\/.*\/other\/metadata\/.* outside the table location/], [foreignDataFile, /data file s3:\/\/.*\/other\/data\/.* outside the table location/], [otherBucket, /data file s3:\/\/other-bucket\/.* outside the table location/]] as const) {
      expect(res.status).toBe(400);
      expect(res.body.error.type).toBe('BadRequestException');
      expect(res.body.error.message).toMatch(what);
    }
    const after = await rest('GET', `/v1/namespaces/${ns}/tables/events`);
    expect(after.body['metadata-location']).toBe(before.body['metadata-location']);
    const now = await loadTable({ io: writerLake.io, catalog: writerLake.catalog, id });
    expect(now.metadata['current-snapshot-id']).toBe(parent['snapshot-id']);
    expect(now.metadata.snapshots).toHaveLength(md.snapshots.length);
  });

  it('vended credentials reach only the table: no other table, no writes outside data/ and metadata/', async () => {
    const creds = await rest('GET', `/v1/namespaces/${ns}/tables/events/credentials`);
    expect(creds.status).toBe(200);
    const c = creds.body['storage-credentials'][0]!.config;
    const store = s3(c['s3.access-key-id']!, c['s3.secret-access-key']!, c['s3.session-token']);
    const bucket = lakeBucket();
    const own = await writerLake.catalog.load(id);
    expect((await store.getObject(bucket, parseS3Uri(own!.metadataLocation).key)).length).toBeGreaterThan(0);
    const otherPointer = await writerLake.catalog.load(other);
    expect(await s3Error(store.getObject(bucket, parseS3Uri(otherPointer!.metadataLocation).key))).toBe('AccessDenied');
    expect(await s3Error(store.putObject(bucket, `${ns}/events/notes.txt`, 'x'))).toBe('AccessDenied');
    expect(await s3Error(store.putObject(bucket, `${ns}/other/data/x.parquet`, 'x'))).toBe('AccessDenied');
  });

  it('unknown namespace or table → 404, no token → 401, provider token → 403', async () => {
    const noNs = await rest('GET', `/v1/namespaces/nope_${uniq()}/tables/events`);
    expect(noNs.status).toBe(404);
    // The spec's 404 for loading a table is NoSuchTableException, also when its namespace is missing (Spark relies on it).
    expect(noNs.body.error.type).toBe('NoSuchTableException');
    expect((await rest('GET', `/v1/namespaces/nope_${uniq()}`)).body.error.type).toBe('NoSuchNamespaceException');
    const noTable = await rest('GET', `/v1/namespaces/${ns}/tables/nope`);
    expect(noTable.status).toBe(404);
    expect(noTable.body.error.type).toBe('NoSuchTableException');
    const py = await pyiceberg<unknown>(opToken, 'read', `${ns}.nope`);
    expect(py.error).toBe('NoSuchTableError');
    const anonymous = await rest('GET', '/v1/namespaces', { token: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error.type).toBe('NotAuthorizedException');
    expect((await rest('GET', '/v1/config', { token: 'not-a-jwt' })).status).toBe(401);
    const op = await operator();
    const p = await op.call<{ clientId: string; clientSecret: string }>('POST', '/v1/providers', { body: { name: `provider ${uniq()}` } });
    const providerToken = await clientToken(env, p.clientId, p.clientSecret);
    const asProvider = await rest('GET', `/v1/namespaces/${ns}/tables/events`, { token: providerToken });
    expect(asProvider.status).toBe(403);
    expect(asProvider.body.error.type).toBe('ForbiddenException');
  }, 60_000);

  it('REST commits racing Atoll\'s writers: every commit lands exactly once', async () => {
    const race: TableIdentifier = { namespace: [ns], name: 'race' };
    const location = `s3://${lakeBucket()}/${ns}/race`;
    await writeRows({ lake: writerLake, id: race, location, rows: [{ user_id: 'r0', kind: 'seed', value: 0 }] });
    const appends = [1, 2, 3].map((v) => writeRows({ lake: writerLake, id: race, location, rows: [{ user_id: `r${v}`, kind: 'race', value: v }] }));
    const commits = [0, 1, 2, 3, 4].map((i) =>
      rest('POST', `/v1/namespaces/${ns}/tables/race`, { body: { requirements: [], updates: [{ action: 'set-properties', updates: { [`k${i}`]: String(i) } }] } }),
    );
    const statuses = (await Promise.all([...commits, ...appends])).slice(0, 5).map((r) => (r as { status: number }).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    const table = await loadTable({ io: writerLake.io, catalog: writerLake.catalog, id: race });
    expect(Object.keys(table.metadata.properties).filter((k) => /^k\d$/.test(k)).sort()).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
    expect(table.metadata.snapshots).toHaveLength(4);
    expect((await atollRows(writerLake, race)).rows.map((r) => r.value)).toEqual([0, 1, 2, 3]);
  }, 120_000);

  it('corrupt metadata in storage: a clear error naming the file, and commits write nothing', async () => {
    const schema = { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'id', type: 'long', required: true }] };
    expect((await rest('POST', `/v1/namespaces/${ns}/tables`, { body: { name: 'broken', schema } })).status).toBe(200);
    const broken: TableIdentifier = { namespace: [ns], name: 'broken' };
    const v1 = (await writerLake.catalog.load(broken))!.metadataLocation;
    const v2 = v1.replace('v1.metadata.json', 'v2.metadata.json');
    await writerLake.io.write(v2, new Uint8Array(Buffer.from('{"format-version": 2, "table-uuid": ')));
    expect(await writerLake.catalog.compareAndSwap(broken, v1, v2)).toBe(true);
    const loaded = await rest('GET', `/v1/namespaces/${ns}/tables/broken`);
    expect(loaded.status).toBe(500);
    expect(loaded.body.error.message).toContain('v2.metadata.json');
    const commit = await rest('POST', `/v1/namespaces/${ns}/tables/broken`, { body: { requirements: [], updates: [{ action: 'set-properties', updates: { a: 'b' } }] } });
    expect(commit.status).toBe(500);
    expect((await writerLake.catalog.load(broken))?.metadataLocation).toBe(v2);
    expect((await rest('DELETE', `/v1/namespaces/${ns}/tables/broken`)).status).toBe(204);
  });

  it('a table created through the catalog with an identity partition: PyIceberg appends, both readers agree', async () => {
    // Identity, not day: PyIceberg computes time transforms on write only with the optional pyiceberg-core package.
    const schema = {
      type: 'struct',
      'schema-id': 0,
      fields: [{ id: 1, name: 'id', type: 'long', required: true }, { id: 2, name: 'country', type: 'string', required: false }, { id: 3, name: 'ts', type: 'timestamp', required: false }],
    };
    const spec = { 'spec-id': 0, fields: [{ 'source-id': 2, 'field-id': 1000, name: 'country', transform: 'identity' }] };
    expect((await rest('POST', `/v1/namespaces/${ns}/tables`, { body: { name: 'clicks', schema, 'partition-spec': spec } })).status).toBe(200);
    const rows = [
      { id: 1, country: 'fr', ts: '2026-01-01T10:00:00' },
      { id: 2, country: 'fr', ts: '2026-01-01T23:59:59.123456' },
      { id: 3, country: 'nz', ts: '2026-01-02T00:00:00' },
    ];
    const appended = await pyiceberg<unknown>(opToken, 'append', `${ns}.clicks`, JSON.stringify(rows));
    expect(appended.error).toBeUndefined();
    const read = await pyiceberg<{ rows: Array<{ id: number }>; arrow_types: Record<string, string> }>(opToken, 'read', `${ns}.clicks`);
    expect(read.rows.sort((a, b) => a.id - b.id)).toEqual(rows);
    expect(read.arrow_types.ts).toBe('timestamp[us]');
    const table = await loadTable({ io: writerLake.io, catalog: writerLake.catalog, id: { namespace: [ns], name: 'clicks' } });
    const files = await planFiles({ io: writerLake.io, metadata: table.metadata });
    // One data file per partition, with exact record counts, as Atoll's reader decodes PyIceberg's manifests.
    expect(files.map((f) => [f.partition.country, f.recordCount]).sort()).toEqual([['fr', 2], ['nz', 1]]);
  }, 60_000);

  it('create, duplicate and drop through the catalog', async () => {
    const schema = { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'id', type: 'long', required: true }, { id: 2, name: 'ts', type: 'timestamp', required: false }] };
    const spec = { 'spec-id': 0, fields: [{ 'source-id': 2, 'field-id': 1000, name: 'ts_day', transform: 'day' }] };
    const created = await rest('POST', `/v1/namespaces/${ns}/tables`, { body: { name: 'made', schema, 'partition-spec': spec }, vended: true });
    expect(created.status).toBe(200);
    expect(created.body.metadata.location).toBe(`s3://${lakeBucket()}/${ns}/made`);
    expect(created.body.config['s3.session-token']).toBeTruthy();
    expect((await rest('POST', `/v1/namespaces/${ns}/tables`, { body: { name: 'made', schema } })).status).toBe(409);
    const elsewhere = await rest('POST', `/v1/namespaces/${ns}/tables`, { body: { name: 'moved', schema, location: `s3://${lakeBucket()}/raw/moved` } });
    expect(elsewhere.status).toBe(400);
    const redirected = await rest('POST', `/v1/namespaces/${ns}/tables`, { body: { name: 'redirected', schema, properties: { 'write.data.path': `s3://${lakeBucket()}/raw` } } });
    expect(redirected.status).toBe(400);
    expect((await rest('HEAD', `/v1/namespaces/${ns}/tables/redirected`)).status).toBe(404);
    expect((await rest('DELETE', `/v1/namespaces/${ns}`)).status).toBe(409);
    expect((await rest('DELETE', `/v1/namespaces/${ns}/tables/made`)).status).toBe(204);
    expect((await rest('HEAD', `/v1/namespaces/${ns}/tables/made`)).status).toBe(404);
  });

  it('the writers\' tables (raw, published) are read-only through the catalog: commits and creates refused, vended credentials read-only', async () => {
    const rawId: TableIdentifier = { namespace: ['raw'], name: `rest_${uniq()}` };
    await writeRows({ lake: writerLake, id: rawId, location: `s3://${lakeBucket()}/raw/${rawId.name}`, rows: written });
    const lakeTable = (await pool.query<{ name: string; metadata_location: string }>(`SELECT name, metadata_location FROM iceberg_tables WHERE namespace = 'raw' AND name = $1`, [rawId.name])).rows[0];
    const path = `/v1/namespaces/raw/tables/${rawId.name}`;
    const loaded = await rest('GET', path, { vended: true });
    expect(loaded.status).toBe(200);
    const commit = await rest('POST', path, { body: { requirements: [], updates: [{ action: 'set-properties', updates: { a: 'b' } }] } });
    expect(commit.status).toBe(403);
    expect(commit.body.error.message).toMatch(/belong to Atoll's writers and are read-only/);
    expect((await rest('POST', '/v1/namespaces/published/tables', { body: { name: `sneaky_${uniq()}`, schema: { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'x', type: 'string', required: false }] } } })).status).toBe(403);
    expect((await rest('GET', path)).body['metadata-location']).toBe(loaded.body['metadata-location']);
    const c = loaded.body.config;
    const store = s3(c['s3.access-key-id']!, c['s3.secret-access-key']!, c['s3.session-token']);
    const { bucket, key } = parseS3Uri(lakeTable!.metadata_location);
    expect((await store.getObject(bucket, key)).length).toBeGreaterThan(0);
    expect(await s3Error(store.putObject(bucket, `${key.slice(0, key.lastIndexOf('/'))}/evil.avro`, 'x'))).toBe('AccessDenied');
    expect((await rest('DELETE', path)).status).toBe(403);
    await dropTable({ catalog: writerLake.catalog, id: rawId });
    await writerLake.store.removeObjects(bucket, (await writerLake.store.listObjects(bucket, `raw/${rawId.name}/`)).map((o) => o.key));
  }, 60_000);
});

describe('consumer: only its cleanrooms', () => {
  let consumerToken: string;
  let otherConsumerToken: string;
  let cleanroom: { id: string; bucket: string };
  let namespace: string[];
  const rows: Row[] = [
    { user_id: 't1', kind: 'cr', value: 1 },
    { user_id: 't2', kind: 'cr', value: 2 },
  ];

  async function newConsumerToken(): Promise<string> {
    const op = await operator();
    const c = await op.call<{ id: string }>('POST', '/v1/consumers', { body: { name: `consumer ${uniq()}`, useCase: { category: 'analytics', description: 'iceberg rest test' } } });
    const a = await op.call<{ clientId: string; clientSecret: string }>('POST', `/v1/consumers/${c.id}/approve`);
    return clientToken(env, a.clientId, a.clientSecret);
  }

  beforeAll(async () => {
    consumerToken = await newConsumerToken();
    otherConsumerToken = await newConsumerToken();
    const res = await fetch(`${api.url}/v1/cleanrooms`, {
      method: 'POST',
      headers: { authorization: `Bearer ${consumerToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `cr ${uniq()}` }),
    });
    expect(res.status).toBe(201);
    cleanroom = (await res.json()) as { id: string; bucket: string };
    const purchases = cleanroomTableId(cleanroom.id, 'purchases');
    const secret = cleanroomTableId(cleanroom.id, 'secret');
    // Consumers name a cleanroom's namespace cr_<id without dashes>, one level (the store keys it ['cleanroom', <hex>]).
    namespace = [`cr_${cleanroom.id.replaceAll('-', '')}`];
    await writeRows({ lake: cleanroomLake, id: purchases, location: tableLocation(cleanroom.bucket, purchases), rows });
    await writeRows({ lake: cleanroomLake, id: secret, location: tableLocation(cleanroom.bucket, secret), rows: [{ user_id: 's', kind: 'secret', value: 7 }] });
  }, 120_000);

  it('lists and loads only its own cleanroom namespaces; the lake is forbidden', async () => {
    const top = await pyiceberg<{ namespaces: string[][] }>(consumerToken, 'list-namespaces');
    expect(top.namespaces).toEqual([namespace]);
    const children = await pyiceberg<{ namespaces: string[][] }>(consumerToken, 'list-namespaces', namespace[0]!);
    expect(children.namespaces).toEqual([]);
    const tables = await rest('GET', `/v1/namespaces/${namespace[0]}/tables`, { token: consumerToken });
    expect(tables.body.identifiers).toEqual([{ namespace, name: 'purchases' }, { namespace, name: 'secret' }]);
    // The store's nested key is not a second name for it.
    const nested = await rest('GET', `/v1/namespaces/cleanroom%1F${cleanroom.id.replaceAll('-', '')}/tables/purchases`, { token: consumerToken });
    expect(nested.status).toBe(404);
    for (const path of ['/v1/namespaces/raw', '/v1/namespaces/raw/tables', '/v1/namespaces/published/tables']) {
      const res = await rest('GET', path, { token: consumerToken });
      expect(res.status).toBe(403);
      expect(res.body.error.type).toBe('ForbiddenException');
    }
    const py = await pyiceberg<unknown>(consumerToken, 'list-namespaces', 'raw');
    expect(py.error).toBe('ForbiddenError');
    expect((await rest('POST', '/v1/namespaces', { token: consumerToken, body: { namespace: [`x_${uniq()}`] } })).status).toBe(403);
    // Views as tables: its cleanroom namespace lists none (nobody can make one there), writes and the lake are refused.
    expect((await rest('GET', `/v1/namespaces/${namespace[0]}/views`, { token: consumerToken })).body.identifiers).toEqual([]);
    const view = { name: 'v', schema: { type: 'struct', fields: [{ id: 1, name: 'a', type: 'int', required: false }] }, 'view-version': { 'version-id': 1, 'timestamp-ms': 1, 'schema-id': 0, summary: {}, representations: [{ type: 'sql', sql: 'select 1', dialect: 'spark' }], 'default-namespace': namespace } };
    expect((await rest('POST', `/v1/namespaces/${namespace[0]}/views`, { token: consumerToken, body: view })).status).toBe(403);
    expect((await rest('GET', '/v1/namespaces/published/views', { token: consumerToken })).status).toBe(403);
    expect((await rest('GET', `/v1/namespaces/${namespace[0]}/views`, { token: otherConsumerToken })).status).toBe(404);
    // Another consumer cannot see this cleanroom at all.
    const foreign = await rest('GET', `/v1/namespaces/${namespace.join('%1F')}/tables/purchases`, { token: otherConsumerToken });
    expect(foreign.status).toBe(404);
    expect((await rest('GET', '/v1/namespaces', { token: otherConsumerToken })).body.namespaces).toEqual([]);
    const foreignList = await rest('GET', `/v1/namespaces?parent=${namespace[0]}`, { token: otherConsumerToken });
    expect(foreignList.status).toBe(404);
  }, 60_000);

  it('PyIceberg reads its cleanroom table with vended credentials', async () => {
    const read = await pyiceberg<{ rows: Row[]; vended: string[] }>(consumerToken, 'read', `${namespace.join('.')}.purchases`);
    expect(read.error).toBeUndefined();
    expect(read.rows.sort(byValue)).toEqual(rows);
    expect(read.vended).toContain('s3.session-token');
  }, 60_000);

  it('its vended credentials are read-only and cannot read outside the table', async () => {
    const loaded = await rest('GET', `/v1/namespaces/${namespace.join('%1F')}/tables/purchases`, { token: consumerToken, vended: true });
    expect(loaded.status).toBe(200);
    const c = loaded.body.config;
    const store = s3(c['s3.access-key-id']!, c['s3.secret-access-key']!, c['s3.session-token']);
    expect((await store.getObject(cleanroom.bucket, parseS3Uri(loaded.body['metadata-location']).key)).length).toBeGreaterThan(0);
    const secretPointer = await cleanroomLake.catalog.load(cleanroomTableId(cleanroom.id, 'secret'));
    expect(await s3Error(store.getObject(cleanroom.bucket, parseS3Uri(secretPointer!.metadataLocation).key))).toBe('AccessDenied');
    expect(await s3Error(store.listObjects(cleanroom.bucket, 'secret/'))).toBe('AccessDenied');
    expect(await s3Error(store.putObject(cleanroom.bucket, 'purchases/data/evil.parquet', 'x'))).toBe('AccessDenied');
    const lakeTables = await pool.query<{ metadata_location: string }>(`SELECT metadata_location FROM iceberg_tables WHERE namespace = 'raw' LIMIT 1`);
    const lakeFile = lakeTables.rows[0]?.metadata_location;
    if (lakeFile) {
      const { bucket, key } = parseS3Uri(lakeFile);
      expect(await s3Error(store.getObject(bucket, key))).toBe('AccessDenied');
    }
    const commit = await rest('POST', `/v1/namespaces/${namespace.join('%1F')}/tables/purchases`, { token: consumerToken, body: { requirements: [], updates: [{ action: 'set-properties', updates: { a: 'b' } }] } });
    expect(commit.status).toBe(403);
  }, 60_000);
});
