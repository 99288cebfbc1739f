// The Iceberg REST catalog (/iceberg) as real clients speak it, over plain HTTP against the real stack: null optional
// fields (Iceberg Java), empty JSON bodies on DELETE, HEAD existence checks, signed pagination, rename, register, drop
// with and without purge and re-creating a dropped name, all in the spec's error model.
import { createPool, type Pool } from '@atoll/db';
import { clientToken } from '@atoll/stack';
import { ObjectStore, parseS3Uri } from '@atoll/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { env, uniq } from './support/actors.js';
import { startInProcessApi, type InProcessApi } from './support/inprocess-api.js';

let api: InProcessApi;
let pool: Pool;
let opToken: string;
let writerStore: ObjectStore;
const lakeBucket = (): string => env.ATOLL_BUCKET_LAKE ?? 'atoll-lake';

interface Answer {
  status: number;
  body: {
    error?: { message: string; type: string; code: number };
    namespaces?: string[][];
    identifiers?: Array<{ namespace: string[]; name: string }>;
    'next-page-token'?: string | null;
    'metadata-location'?: string;
    metadata?: { location: string; 'table-uuid': string; schemas: Array<{ fields: Array<{ id: number; name: string }> }> };
  };
}

/** One request as an Iceberg client sends it: `raw` bodies go out as given, with Content-Type: application/json. */
async function rest(method: string, path: string, opts: { body?: unknown; raw?: string; token?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = { authorization: `Bearer ${opts.token ?? opToken}` };
  let body: string | undefined;
  if (opts.raw !== undefined) body = opts.raw;
  else if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${api.url}/iceberg${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Answer['body'] };
}

/** DELETE exactly as Iceberg Java sends it: Content-Type: application/json and an empty body. */
async function javaDelete(path: string): Promise<number> {
  const res = await fetch(`${api.url}/iceberg${path}`, { method: 'DELETE', headers: { authorization: `Bearer ${opToken}`, 'content-type': 'application/json', 'content-length': '0' } });
  await res.arrayBuffer();
  return res.status;
}

const SCHEMA = { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'id', type: 'long', required: true }, { id: 2, name: 'label', type: 'string', required: false }] };

/** The create-table body Iceberg Java (1.10) sends: every absent optional is null. */
const javaCreate = (name: string): Record<string, unknown> => ({
  name,
  location: null,
  schema: SCHEMA,
  'partition-spec': { 'spec-id': 0, fields: [] },
  'write-order': null,
  'stage-create': false,
  properties: null,
});

async function objectsUnder(location: string): Promise<string[]> {
  const { bucket, key } = parseS3Uri(location);
  return (await writerStore.listObjects(bucket, `${key}/`)).map((o) => o.key);
}

beforeAll(async () => {
  api = await startInProcessApi();
  pool = createPool(env.ATOLL_DATABASE_URL!, { max: 2, applicationName: 'iceberg-rest-completeness-test' });
  opToken = await clientToken(env, env.ATOLL_OPERATOR_CLIENT_ID!, env.ATOLL_OPERATOR_CLIENT_SECRET!);
  writerStore = new ObjectStore({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey: env.ATOLL_S3_WRITER_ACCESS_KEY!, secretKey: env.ATOLL_S3_WRITER_SECRET_KEY! });
}, 120_000);

afterAll(async () => {
  await api?.[Symbol.asyncDispose]();
  await pool?.end();
});

describe('what real clients send', () => {
  const ns = `compl_${uniq()}`;
  const other = `compl_${uniq()}`;

  beforeAll(async () => {
    for (const n of [ns, other]) expect((await rest('POST', '/v1/namespaces', { body: { namespace: [n], properties: null } })).status).toBe(200);
  });

  afterAll(async () => {
    for (const n of [ns, other]) {
      const listed = await rest('GET', `/v1/namespaces/${n}/tables`);
      for (const t of listed.body.identifiers ?? []) await javaDelete(`/v1/namespaces/${n}/tables/${t.name}`);
      await javaDelete(`/v1/namespaces/${n}`);
      const leftovers = await writerStore.listObjects(lakeBucket(), `${n}/`);
      await writerStore.removeObjects(lakeBucket(), leftovers.map((o) => o.key));
    }
  }, 60_000);

  it('create with null optional fields, HEAD 204/404, drop with an empty JSON body', async () => {
    const created = await rest('POST', `/v1/namespaces/${ns}/tables`, { body: javaCreate('nulls') });
    expect(created.status).toBe(200);
    expect(created.body.metadata?.location).toBe(`s3://${lakeBucket()}/${ns}/nulls`);
    expect((await rest('HEAD', `/v1/namespaces/${ns}/tables/nulls`)).status).toBe(204);
    expect((await rest('HEAD', `/v1/namespaces/${ns}/tables/absent`)).status).toBe(404);
    expect((await rest('HEAD', `/v1/namespaces/${ns}`)).status).toBe(204);
    expect((await rest('HEAD', `/v1/namespaces/no_such_${uniq()}`)).status).toBe(404);
    // Loading a table in a namespace that does not exist is NoSuchTableException (Spark resolves metadata tables by it).
    const missing = await rest('GET', `/v1/namespaces/no_such_${uniq()}/tables/t`);
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ type: 'NoSuchTableException', code: 404 });
    expect(missing.body.error?.message).toMatch(/^Table does not exist: /);
    expect(await javaDelete(`/v1/namespaces/${ns}/tables/nulls`)).toBe(204);
    expect((await rest('HEAD', `/v1/namespaces/${ns}/tables/nulls`)).status).toBe(404);
    expect(await javaDelete(`/v1/namespaces/${ns}/tables/nulls`)).toBe(404);
  });

  it('long names: a 128-character level and table name are addressable; names past S3\'s key room are a 400 up front', async () => {
    // Schemathesis made a namespace with a 127-character level; Fastify's default maxParamLength (100) then refused
    // every path naming it, and DuckDB's ATTACH, which lists every namespace's tables, failed for the whole lake.
    const level = (i: number): string => `${i}${uniq()}`.padEnd(128, 'x');
    const long = level(0);
    const table = 't'.repeat(128);
    expect((await rest('POST', '/v1/namespaces', { body: { namespace: [long] } })).status).toBe(200);
    // Four levels: room for a 100-character name, not for one of 128 (its files' keys would pass S3's 1,024 bytes).
    const deep = [1, 2, 3, 4].map(level);
    const deepPath = deep.join('%1F');
    expect((await rest('POST', '/v1/namespaces', { body: { namespace: deep } })).status).toBe(200);
    try {
      expect((await rest('GET', `/v1/namespaces/${long}`)).body).toEqual({ namespace: [long], properties: {} });
      const created = await rest('POST', `/v1/namespaces/${long}/tables`, { body: javaCreate(table) });
      expect(created.status, JSON.stringify(created.body)).toBe(200);
      expect((await rest('GET', `/v1/namespaces/${long}/tables`)).body.identifiers).toEqual([{ namespace: [long], name: table }]);
      expect((await rest('GET', `/v1/namespaces/${long}/tables/${table}`)).body['metadata-location']).toBe(created.body['metadata-location']);
      expect(await javaDelete(`/v1/namespaces/${long}/tables/${table}?purgeRequested=true`)).toBe(204);

      expect((await rest('GET', `/v1/namespaces/${deepPath}`)).body).toEqual({ namespace: deep, properties: {} });
      // Its first level is listed (implied, as Iceberg's catalogs do) and answers as an empty namespace, never 404:
      // DuckDB's ATTACH lists the tables of every namespace the listing shows, and one 404 failed the whole lake.
      expect((await rest('GET', '/v1/namespaces')).body.namespaces).toContainEqual([deep[0]]);
      expect((await rest('GET', `/v1/namespaces/${deep[0]}`)).body).toEqual({ namespace: [deep[0]], properties: {} });
      expect((await rest('GET', `/v1/namespaces/${deep[0]}/tables`)).body).toEqual({ identifiers: [] });
      expect((await rest('GET', `/v1/namespaces/${deep[0]}/views`)).body).toEqual({ identifiers: [] });
      expect((await rest('GET', `/v1/namespaces/no_such_${uniq()}/tables`)).status).toBe(404);
      const tooDeep = await rest('POST', `/v1/namespaces/${deepPath}/tables`, { body: javaCreate(table) });
      expect(tooDeep.status).toBe(400);
      expect(tooDeep.body.error).toMatchObject({ type: 'BadRequestException', code: 400 });
      expect(tooDeep.body.error?.message).toMatch(/would live under a 644-byte key .*at most 640 bytes/);
      expect(await objectsUnder(`s3://${lakeBucket()}/${deep.join('/')}`)).toEqual([]);
      const fits = await rest('POST', `/v1/namespaces/${deepPath}/tables`, { body: javaCreate('u'.repeat(100)) });
      expect(fits.status, JSON.stringify(fits.body)).toBe(200);
      expect((await rest('GET', `/v1/namespaces/${deepPath}/tables`)).body.identifiers).toEqual([{ namespace: deep, name: 'u'.repeat(100) }]);
      // Renamed to a name that could not be created there, it keeps its location, and commits to it still land.
      const renamed = await rest('POST', '/v1/tables/rename', { body: { source: { namespace: deep, name: 'u'.repeat(100) }, destination: { namespace: deep, name: table } } });
      expect(renamed.status).toBe(204);
      const committed = await rest('POST', `/v1/namespaces/${deepPath}/tables/${table}`, { body: { requirements: [], updates: [{ action: 'set-properties', updates: { k: 'v' } }] } });
      expect(committed.status, JSON.stringify(committed.body)).toBe(200);
      expect(committed.body.metadata?.location).toBe(fits.body.metadata?.location);
      expect(await javaDelete(`/v1/namespaces/${deepPath}/tables/${table}?purgeRequested=true`)).toBe(204);

      // Eight levels of 128 leave no room for any table: refused when the namespace is made, and nothing is made.
      const eight = Array.from({ length: 8 }, (_, i) => level(i + 10));
      const refused = await rest('POST', '/v1/namespaces', { body: { namespace: eight } });
      expect(refused.status).toBe(400);
      expect(refused.body.error?.message).toMatch(/a table of this namespace would live under a 1033-byte key/);
      expect((await rest('HEAD', `/v1/namespaces/${eight.join('%1F')}`)).status).toBe(404);
      // One character past a level's bound is the catalog's own 400, in the spec's error model.
      const tooLong = await rest('GET', `/v1/namespaces/${'y'.repeat(129)}/tables`);
      expect(tooLong.status).toBe(400);
      expect(tooLong.body.error).toMatchObject({ type: 'BadRequestException', code: 400 });
      expect(tooLong.body.error?.message).toMatch(/must be 1–128 letters/);
    } finally {
      expect(await javaDelete(`/v1/namespaces/${long}`)).toBe(204);
      expect(await javaDelete(`/v1/namespaces/${deepPath}`)).toBe(204);
    }
  });

  it('bad bodies get the spec\'s error model and write nothing', async () => {
    const cases: Array<{ raw?: string; body?: unknown }> = [
      { raw: '' }, // a create needs a body
      { raw: '{"name": "broken",' },
      { body: { name: 'noschema', schema: null } },
      { body: { ...javaCreate('badloc'), location: 42 } },
    ];
    for (const c of cases) {
      const res = await rest('POST', `/v1/namespaces/${ns}/tables`, c);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ type: 'BadRequestException', code: 400 });
      expect(typeof res.body.error?.message).toBe('string');
    }
    expect((await rest('GET', `/v1/namespaces/${ns}/tables`)).body.identifiers).toEqual([]);
    const dup = await rest('POST', '/v1/namespaces', { body: { namespace: [ns] } });
    expect(dup.status).toBe(409);
    expect(dup.body.error).toEqual({ type: 'AlreadyExistsException', code: 409, message: `Namespace already exists: ${ns}` });
  });

  it('pagination: pages of pageSize, null on the last page, tampered or foreign tokens → 400', async () => {
    const names = ['p1', 'p2', 'p3', 'p4', 'p5'];
    for (const n of names) expect((await rest('POST', `/v1/namespaces/${other}/tables`, { body: javaCreate(n) })).status).toBe(200);
    // Without pageToken or pageSize: everything, and no next-page-token (the spec's non-paginated answer).
    const all = await rest('GET', `/v1/namespaces/${other}/tables`);
    expect(all.body.identifiers?.map((t) => t.name)).toEqual(names);
    expect('next-page-token' in all.body).toBe(false);

    const seen: string[] = [];
    let token = '';
    let pagesRead = 0;
    for (;;) {
      const page = await rest('GET', `/v1/namespaces/${other}/tables?pageSize=2&pageToken=${encodeURIComponent(token)}`);
      expect(page.status).toBe(200);
      seen.push(...(page.body.identifiers ?? []).map((t) => t.name));
      pagesRead++;
      if (page.body['next-page-token'] === null) break;
      token = page.body['next-page-token']!;
    }
    expect(seen).toEqual(names);
    expect(pagesRead).toBe(3);

    const first = await rest('GET', `/v1/namespaces/${other}/tables?pageSize=2&pageToken=`);
    const good = first.body['next-page-token']!;
    const [payload, sig] = good.split('.');
    const decoded = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as { l: string };
    const forged = Buffer.from(JSON.stringify({ v: 1, l: decoded.l, a: 'p4' })).toString('base64url');
    for (const bad of [`${forged}.${sig}`, `${payload}.${sig!.slice(0, -2)}AA`, 'garbage', `${payload}`]) {
      const res = await rest('GET', `/v1/namespaces/${other}/tables?pageSize=2&pageToken=${encodeURIComponent(bad)}`);
      expect(res.status).toBe(400);
      expect(res.body.error?.type).toBe('BadRequestException');
    }
    // A token of one listing does not page another.
    expect((await rest('GET', `/v1/namespaces/${ns}/tables?pageSize=2&pageToken=${encodeURIComponent(good)}`)).status).toBe(400);
    expect((await rest('GET', `/v1/namespaces?pageSize=2&pageToken=${encodeURIComponent(good)}`)).status).toBe(400);

    // Namespaces page the same way.
    const nsSeen: string[][] = [];
    let nsToken = '';
    for (;;) {
      const page = await rest('GET', `/v1/namespaces?pageSize=3&pageToken=${encodeURIComponent(nsToken)}`);
      expect(page.status).toBe(200);
      nsSeen.push(...(page.body.namespaces ?? []));
      if (page.body['next-page-token'] === null) break;
      nsToken = page.body['next-page-token']!;
    }
    expect(nsSeen).toEqual((await rest('GET', '/v1/namespaces')).body.namespaces);
    expect(nsSeen).toEqual(expect.arrayContaining([[ns], [other]]));
  });

  it('rename within and across namespaces; onto an existing table → 409; missing source → 404', async () => {
    expect((await rest('POST', `/v1/namespaces/${ns}/tables`, { body: javaCreate('before') })).status).toBe(200);
    expect((await rest('POST', `/v1/namespaces/${ns}/tables`, { body: javaCreate('taken') })).status).toBe(200);
    const loaded = await rest('GET', `/v1/namespaces/${ns}/tables/before`);
    const rename = (from: [string, string], to: [string, string]): Promise<Answer> =>
      rest('POST', '/v1/tables/rename', { body: { source: { namespace: [from[0]], name: from[1] }, destination: { namespace: [to[0]], name: to[1] } } });

    const onto = await rename([ns, 'before'], [ns, 'taken']);
    expect(onto.status).toBe(409);
    expect(onto.body.error).toMatchObject({ type: 'AlreadyExistsException', message: `Table already exists: ${ns}.taken` });
    expect((await rename([ns, 'absent'], [ns, 'whatever'])).body.error).toMatchObject({ type: 'NoSuchTableException', code: 404 });
    expect((await rename([ns, 'before'], [`no_such_${uniq()}`, 'x'])).body.error).toMatchObject({ type: 'NoSuchNamespaceException', code: 404 });
    expect((await rename([ns, 'before'], ['raw', 'stolen'])).status).toBe(403);

    expect((await rename([ns, 'before'], [ns, 'after'])).status).toBe(204);
    expect((await rest('HEAD', `/v1/namespaces/${ns}/tables/before`)).status).toBe(404);
    const after = await rest('GET', `/v1/namespaces/${ns}/tables/after`);
    expect(after.body.metadata?.['table-uuid']).toBe(loaded.body.metadata?.['table-uuid']);
    expect((await rename([ns, 'after'], [other, 'moved'])).status).toBe(204);
    expect((await rest('GET', `/v1/namespaces/${other}/tables/moved`)).body['metadata-location']).toBe(loaded.body['metadata-location']);
    // The old name is free again; its files are the moved table's, so the new table gets a location of its own.
    const again = await rest('POST', `/v1/namespaces/${ns}/tables`, { body: javaCreate('before') });
    expect(again.status).toBe(200);
    expect(again.body.metadata?.location).toMatch(new RegExp(`^s3://${lakeBucket()}/${ns}/before-[0-9a-f]{32}$`));
  });

  it('register: a metadata file of the warehouse registers; outside the warehouse, or a live table\'s, is refused', async () => {
    const made = await rest('POST', `/v1/namespaces/${ns}/tables`, { body: javaCreate('orig') });
    const metadataLocation = made.body['metadata-location']!;
    // Drop without purge keeps the files; registering the metadata file brings the table back under a new name.
    expect(await javaDelete(`/v1/namespaces/${ns}/tables/orig`)).toBe(204);
    const reg = (body: Record<string, unknown>): Promise<Answer> => rest('POST', `/v1/namespaces/${ns}/register`, { body });
    const outside = await reg({ name: 'evil', 'metadata-location': `s3://some-other-bucket/x/metadata/00001-a.metadata.json` });
    expect(outside.status).toBe(403);
    expect(outside.body.error?.type).toBe('ForbiddenException');
    expect((await reg({ name: 'evil', 'metadata-location': 'file:///etc/passwd' })).status).toBe(403);
    const { rows } = await pool.query<{ metadata_location: string }>(`SELECT metadata_location FROM iceberg_tables WHERE namespace = 'raw' LIMIT 1`);
    if (rows[0]) expect((await reg({ name: 'evil', 'metadata-location': rows[0].metadata_location })).status).toBe(403);
    expect((await reg({ name: 'evil', 'metadata-location': `s3://${lakeBucket()}/${ns}/orig/metadata/nope.metadata.json` })).status).toBe(400);
    expect((await rest('HEAD', `/v1/namespaces/${ns}/tables/evil`)).status).toBe(404);

    const back = await reg({ name: 'restored', 'metadata-location': metadataLocation, overwrite: null });
    expect(back.status).toBe(200);
    expect(back.body['metadata-location']).toBe(metadataLocation);
    expect(back.body.metadata?.['table-uuid']).toBe(made.body.metadata?.['table-uuid']);
    // The same files cannot back a second entry.
    const twice = await reg({ name: 'twice', 'metadata-location': metadataLocation });
    expect(twice.status).toBe(409);
    expect(twice.body.error?.type).toBe('AlreadyExistsException');
    expect((await reg({ name: 'restored', 'metadata-location': metadataLocation })).status).toBe(409);
  });

  it('drop without purge keeps the files and the name can be created again; purge removes them', async () => {
    const first = await rest('POST', `/v1/namespaces/${ns}/tables`, { body: javaCreate('cycle') });
    const firstLocation = first.body.metadata!.location;
    expect(await javaDelete(`/v1/namespaces/${ns}/tables/cycle`)).toBe(204);
    expect((await objectsUnder(firstLocation)).length).toBeGreaterThan(0);
    // Asking for the occupied location explicitly is a clear 409; leaving it to the catalog gets a fresh one.
    const asked = await rest('POST', `/v1/namespaces/${ns}/tables`, { body: { ...javaCreate('cycle'), location: firstLocation } });
    expect(asked.status).toBe(409);
    const second = await rest('POST', `/v1/namespaces/${ns}/tables`, { body: javaCreate('cycle') });
    expect(second.status).toBe(200);
    const secondLocation = second.body.metadata!.location;
    expect(secondLocation).not.toBe(firstLocation);

    const purged = await fetch(`${api.url}/iceberg/v1/namespaces/${ns}/tables/cycle?purgeRequested=true`, { method: 'DELETE', headers: { authorization: `Bearer ${opToken}`, 'content-type': 'application/json' } });
    expect(purged.status).toBe(204);
    expect((await rest('HEAD', `/v1/namespaces/${ns}/tables/cycle`)).status).toBe(404);
    // The writer purges once commits in flight have settled (a few seconds); the first table's files stay (no purge).
    const deadline = Date.now() + 60_000;
    while ((await objectsUnder(secondLocation)).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1000));
    expect(await objectsUnder(secondLocation)).toEqual([]);
    expect((await objectsUnder(firstLocation)).length).toBeGreaterThan(0);
    // Purging a writer-owned table is refused before anything happens.
    const { rows } = await pool.query<{ name: string }>(`SELECT name FROM iceberg_tables WHERE namespace = 'raw' LIMIT 1`);
    if (rows[0]) {
      const res = await fetch(`${api.url}/iceberg/v1/namespaces/raw/tables/${rows[0].name}?purgeRequested=true`, { method: 'DELETE', headers: { authorization: `Bearer ${opToken}` } });
      expect(res.status).toBe(403);
    }
  }, 90_000);
});

interface ViewAnswer {
  'metadata-location'?: string;
  metadata?: {
    'view-uuid': string;
    location: string;
    'current-version-id': number;
    schemas: Array<{ 'schema-id': number }>;
    versions: Array<{ 'version-id': number; 'schema-id': number; representations: Array<{ sql: string; dialect: string }> }>;
    'version-log': Array<{ 'version-id': number }>;
    properties: Record<string, string>;
  };
}
const viewOf = (a: Answer): ViewAnswer => a.body as ViewAnswer;

/** The create-view body Iceberg Java (1.10) sends: the client's own schema ids, absent optionals as null. */
const javaCreateView = (name: string, sql = 'select * from ns.tbl', dialect = 'spark'): Record<string, unknown> => ({
  name,
  location: null,
  schema: { type: 'struct', 'schema-id': 5, fields: [{ id: 3, name: 'id', type: 'int', required: true, doc: 'unique ID' }, { id: 4, name: 'data', type: 'string', required: true }] },
  'view-version': { 'version-id': 1, 'timestamp-ms': Date.now(), 'schema-id': 5, summary: { 'engine-name': 'test' }, representations: [{ type: 'sql', sql, dialect }], 'default-catalog': null, 'default-namespace': ['ns'] },
  properties: { prop1: 'val1' },
});

/** A replace as Iceberg Java commits it: the new schema and version, made current, under the view's uuid. */
const javaReplaceView = (uuid: string, sql: string, dialect = 'spark'): Record<string, unknown> => ({
  identifier: null,
  requirements: [{ type: 'assert-view-uuid', uuid }],
  updates: [
    { action: 'add-schema', schema: { type: 'struct', 'schema-id': 1, fields: [{ id: 1, name: 'some_id', type: 'int', required: true }] }, 'last-column-id': 1 },
    { action: 'add-view-version', 'view-version': { 'version-id': 2, 'timestamp-ms': Date.now(), 'schema-id': -1, summary: {}, representations: [{ type: 'sql', sql, dialect }], 'default-namespace': ['ns'] } },
    { action: 'set-current-view-version', 'view-version-id': -1 },
  ],
});

describe('views', () => {
  const ns = `views_${uniq()}`;
  const other = `views_${uniq()}`;

  beforeAll(async () => {
    for (const n of [ns, other]) expect((await rest('POST', '/v1/namespaces', { body: { namespace: [n], properties: null } })).status).toBe(200);
  });

  afterAll(async () => {
    for (const n of [ns, other]) {
      for (const t of (await rest('GET', `/v1/namespaces/${n}/tables`)).body.identifiers ?? []) await javaDelete(`/v1/namespaces/${n}/tables/${t.name}`);
      for (const v of (await rest('GET', `/v1/namespaces/${n}/views`)).body.identifiers ?? []) await javaDelete(`/v1/namespaces/${n}/views/${v.name}`);
      await javaDelete(`/v1/namespaces/${n}`);
      const leftovers = await writerStore.listObjects(lakeBucket(), `${n}/`);
      await writerStore.removeObjects(lakeBucket(), leftovers.map((o) => o.key));
    }
  }, 60_000);

  it('create, HEAD, load, replace (version 2, schema 1), rename across namespaces and drop; metadata files in the warehouse', async () => {
    const created = await rest('POST', `/v1/namespaces/${ns}/views`, { body: javaCreateView('v') });
    expect(created.status).toBe(200);
    const view = viewOf(created);
    expect(view.metadata).toMatchObject({ location: `s3://${lakeBucket()}/${ns}/v`, 'current-version-id': 1, properties: { prop1: 'val1' } });
    expect(view.metadata?.schemas.map((s) => s['schema-id'])).toEqual([0]);
    expect(view.metadata?.versions[0]).toMatchObject({ 'version-id': 1, 'schema-id': 0, representations: [{ sql: 'select * from ns.tbl', dialect: 'spark' }] });
    expect(view['metadata-location']).toBe(`s3://${lakeBucket()}/${ns}/v/metadata/v1.metadata.json`);
    expect(await objectsUnder(`s3://${lakeBucket()}/${ns}/v`)).toEqual([`${ns}/v/metadata/v1.metadata.json`]);
    expect((await rest('HEAD', `/v1/namespaces/${ns}/views/v`)).status).toBe(204);
    expect(viewOf(await rest('GET', `/v1/namespaces/${ns}/views/v`)).metadata).toEqual(view.metadata);

    const replaced = await rest('POST', `/v1/namespaces/${ns}/views/v`, { body: javaReplaceView(view.metadata!['view-uuid'], 'select count(*) from ns.tbl') });
    expect(replaced.status).toBe(200);
    expect(viewOf(replaced).metadata).toMatchObject({ 'current-version-id': 2, 'version-log': [{ 'version-id': 1 }, { 'version-id': 2 }] });
    expect(viewOf(replaced).metadata?.versions[1]).toMatchObject({ 'version-id': 2, 'schema-id': 1 });
    expect(viewOf(replaced)['metadata-location']).toBe(`s3://${lakeBucket()}/${ns}/v/metadata/v2.metadata.json`);
    const props = await rest('POST', `/v1/namespaces/${ns}/views/v`, { body: { requirements: null, updates: [{ action: 'set-properties', updates: { k: 'x' } }, { action: 'remove-properties', removals: ['prop1', 'absent'] }] } });
    expect(viewOf(props).metadata?.properties).toEqual({ k: 'x' });
    expect(viewOf(props).metadata?.versions).toHaveLength(2);

    expect((await rest('POST', '/v1/views/rename', { body: { source: { namespace: [ns], name: 'v' }, destination: { namespace: [other], name: 'moved' } } })).status).toBe(204);
    expect((await rest('HEAD', `/v1/namespaces/${ns}/views/v`)).status).toBe(404);
    const moved = viewOf(await rest('GET', `/v1/namespaces/${other}/views/moved`));
    expect(moved.metadata?.['view-uuid']).toBe(view.metadata?.['view-uuid']);
    expect(moved.metadata?.location).toBe(`s3://${lakeBucket()}/${ns}/v`); // the entry moves, the files stay
    expect(await javaDelete(`/v1/namespaces/${other}/views/moved`)).toBe(204);
    expect(await javaDelete(`/v1/namespaces/${other}/views/moved`)).toBe(404);
    // The name is free again; the dropped view's files still sit at the default location, so a new one goes beside it.
    const again = viewOf(await rest('POST', `/v1/namespaces/${ns}/views`, { body: javaCreateView('v') }));
    expect(again.metadata?.location).toMatch(new RegExp(`^s3://${lakeBucket()}/${ns}/v-[0-9a-f]{32}$`));
    expect(await javaDelete(`/v1/namespaces/${ns}/views/v`)).toBe(204);
  });

  it('tables and views share one identifier space, in Iceberg\'s words', async () => {
    expect((await rest('POST', `/v1/namespaces/${ns}/tables`, { body: javaCreate('t') })).status).toBe(200);
    expect((await rest('POST', `/v1/namespaces/${ns}/views`, { body: javaCreateView('w') })).status).toBe(200);
    const viewOverTable = await rest('POST', `/v1/namespaces/${ns}/views`, { body: javaCreateView('t') });
    expect(viewOverTable.body.error).toEqual({ type: 'AlreadyExistsException', code: 409, message: `Table with same name already exists: ${ns}.t` });
    const tableOverView = await rest('POST', `/v1/namespaces/${ns}/tables`, { body: javaCreate('w') });
    expect(tableOverView.body.error).toEqual({ type: 'AlreadyExistsException', code: 409, message: `View with same name already exists: ${ns}.w` });
    const dupView = await rest('POST', `/v1/namespaces/${ns}/views`, { body: javaCreateView('w') });
    expect(dupView.body.error).toEqual({ type: 'AlreadyExistsException', code: 409, message: `View already exists: ${ns}.w` });
    const renameOntoView = await rest('POST', '/v1/tables/rename', { body: { source: { namespace: [ns], name: 't' }, destination: { namespace: [ns], name: 'w' } } });
    expect(renameOntoView.body.error).toEqual({ type: 'AlreadyExistsException', code: 409, message: `Cannot rename ${ns}.t to ${ns}.w. View already exists` });
    const renameOntoTable = await rest('POST', '/v1/views/rename', { body: { source: { namespace: [ns], name: 'w' }, destination: { namespace: [ns], name: 't' } } });
    expect(renameOntoTable.body.error).toEqual({ type: 'AlreadyExistsException', code: 409, message: `Cannot rename ${ns}.w to ${ns}.t. Table already exists` });
    // Each kind is invisible to the other's routes.
    expect((await rest('GET', `/v1/namespaces/${ns}/views/t`)).body.error).toMatchObject({ type: 'NoSuchViewException', message: `View does not exist: ${ns}.t` });
    expect((await rest('GET', `/v1/namespaces/${ns}/tables/w`)).body.error).toMatchObject({ type: 'NoSuchTableException', message: `Table does not exist: ${ns}.w` });
    expect(await javaDelete(`/v1/namespaces/${ns}/tables/w`)).toBe(404);
    expect(await javaDelete(`/v1/namespaces/${ns}/views/t`)).toBe(404);
    expect((await rest('GET', `/v1/namespaces/${ns}/views`)).body.identifiers).toEqual([{ namespace: [ns], name: 'w' }]);
    expect((await rest('GET', `/v1/namespaces/${ns}/tables`)).body.identifiers).toEqual([{ namespace: [ns], name: 't' }]);
    // A namespace holding only a view is not empty.
    expect(await javaDelete(`/v1/namespaces/${ns}/tables/t`)).toBe(204);
    expect((await rest('DELETE', `/v1/namespaces/${ns}`)).body.error).toMatchObject({ type: 'NamespaceNotEmptyException', code: 409 });
    expect(await javaDelete(`/v1/namespaces/${ns}/views/w`)).toBe(204);
  });

  it('bad input: malformed bodies, unknown update and requirement types, a stale uuid, a foreign location; nothing is written', async () => {
    const created = viewOf(await rest('POST', `/v1/namespaces/${ns}/views`, { body: javaCreateView('b', 'select 1', 'trino') }));
    const uuid = created.metadata!['view-uuid'];
    const before = await objectsUnder(`s3://${lakeBucket()}/${ns}/b`);
    const creates: Array<{ raw?: string; body?: unknown }> = [
      { raw: '' },
      { raw: '{"name": "x",' },
      { body: { ...javaCreateView('x'), 'view-version': null } },
      { body: { ...javaCreateView('x'), schema: { type: 'struct', fields: [{ id: 1, name: 'a', type: 'no-such-type', required: true }] } } },
      { body: { ...javaCreateView('x'), location: 's3://another-bucket/x' } },
      { body: { ...javaCreateView('x'), properties: { 'write.metadata.path': `s3://${lakeBucket()}/raw/x` } } },
      { body: { ...javaCreateView('x'), 'view-version': { ...(javaCreateView('x')['view-version'] as object), representations: [] } } },
    ];
    for (const c of creates) {
      const res = await rest('POST', `/v1/namespaces/${ns}/views`, c);
      expect(res.status, JSON.stringify(c)).toBe(400);
      expect(res.body.error?.code).toBe(400);
    }
    const twoTrino = { ...javaCreateView('x'), 'view-version': { ...(javaCreateView('x')['view-version'] as object), representations: [{ type: 'sql', sql: 'a', dialect: 'trino' }, { type: 'sql', sql: 'b', dialect: 'trino' }] } };
    expect((await rest('POST', `/v1/namespaces/${ns}/views`, { body: twoTrino })).body.error).toEqual({
      type: 'IllegalArgumentException',
      code: 400,
      message: 'Invalid view version: Cannot add multiple queries for dialect trino',
    });
    expect((await rest('HEAD', `/v1/namespaces/${ns}/views/x`)).status).toBe(404);

    const commits: Array<{ body: unknown; status: number; type: string }> = [
      { body: { updates: [{ action: 'add-snapshot', snapshot: {} }] }, status: 400, type: 'BadRequestException' },
      { body: { requirements: [{ type: 'assert-table-uuid', uuid }], updates: [] }, status: 400, type: 'BadRequestException' },
      { body: { updates: [{ action: 'set-location', location: `s3://${lakeBucket()}/${other}/elsewhere` }] }, status: 400, type: 'BadRequestException' },
      { body: { updates: [{ action: 'set-properties', updates: { k: null } }] }, status: 400, type: 'BadRequestException' },
      { body: { updates: [{ action: 'upgrade-format-version', 'format-version': 2 }] }, status: 400, type: 'BadRequestException' },
      // A replace that drops the view's only dialect without replace.drop-dialect.allowed.
      { body: javaReplaceView(uuid, 'select 2', 'spark'), status: 400, type: 'BadRequestException' },
      { body: javaReplaceView('00000000-0000-4000-8000-000000000000', 'select 2', 'trino'), status: 409, type: 'CommitFailedException' },
      { body: { updates: null }, status: 400, type: 'BadRequestException' },
    ];
    for (const c of commits) {
      const res = await rest('POST', `/v1/namespaces/${ns}/views/b`, { body: c.body });
      expect(res.status, JSON.stringify(c.body)).toBe(c.status);
      expect(res.body.error?.type).toBe(c.type);
    }
    // Nothing was written: still v1 only, and the view is as created.
    expect(await objectsUnder(`s3://${lakeBucket()}/${ns}/b`)).toEqual(before);
    expect(viewOf(await rest('GET', `/v1/namespaces/${ns}/views/b`)).metadata).toEqual(created.metadata);
    // Committing to a view that is gone is NoSuchViewException, before any update is looked at.
    expect((await rest('POST', `/v1/namespaces/${ns}/views/gone`, { body: { updates: [{ action: 'set-location', location: 'new-location' }] } })).body.error).toMatchObject({ type: 'NoSuchViewException', code: 404 });
    // Views live in namespaces the catalog created, not in the writers' raw/published.
    expect((await rest('POST', '/v1/namespaces/raw/views', { body: javaCreateView('x') })).body.error).toMatchObject({ type: 'ForbiddenException', code: 403 });
    expect(await javaDelete(`/v1/namespaces/${ns}/views/b`)).toBe(204);
  });

  it('lists page like tables; a token is bound to its listing', async () => {
    for (const n of ['p1', 'p2', 'p3']) expect((await rest('POST', `/v1/namespaces/${other}/views`, { body: javaCreateView(n) })).status).toBe(200);
    const first = await rest('GET', `/v1/namespaces/${other}/views?pageToken=&pageSize=2`);
    expect(first.body.identifiers?.map((i) => i.name)).toEqual(['p1', 'p2']);
    const token = first.body['next-page-token']!;
    const second = await rest('GET', `/v1/namespaces/${other}/views?pageToken=${encodeURIComponent(token)}&pageSize=2`);
    expect(second.body.identifiers?.map((i) => i.name)).toEqual(['p3']);
    expect(second.body['next-page-token']).toBeNull();
    // The same token on the tables listing of the namespace, or altered, is refused.
    expect((await rest('GET', `/v1/namespaces/${other}/tables?pageToken=${encodeURIComponent(token)}`)).status).toBe(400);
    expect((await rest('GET', `/v1/namespaces/${other}/views?pageToken=${encodeURIComponent(`${token}x`)}`)).status).toBe(400);
    expect((await rest('GET', `/v1/namespaces/${other}/views`)).body).toEqual({ identifiers: ['p1', 'p2', 'p3'].map((name) => ({ namespace: [other], name })) });
  });
});

describe('table creation: sort orders and format versions', () => {
  const ns = `sorted_${uniq()}`;

  beforeAll(async () => {
    expect((await rest('POST', '/v1/namespaces', { body: { namespace: [ns] } })).status).toBe(200);
  });

  afterAll(async () => {
    for (const t of (await rest('GET', `/v1/namespaces/${ns}/tables`)).body.identifiers ?? []) await javaDelete(`/v1/namespaces/${ns}/tables/${t.name}`);
    await javaDelete(`/v1/namespaces/${ns}`);
    const leftovers = await writerStore.listObjects(lakeBucket(), `${ns}/`);
    await writerStore.removeObjects(lakeBucket(), leftovers.map((o) => o.key));
  }, 60_000);

  it('a write order becomes sort order 1 over the fresh column ids; a bad one or another format version is refused, nothing created', async () => {
    const body = { ...javaCreate('s'), schema: { ...SCHEMA, fields: SCHEMA.fields.map((f) => ({ ...f, id: f.id + 10 })) }, 'write-order': { 'order-id': 1, fields: [{ transform: 'identity', 'source-id': 12, direction: 'asc', 'null-order': 'nulls-first' }] } };
    const created = await rest('POST', `/v1/namespaces/${ns}/tables`, { body });
    expect(created.status).toBe(200);
    const md = created.body.metadata as unknown as { 'sort-orders': unknown[]; 'default-sort-order-id': number };
    expect(md['default-sort-order-id']).toBe(1);
    expect(md['sort-orders']).toEqual([{ 'order-id': 0, fields: [] }, { 'order-id': 1, fields: [{ transform: 'identity', 'source-id': 2, direction: 'asc', 'null-order': 'nulls-first' }] }]);
    const badSource = await rest('POST', `/v1/namespaces/${ns}/tables`, { body: { ...body, name: 'bad', 'write-order': { fields: [{ transform: 'identity', 'source-id': 99, direction: 'asc', 'null-order': 'nulls-first' }] } } });
    expect(badSource.body.error).toMatchObject({ type: 'BadRequestException', code: 400 });
    const badDirection = await rest('POST', `/v1/namespaces/${ns}/tables`, { body: { ...body, name: 'bad', 'write-order': { fields: [{ transform: 'identity', 'source-id': 12, direction: 'up', 'null-order': 'nulls-first' }] } } });
    expect(badDirection.body.error).toMatchObject({ type: 'BadRequestException', code: 400 });
    const v1 = await rest('POST', `/v1/namespaces/${ns}/tables`, { body: { ...javaCreate('v1'), properties: { 'format-version': '1' } } });
    expect(v1.body.error).toEqual({ type: 'UnsupportedOperationException', code: 406, message: 'format version 1 is not supported; tables are format version 2' });
    expect((await rest('GET', `/v1/namespaces/${ns}/tables`)).body.identifiers).toEqual([{ namespace: [ns], name: 's' }]);
    expect(await objectsUnder(`s3://${lakeBucket()}/${ns}/bad`)).toEqual([]);
  });
});
