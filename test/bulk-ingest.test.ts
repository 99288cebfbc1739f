// Bulk ingest over S3 (SPEC §4) against the real stack: a provider's scoped key, files written by independent tools
// (Python csv/gzip/bz2/zipfile, pyarrow for Parquet and ORC, fastavro) put with that key, loaded with exact rows and values into the raw
// and published tables; bad files rejected with their reason and nothing of them in any table; notifications
// announced twice ingest once; a file no notification announced is found by the reconciler.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Duck, ident, literal } from '@atoll/duck';
import { loadTable, planFiles, type TableIdentifier } from '@atoll/iceberg';
import { publishedTableId, rawTableId, type Lake } from '@atoll/lake';
import { redisConnection } from '@atoll/queue';
import { clientFor, isAccessDenied, ObjectStore } from '@atoll/storage';
import { ensureServices, paths, waitUntil, type AtollHttp } from '@atoll/stack';
import { env, newProvider, operator, uniq } from './support/actors.js';
import { lakeFixture, queryTable, type LakeFixture } from './support/lake-helpers.js';

interface BulkCredentials {
  endpoint: string;
  region: string;
  bucket: string;
  prefix: string;
  accessKeyId: string;
  secretAccessKey: string;
  expiresAt: string;
}

interface Ingest {
  id: string;
  table: string;
  source: string;
  file: string | null;
  status: 'pending' | 'loaded' | 'rejected';
  records: number | null;
  rowsRead: number | null;
  maskedValues: number | null;
  rowsQuarantined?: number | null;
  reason: string | null;
}

interface Expected {
  rows: number;
  amountSum: string;
  timestamps: string[];
  qtys: number[];
}

const here = join(import.meta.dirname, 'support', 'bulk');
const STAGING = env.ATOLL_BUCKET_STAGING ?? 'atoll-staging';
const LAKE = env.ATOLL_BUCKET_LAKE ?? 'atoll-lake';

let op: AtollHttp;
let provider: { id: string; http: AtollHttp };
let other: { id: string; http: AtollHttp };
let dataset: string;
let creds: BulkCredentials;
let key: ObjectStore;
let corpus: string;
let expected: Record<string, Expected>;
let fx: LakeFixture;

const storeFor = (c: BulkCredentials): ObjectStore => new ObjectStore({ endpoint: c.endpoint, region: c.region, accessKey: c.accessKeyId, secretKey: c.secretAccessKey });
const root = (): ObjectStore => new ObjectStore({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey: env.ATOLL_S3_ROOT_USER!, secretKey: env.ATOLL_S3_ROOT_PASSWORD! });

/** The multipart uploads in progress under a prefix, as an S3 client lists them before resuming one. */
async function incompleteUploads(store: ObjectStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const u of store.client.listIncompleteUploads(STAGING, prefix, true)) keys.push((u as { key: string }).key);
  return keys;
}

async function denied(what: string, p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(isAccessDenied(e), `${what}: expected AccessDenied, got ${String((e as { code?: string }).code)}`).toBe(true);
    return;
  }
  throw new Error(`${what}: the request was allowed`);
}

function run(cmd: string, args: string[]): string {
  const res = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${res.stderr}`);
  return res.stdout.trim();
}

async function ingests(http: AtollHttp, query = ''): Promise<Ingest[]> {
  return (await http.call<{ ingests: Ingest[] }>('GET', `/v1/ingests?limit=500${query}`)).ingests;
}

/** The bulk file's report row once it left `pending`. */
/** The purchases schema every corpus file follows (test/support/bulk/corpus_rows.py). */
const PURCHASE_COLUMNS = [
  { name: 'user_id', type: 'string', role: 'user_id' },
  { name: 'amount', type: 'decimal(12,2)' },
  { name: 'qty', type: 'long' },
  { name: 'ok', type: 'boolean' },
  { name: 'day', type: 'date' },
  { name: 'at', type: 'timestamp', role: 'event_time' },
  { name: 'note', type: 'string' },
];

const CRASH_ROUNDS = 20;
const crashSeed = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
let crashState = crashSeed;
const crashRand = (): number => (crashState = (crashState * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;

let python: string;

async function settled(file: string, timeoutMs = 90_000): Promise<Ingest> {
  return waitUntil(`ingest of ${file} settled`, async () => (await ingests(provider.http)).find((i) => i.file === file && i.status !== 'pending'), timeoutMs);
}

interface TableRead {
  rows: number;
  amountSum: string | null;
  timestamps: string[];
  qtys: number[];
  columns: string[];
}

/** Every live row of a table, read independently: its data files downloaded and read by DuckDB. */
async function readRows(lake: Lake, id: TableIdentifier): Promise<TableRead> {
  let table;
  try {
    table = await loadTable({ io: lake.io, catalog: lake.catalog, id });
  } catch {
    return { rows: 0, amountSum: null, timestamps: [], qtys: [], columns: [] };
  }
  const files = await planFiles({ io: lake.io, metadata: table.metadata });
  if (files.length === 0) return { rows: 0, amountSum: null, timestamps: [], qtys: [], columns: [] };
  const locals = await lake.localCopies(files);
  const duck = await Duck.open({ threads: 1, memoryLimit: '256MB', tempDirectory: join(fx.workDir, 'tmp') });
  try {
    const source = `read_parquet([${locals.map(literal).join(', ')}])`;
    const columns = (await duck.all<{ column_name: string }>(`DESCRIBE SELECT * FROM ${source}`)).map((c) => c.column_name);
    const [agg] = await duck.all<{ n: bigint; s: string | null }>(`SELECT count(*) AS n, CAST(sum(amount) AS VARCHAR) AS s FROM ${source}`);
    const ts = await duck.all<{ t: string; q: bigint }>(`SELECT strftime(${ident('at')}, '%Y-%m-%dT%H:%M:%S.%fZ') AS t, qty AS q FROM ${source}`);
    return { rows: Number(agg!.n), amountSum: agg!.s, timestamps: ts.map((r) => r.t).sort(), qtys: ts.map((r) => Number(r.q)).sort((a, b) => a - b), columns };
  } finally {
    duck.close();
  }
}

/** Rows of the provider's raw purchases table (as the view `rows`) for a query, read independently with DuckDB. */
async function rawRows<T>(sql: string): Promise<T[]> {
  return tableRows<T>(rawTableId(provider.id, 'purchases'), sql);
}

async function tableRows<T>(id: TableIdentifier, sql: string): Promise<T[]> {
  return queryTable<T>(fx.lake, id, fx.workDir, sql);
}

function sumDecimals(values: string[]): string {
  const cents = values.reduce((acc, v) => acc + BigInt(v.replace('.', '')), 0n);
  const neg = cents < 0n;
  const digits = (neg ? -cents : cents).toString().padStart(3, '0');
  return `${neg ? '-' : ''}${digits.slice(0, -2)}.${digits.slice(-2)}`;
}

beforeAll(async () => {
  corpus = join(tmpdir(), `atoll-bulk-corpus-${randomUUID()}`);
  await mkdir(corpus, { recursive: true });
  const ensureVenv = join(import.meta.dirname, '..', 'packages', 'iceberg', 'interop', 'ensure-venv.mjs');
  python = run(process.execPath, [ensureVenv, 'bulk-corpus']);
  run(python, [join(here, 'make_corpus.py'), corpus]);
  // Spark's own Parquet (INT96 timestamps) and ORC writers add their files (stock PySpark, no catalog, local[1]).
  const sparkPython = run(process.execPath, [ensureVenv, 'spark']);
  const spark = spawnSync(sparkPython, [join(here, 'spark_corpus.py'), corpus], { encoding: 'utf8', env: { ...process.env, PYSPARK_PYTHON: sparkPython }, maxBuffer: 16 * 1024 * 1024 });
  if (spark.status !== 0) throw new Error(`spark_corpus.py failed: ${spark.stderr.slice(-4000)}`);
  expected = JSON.parse(await readFile(join(corpus, 'expected.json'), 'utf8')) as Record<string, Expected>;

  fx = await lakeFixture({ poolSize: 4 });
  op = await operator();
  provider = await newProvider(op);
  other = await newProvider(op);
  dataset = `bulk_purchases_${uniq()}`;
  const schema = await provider.http.call<{ id: string }>('POST', '/v1/schemas', {
    body: {
      table: 'purchases',
      dataset,
      columns: PURCHASE_COLUMNS,
    },
  });
  await op.call('POST', `/v1/schemas/${schema.id}/approve`);
  creds = await provider.http.call<BulkCredentials>('POST', '/v1/bulk-credentials');
  key = storeFor(creds);
}, 600_000);

afterAll(async () => {
  await rm(corpus, { recursive: true, force: true });
  await fx?.[Symbol.asyncDispose]();
});

describe('bulk credentials', () => {
  it('hand out a key that puts, lists and reads only under the provider prefix', async () => {
    expect(creds).toMatchObject({ bucket: STAGING, prefix: `${provider.id}/`, endpoint: env.ATOLL_S3_ENDPOINT, region: env.ATOLL_S3_REGION });
    expect(creds.accessKeyId).toMatch(/^[A-Z0-9]{16,40}$/);
    expect(new Date(creds.expiresAt).getTime()).toBeGreaterThan(Date.now() + 24 * 3600 * 1000);

    const own = `${provider.id}/scratch_${uniq()}/hello.txt`;
    await key.putObject(STAGING, own, 'hello');
    expect((await key.getObject(STAGING, own)).toString()).toBe('hello');
    expect((await key.listObjects(STAGING, `${provider.id}/`)).map((o) => o.key)).toContain(own);
    await root().removeObject(STAGING, own);

    await denied('put into another provider prefix', key.putObject(STAGING, `${other.id}/purchases/x.csv`, 'x'));
    await denied('list another provider prefix', key.listObjects(STAGING, `${other.id}/`));
    await denied('list the whole staging bucket', key.listObjects(STAGING, ''));
    await denied('put outside any provider prefix', key.putObject(STAGING, 'loose.csv', 'x'));
    await denied('list the lake', key.listObjects(LAKE, ''));
    await denied('put into the lake', key.putObject(LAKE, 'raw/x.parquet', 'x'));
    await denied('read the lake', key.getObject(LAKE, 'raw/anything'));
    await denied('list the license archive', key.listObjects(env.ATOLL_BUCKET_LICENSES ?? 'atoll-licenses', ''));
    await denied('list a cleanroom bucket', key.listObjects(`atoll-cr-${uniq()}`, ''));
    await denied('put into a cleanroom bucket', key.putObject(`atoll-cr-${uniq()}`, 'x', 'x'));
  });

  it('loads a file put in parts (boto3 multipart) with the scoped key, and hides other providers\' uploads in progress', async () => {
    const file = join(corpus, 'big.csv');
    const rows = 1_000_000;
    const out = createWriteStream(file);
    out.write('user_id,amount,qty,ok,day,at,note\n');
    for (let i = 0; i < rows; i++) {
      if (!out.write(`user-big-${i % 1000},${(i % 10_000) / 100},${5_000_000 + i},${i % 2 === 0},2026-02-01,2026-02-01T00:00:00Z,some free text for row ${i}\n`)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    expect((await stat(file)).size).toBeGreaterThan(64 * 1024 * 1024);
    // A table of its own: the format test below counts every row of purchases.
    const schema = await provider.http.call<{ id: string }>('POST', '/v1/schemas', {
      body: { table: 'purchases_big', dataset: `bulk_big_${uniq()}`, columns: PURCHASE_COLUMNS },
    });
    await op.call('POST', `/v1/schemas/${schema.id}/approve`);
    const name = `purchases_big/${uniq()}.csv`;
    // boto3, as a provider's backend would run it: a multipart upload (8 MiB parts) with the scoped key.
    const script = [
      'import os, sys, boto3',
      'from boto3.s3.transfer import TransferConfig',
      'from botocore.config import Config',
      's3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], region_name=os.environ["S3_REGION"], config=Config(s3={"addressing_style": "path"}))',
      's3.upload_file(sys.argv[1], sys.argv[2], sys.argv[3], Config=TransferConfig(multipart_threshold=8 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024))',
    ].join('\n');
    // The key goes in the environment, as boto3 reads it, never on a command line an error could print.
    const put = spawnSync(python, ['-c', script, file, STAGING, `${provider.id}/${name}`], {
      encoding: 'utf8',
      env: { ...process.env, S3_ENDPOINT: creds.endpoint, S3_REGION: creds.region, AWS_ACCESS_KEY_ID: creds.accessKeyId, AWS_SECRET_ACCESS_KEY: creds.secretAccessKey },
    });
    expect(put.status, put.stderr).toBe(0);
    const report = await settled(name, 240_000);
    expect(report).toMatchObject({ status: 'loaded', records: rows, rowsRead: rows });
    const [loaded] = await tableRows<{ n: bigint }>(rawTableId(provider.id, 'purchases_big'), 'SELECT count(*) AS n FROM rows WHERE qty BETWEEN 5000000 AND 5999999');
    expect(Number(loaded!.n)).toBe(rows);
    await denied("list another provider's uploads in progress", incompleteUploads(key, `${other.id}/`));
  }, 300_000);

  it('rotate (earlier keys live until expiry or revocation) and revoke at once; another provider cannot revoke', async () => {
    const first = await provider.http.call<BulkCredentials>('POST', '/v1/bulk-credentials', { body: { ttlSeconds: 3600 } });
    const second = await provider.http.call<BulkCredentials>('POST', '/v1/bulk-credentials');
    expect(second.accessKeyId).not.toBe(first.accessKeyId);
    expect(new Date(first.expiresAt).getTime()).toBeLessThan(Date.now() + 3601 * 1000);
    const probe = `${provider.id}/scratch_${uniq()}/probe.txt`;
    await storeFor(first).putObject(STAGING, probe, 'one');
    await storeFor(second).putObject(STAGING, probe, 'two');

    expect((await other.http.raw('DELETE', `/v1/bulk-credentials/${first.accessKeyId}`)).status).toBe(404);
    expect((await provider.http.raw('DELETE', `/v1/bulk-credentials/${first.accessKeyId}`)).status).toBe(204);
    let refused = '';
    try {
      await storeFor(first).putObject(STAGING, probe, 'three');
    } catch (e) {
      refused = String((e as { code?: string }).code);
    }
    expect(refused).toMatch(/InvalidAccessKeyId|AccessDenied/);
    expect((await storeFor(second).getObject(STAGING, probe)).toString()).toBe('two');
    // Revoking again is harmless.
    expect((await provider.http.raw('DELETE', `/v1/bulk-credentials/${first.accessKeyId}`)).status).toBe(204);
    expect((await provider.http.raw('POST', '/v1/bulk-credentials', { body: { ttlSeconds: 10 } })).status).toBe(400);
    await root().removeObject(STAGING, probe);
  });
});

describe('bulk files', () => {
  it('load in every format and compression with exact rows, decimal sums and microsecond timestamps', async () => {
    const names = Object.keys(expected);
    await Promise.all(names.map((name) => key.putFile(STAGING, `${provider.id}/purchases/2026-11-30/${name}`, join(corpus, 'good', name))));
    for (const name of names) {
      const report = await settled(`purchases/2026-11-30/${name}`);
      expect({ name, status: report.status, reason: report.reason }).toEqual({ name, status: 'loaded', reason: null });
      expect(report.records).toBe(expected[name]!.rows);
      expect(report.rowsRead).toBe(expected[name]!.rows);
      expect(report.source).toBe('bulk');
    }
    const all = Object.values(expected);
    const total = all.reduce((n, e) => n + e.rows, 0);
    const raw = await readRows(fx.lake, rawTableId(provider.id, 'purchases'));
    expect(raw.rows).toBe(total);
    expect(raw.amountSum).toBe(sumDecimals(all.map((e) => e.amountSum)));
    expect(raw.timestamps).toEqual(all.flatMap((e) => e.timestamps).sort());
    expect(raw.qtys).toEqual(all.flatMap((e) => e.qtys).sort((a, b) => a - b));

    // Published: the same rows, the pseudonym instead of the provider's user id.
    const published = await waitUntil('published rows', async () => {
      const p = await readRows(fx.lake, publishedTableId(dataset));
      return p.rows === total ? p : null;
    }, 90_000);
    expect(published.amountSum).toBe(raw.amountSum);
    expect(published.timestamps).toEqual(raw.timestamps);
    expect(published.columns).toContain('tid');
    expect(published.columns).not.toContain('user_id');
    // A loaded file leaves staging.
    expect(await key.listObjects(STAGING, `${provider.id}/purchases/2026-11-30/`)).toEqual([]);
  }, 150_000);

  it('rejects each bad file with its reason in the report, and nothing of it reaches any table', async () => {
    const before = await readRows(fx.lake, rawTableId(provider.id, 'purchases'));
    const cases: Array<{ file: string; key: string; reason: RegExp }> = [
      { file: 'unbalanced_quote.csv', key: 'purchases/bad/unbalanced_quote.csv', reason: /line 7.*unterminated quote/ },
      { file: 'wrong_type.csv', key: 'purchases/bad/wrong_type.csv', reason: /line 4, column qty: Could not convert a value to 'BIGINT'/ },
      { file: 'bad_timestamp.csv', key: 'purchases/bad/bad_timestamp.csv', reason: /line 7, column at: expects a timestamp/ },
      { file: 'invalid_utf8.csv', key: 'purchases/bad/invalid_utf8.csv', reason: /line 7: Invalid unicode.*not utf-8/i },
      { file: 'missing_column.csv', key: 'purchases/bad/missing_column.csv', reason: /line 1: missing column qty/ },
      { file: 'empty.csv', key: 'purchases/bad/empty.csv', reason: /the file is empty/ },
      { file: 'truncated.parquet', key: 'purchases/bad/truncated.parquet', reason: /not a readable Parquet file/ },
      { file: 'corrupt.csv.gz', key: 'purchases/bad/corrupt.csv.gz', reason: /not a readable gzip stream/ },
      { file: 'climb.csv.zip', key: 'purchases/bad/climb.csv.zip', reason: /not a readable zip archive: invalid relative path/ },
      { file: 'two_files.csv.zip', key: 'purchases/bad/two_files.csv.zip', reason: /a \.zip must hold exactly one file; this one holds 2/ },
      { file: 'claims.orc', key: 'purchases/bad/claims.orc', reason: /^not a readable ORC file: its structure is not valid ORC$/ },
      { file: 'truncated.orc', key: 'purchases/bad/truncated.orc', reason: /^not a readable ORC file: / },
      { file: 'wrong_type.orc', key: 'purchases/bad/wrong_type.orc', reason: /row 3, column qty: expects a long/ },
      { file: 'nanos.orc', key: 'purchases/bad/nanos.orc', reason: /row 4, column at: expects a timestamp to the microsecond/ },
      { file: 'corrupt.avro', key: 'purchases/bad/corrupt.avro', reason: /not a readable Avro file/ },
      { file: 'bomb.csv.gz', key: 'purchases/bad/bomb.csv.gz', reason: /inflates more than 200 times its compressed size/ },
      { file: 'unknown_table.csv', key: 'nosuchtable/unknown_table.csv', reason: /table nosuchtable has no approved schema/ },
      { file: 'loose.csv', key: 'loose.csv', reason: /loose\.csv is outside a table folder/ },
    ];
    await Promise.all(cases.map((c) => key.putFile(STAGING, `${provider.id}/${c.key}`, join(corpus, 'bad', c.file))));
    for (const c of cases) {
      const report = await settled(c.key);
      expect({ file: c.file, status: report.status }).toEqual({ file: c.file, status: 'rejected' });
      expect(report.reason, c.file).toMatch(c.reason);
      // The reason never echoes the bad value itself.
      expect(report.reason, c.file).not.toMatch(/three|yesterday at noon/);
      // Nor a path on the writer's disk.
      expect(report.reason, c.file).not.toMatch(/\/(tmp|root|var|work)\//);
    }
    const rejected = await ingests(provider.http, '&status=rejected');
    expect(rejected.length).toBeGreaterThanOrEqual(cases.length);
    expect((await ingests(provider.http, '&table=nosuchtable')).map((i) => i.file)).toEqual(['nosuchtable/unknown_table.csv']);

    const after = await readRows(fx.lake, rawTableId(provider.id, 'purchases'));
    expect(after.rows).toBe(before.rows);
    expect(after.amountSum).toBe(before.amountSum);
    // A bad file never blocks its table: a good one put after them still loads.
    const good = 'purchases/after-bad/purchases.csv';
    await key.putFile(STAGING, `${provider.id}/${good}`, join(corpus, 'good', 'purchases.csv'));
    expect((await settled(good)).status).toBe('loaded');
    expect((await readRows(fx.lake, rawTableId(provider.id, 'purchases'))).rows).toBe(before.rows + expected['purchases.csv']!.rows);
  }, 150_000);

  it('ingests an object once however often it is announced, and finds one no notification announced', async () => {
    const redis = redisConnection(env.ATOLL_REDIS_URL!);
    const admin = clientFor({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey: env.ATOLL_S3_ROOT_USER!, secretKey: env.ATOLL_S3_ROOT_PASSWORD! });
    const notification = (await admin.getBucketNotification(STAGING)) as { QueueConfiguration?: Array<{ Queue?: string }> };
    const arn = notification.QueueConfiguration?.[0]?.Queue;
    // SeaweedFS has no notification target (docs/storage.md): staging has none, and the reconciler alone finds files.
    const notifies = (env.ATOLL_STORAGE ?? 'minio') === 'minio';
    if (notifies) expect(arn).toMatch(/^arn:minio:sqs:/);
    else expect(arn).toBeUndefined();
    try {
      const id = rawTableId(provider.id, 'purchases');
      const start = (await readRows(fx.lake, id)).rows;
      const once = `purchases/dup/${uniq()}.csv`;
      const put = await key.putFile(STAGING, `${provider.id}/${once}`, join(corpus, 'good', 'purchases.csv'));
      expect((await settled(once)).status).toBe('loaded');
      // The same object announced three more times, as MinIO would on a redelivery.
      const event = JSON.stringify([{ Event: [{ eventName: 's3:ObjectCreated:Put', s3: { bucket: { name: STAGING }, object: { key: `${provider.id}/${once}`, size: put.size, eTag: put.etag } } }] }]);
      await redis.rpush(env.ATOLL_BULK_EVENTS_KEY ?? 'atoll:bulk-events', event, event, event);
      await waitUntil('events drained', async () => (await redis.llen(env.ATOLL_BULK_EVENTS_KEY ?? 'atoll:bulk-events')) === 0, 20_000);

      // Notifications off: only the reconciler can find this file.
      if (notifies) await admin.removeAllBucketNotification(STAGING);
      expect(((await admin.getBucketNotification(STAGING)) as { QueueConfiguration?: unknown[] }).QueueConfiguration ?? []).toEqual([]);
      const missed = `purchases/missed/${uniq()}.csv`;
      await key.putFile(STAGING, `${provider.id}/${missed}`, join(corpus, 'good', 'purchases.csv'));
      expect((await settled(missed)).status).toBe('loaded');

      const rows = (await readRows(fx.lake, id)).rows;
      expect(rows).toBe(start + 2 * expected['purchases.csv']!.rows);
      const reports = (await ingests(provider.http)).filter((i) => i.file === once || i.file === missed);
      expect(reports.map((r) => r.status)).toEqual(['loaded', 'loaded']);
    } finally {
      if (notifies) await root().notifyObjectCreated(STAGING, arn!);
      redis.disconnect();
    }
  }, 120_000);

  it('masks emails, IP addresses and phone numbers in free text before publishing, and counts them in the report', async () => {
    const file = join(corpus, 'pii.csv');
    const rows = [
      [910001, 'write to jane.doe@example.com please'],
      [910002, 'seen from 10.0.0.1, call +1 415 555 0100'],
      [910003, 'nothing to hide, 2026-01-02'],
    ] as const;
    await writeFile(file, `user_id,amount,qty,ok,day,at,note\n${rows.map(([q, n]) => `user-pii,1.00,${q},true,2026-01-01,2026-01-01T00:00:00Z,"${n}"`).join('\n')}\n`);
    const name = `purchases/pii/${uniq()}.csv`;
    await key.putFile(STAGING, `${provider.id}/${name}`, file);
    expect((await settled(name)).status).toBe('loaded');
    const report = await waitUntil('masked count', async () => (await ingests(provider.http)).find((i) => i.file === name && i.maskedValues !== null), 60_000);
    // One masked value per row whose note held an identifier (the second row held two, in one value).
    expect(report.maskedValues).toBe(2);
    const published = await waitUntil('published notes', async () => {
      const table = await loadTable({ io: fx.lake.io, catalog: fx.lake.catalog, id: publishedTableId(dataset) });
      const locals = await fx.lake.localCopies(await planFiles({ io: fx.lake.io, metadata: table.metadata }));
      const duck = await Duck.open({ threads: 1, memoryLimit: '256MB', tempDirectory: join(fx.workDir, 'tmp') });
      try {
        const found = await duck.all<{ qty: bigint; note: string }>(`SELECT qty, note FROM read_parquet([${locals.map(literal).join(', ')}]) WHERE qty >= 910001 AND qty <= 910003 ORDER BY qty`);
        return found.length === 3 ? found : null;
      } finally {
        duck.close();
      }
    }, 60_000);
    expect(published.map((r) => r.note)).toEqual(['write to [email] please', 'seen from [ip], call [phone]', 'nothing to hide, 2026-01-02']);
  }, 150_000);

  it('sanitizes every timestamp form to UTC, booleans, padded text and decimals; a value that would round is a rejection', async () => {
    const forms: Array<[string, string]> = [
      ['2026-01-02T03:04:05Z', '2026-01-02T03:04:05.000000Z'],
      ['2026-01-02T03:04:05.123456+02:00', '2026-01-02T01:04:05.123456Z'],
      ['2026-01-02T03:04:05', '2026-01-02T03:04:05.000000Z'],
      ['2026-01-02 03:04:05', '2026-01-02T03:04:05.000000Z'],
      ['1767323045', '2026-01-02T03:04:05.000000Z'],
      ['1767323045123', '2026-01-02T03:04:05.123000Z'],
    ];
    const file = join(corpus, 'forms.csv');
    const lines = forms.map(([at], i) => `user-forms, 1.50 ,${930001 + i},${i % 2 === 0 ? 'yes' : 'N'},2026-01-02,${at},"  padded ${i}  "`);
    await writeFile(file, `user_id,amount,qty,ok,day,at,note\n${lines.join('\n')}\n`);
    const name = `purchases/forms/${uniq()}.csv`;
    await key.putFile(STAGING, `${provider.id}/${name}`, file);
    expect((await settled(name)).status).toBe('loaded');
    const rows = await rawRows<{ q: bigint; t: string; ok: boolean; note: string; amount: string }>(
      `SELECT qty AS q, strftime("at", '%Y-%m-%dT%H:%M:%S.%fZ') AS t, ok, note, CAST(amount AS VARCHAR) AS amount FROM rows WHERE qty BETWEEN 930001 AND 930099 ORDER BY qty`,
    );
    expect(rows.map((r) => r.t)).toEqual(forms.map(([, utc]) => utc));
    expect(rows.map((r) => r.ok)).toEqual(forms.map((_f, i) => i % 2 === 0));
    expect(rows.map((r) => r.note)).toEqual(forms.map((_f, i) => `padded ${i}`));
    expect(new Set(rows.map((r) => r.amount))).toEqual(new Set(['1.50']));

    const rounding = join(corpus, 'rounding.csv');
    await writeFile(rounding, `user_id,amount,qty,ok,day,at,note\nuser-forms,1.50,930101,true,2026-01-02,2026-01-02T00:00:00Z,x\nuser-forms,1.505,930102,true,2026-01-02,2026-01-02T00:00:00Z,x\n`);
    const refused = `purchases/forms/${uniq()}-rounding.csv`;
    await key.putFile(STAGING, `${provider.id}/${refused}`, rounding);
    const report = await settled(refused);
    expect(report.status).toBe('rejected');
    expect(report.reason).toMatch(/line 3, column amount: expects a decimal\(12,2\)/);
    expect(await rawRows(`SELECT qty FROM rows WHERE qty BETWEEN 930101 AND 930102`)).toEqual([]);
  }, 150_000);

  it('publishes a record once across batches: the whole row by default, or the schema\'s record key (first version wins)', async () => {
    // Default (no record key): the same rows re-exported in a later file are not published again.
    const rows = (from: number, n: number, note: string) =>
      Array.from({ length: n }, (_v, i) => `user-dedup-${(from + i) % 3},2.00,${from + i},true,2026-01-03,2026-01-03T00:00:00Z,${note}`).join('\n');
    const first = join(corpus, 'dedup-1.csv');
    const second = join(corpus, 'dedup-2.csv');
    await writeFile(first, `user_id,amount,qty,ok,day,at,note\n${rows(940001, 5, 'x')}\n${rows(940001, 2, 'x')}\n`);
    await writeFile(second, `user_id,amount,qty,ok,day,at,note\n${rows(940001, 5, 'x')}\n${rows(940006, 3, 'x')}\n`);
    for (const [i, file] of [first, second].entries()) {
      const name = `purchases/dedup/${uniq()}-${i}.csv`;
      await key.putFile(STAGING, `${provider.id}/${name}`, file);
      expect((await settled(name)).status).toBe('loaded');
    }
    const published = await waitUntil('second batch published', async () => {
      const found = await tableRows<{ q: bigint }>(publishedTableId(dataset), 'SELECT qty AS q FROM rows WHERE qty BETWEEN 940001 AND 940099 ORDER BY qty');
      return found.length >= 8 ? found : null;
    }, 60_000);
    expect(published.map((r) => Number(r.q))).toEqual([940001, 940002, 940003, 940004, 940005, 940006, 940007, 940008]);
    // The raw table keeps what was sent: 7 + 8 rows.
    expect(await rawRows(`SELECT qty FROM rows WHERE qty BETWEEN 940001 AND 940099`)).toHaveLength(15);

    // A record key: (user, order_id). A changed re-export of an order is the same record; the first version stays.
    const ordersDataset = `bulk_orders_${uniq()}`;
    const schema = await provider.http.call<{ id: string }>('POST', '/v1/schemas', {
      body: {
        table: 'orders',
        dataset: ordersDataset,
        recordKey: ['user_id', 'order_id'],
        columns: [
          { name: 'user_id', type: 'string', role: 'user_id' },
          { name: 'order_id', type: 'long' },
          { name: 'status', type: 'string' },
        ],
      },
    });
    await op.call('POST', `/v1/schemas/${schema.id}/approve`);
    const day1 = join(corpus, 'orders-1.csv');
    const day2 = join(corpus, 'orders-2.csv');
    await writeFile(day1, 'user_id,order_id,status\nu1,1,placed\nu1,2,placed\nu2,1,placed\n');
    await writeFile(day2, 'user_id,order_id,status\nu1,1,shipped\nu2,1,shipped\nu2,2,placed\n');
    for (const [i, file] of [day1, day2].entries()) {
      const name = `orders/${uniq()}-${i}.csv`;
      await key.putFile(STAGING, `${provider.id}/${name}`, file);
      expect((await settled(name)).status).toBe('loaded');
    }
    const orders = await waitUntil('orders published', async () => {
      const found = await tableRows<{ order_id: bigint; status: string }>(publishedTableId(ordersDataset), 'SELECT order_id, status FROM rows ORDER BY tid, order_id').catch(() => []);
      return found.length >= 4 ? found : null;
    }, 60_000);
    expect(orders).toHaveLength(4);
    expect(orders.filter((o) => o.status === 'placed')).toHaveLength(4);
  }, 180_000);

  it('refuses a record key that names a missing or an identity column', async () => {
    const body = (recordKey: string[]) => ({
      table: `keyed_${uniq()}`,
      dataset: `keyed_${uniq()}`,
      recordKey,
      columns: [
        { name: 'user_id', type: 'string', role: 'user_id' },
        { name: 'email', type: 'string', role: 'identity' },
        { name: 'v', type: 'long' },
      ],
    });
    const missing = await provider.http.raw('POST', '/v1/schemas', { body: body(['nope']) });
    expect(missing.status).toBe(400);
    expect(JSON.stringify(missing.body)).toMatch(/recordKey names nope, which is not a column/);
    const identity = await provider.http.raw('POST', '/v1/schemas', { body: body(['email']) });
    expect(identity.status).toBe(400);
    expect(JSON.stringify(identity.body)).toMatch(/identity column email/);
    const format = await provider.http.raw('POST', '/v1/schemas', { body: { ...body(['v']), columns: [{ name: 'user_id', type: 'string', role: 'user_id' }, { name: 'v', type: 'long', format: '%d' }] } });
    expect(format.status).toBe(400);
    expect(JSON.stringify(format.body)).toMatch(/only date and timestamp columns take a format/);
  });

  it('quarantines bad rows with their line and reason when the schema asks, loads the good ones, and shows them only to their provider', async () => {
    const schema = await provider.http.call<{ id: string }>('POST', '/v1/schemas', {
      body: {
        table: 'readings',
        dataset: `bulk_readings_${uniq()}`,
        badRows: 'quarantine',
        columns: [
          { name: 'user_id', type: 'string', role: 'user_id' },
          { name: 'n', type: 'long' },
          { name: 'at', type: 'timestamp' },
        ],
      },
    });
    await op.call('POST', `/v1/schemas/${schema.id}/approve`);
    const file = join(corpus, 'readings.csv');
    const body = Buffer.concat([
      Buffer.from('user_id,n,at\nu1,1,2026-01-01T00:00:00Z\nu1,2,not a time\nu2,3,2026-01-01T00:00:03Z,extra\nu2,4,2026-01-01T00:00:04Z\nu'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from(',5,2026-01-01T00:00:05Z\nu3,six,2026-01-01T00:00:06Z\nu4,7,1767225607\n   ,8,2026-01-01T00:00:08Z\n,9,2026-01-01T00:00:09Z\n'),
    ]);
    await writeFile(file, body);
    const name = `readings/${uniq()}.csv`;
    await key.putFile(STAGING, `${provider.id}/${name}`, file);
    const report = await settled(name);
    expect(report).toMatchObject({ status: 'loaded', records: 3, rowsRead: 9, rowsQuarantined: 6 });
    const rows = await tableRows<{ n: bigint }>(rawTableId(provider.id, 'readings'), 'SELECT n FROM rows ORDER BY n');
    expect(rows.map((r) => Number(r.n))).toEqual([1, 4, 7]);
    const quarantine = await provider.http.call<{ rows: Array<{ position: string; reason: string; row: Record<string, unknown> }>; total: number }>('GET', `/v1/ingests/${report.id}/quarantine`);
    expect(quarantine.total).toBe(6);
    expect(quarantine.rows.map((r) => [r.position, r.reason]).sort()).toEqual([
      ['line 10', 'column user_id: expects a non-empty string (the user id)'],
      ['line 3', 'column at: expects a timestamp'],
      ['line 4', 'too many columns'],
      ['line 6', 'invalid encoding'],
      ['line 7', 'column n: expects a long'],
      ['line 9', 'column user_id: expects a non-empty string (the user id)'],
    ]);
    // A value sanitizing refused keeps the row as read; a line the reader set aside keeps the line.
    expect(quarantine.rows.find((r) => r.position === 'line 3')!.row).toEqual({ user_id: 'u1', n: 2, at: 'not a time' });
    expect(quarantine.rows.find((r) => r.position === 'line 7')!.row).toEqual({ line: 'u3,six,2026-01-01T00:00:06Z' });
    const foreign = await other.http.raw('GET', `/v1/ingests/${report.id}/quarantine`);
    expect(foreign.status).toBe(404);

    // A file that is mostly bad is the wrong file: rejected whole, nothing loaded.
    const wrong = join(corpus, 'readings-wrong.csv');
    await writeFile(wrong, `user_id,n,at\n${Array.from({ length: 10_001 }, (_v, i) => `u${i},x${i},2026-01-01T00:00:00Z`).join('\n')}\nu0,1000000,2026-01-01T00:00:00Z\n`);
    const wrongName = `readings/${uniq()}-wrong.csv`;
    await key.putFile(STAGING, `${provider.id}/${wrongName}`, wrong);
    const refused = await settled(wrongName);
    expect(refused.status).toBe('rejected');
    expect(refused.reason).toMatch(/more than 10000 bad rows; the first: line 2: column n: expects a long/);
    expect(await tableRows(rawTableId(provider.id, 'readings'), 'SELECT n FROM rows WHERE n = 1000000')).toEqual([]);
  }, 150_000);

  it(`loses and doubles nothing when the writer is SIGKILLed ${CRASH_ROUNDS} times, between puts and their ingest and during it (seed ${crashSeed})`, async () => {
    const id = rawTableId(provider.id, 'purchases');
    const start = (await readRows(fx.lake, id)).rows;
    const killWriter = async (): Promise<void> => {
      const { pid } = JSON.parse(await readFile(join(paths.pidDir, 'writer.pid.json'), 'utf8')) as { pid: number };
      process.kill(pid, 'SIGKILL');
      await waitUntil('writer gone', async () => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      }, 10_000);
    };
    const files: string[] = [];
    const putBatch = async (round: number): Promise<void> => {
      for (const name of ['purchases.csv', 'purchases.parquet', 'purchases.avro']) {
        const file = `purchases/crash-${round}/${uniq()}-${name}`;
        files.push(file);
        await key.putFile(STAGING, `${provider.id}/${file}`, join(corpus, 'good', name));
      }
    };
    // Odd rounds: the writer is dead while the files are put (their notifications wait, or are popped and lost by the
    // next kill). Even rounds: killed at a random point while it ingests them.
    for (let round = 1; round <= CRASH_ROUNDS; round++) {
      if (round % 2 === 1) {
        await killWriter();
        await putBatch(round);
      } else {
        await putBatch(round);
        await new Promise((r) => setTimeout(r, Math.floor(crashRand() * 1500)));
        await killWriter();
      }
      // Only the writer is brought back (`up` would also re-run init and the realm import every round: minutes under
      // load, past the provider token's 5-minute life).
      await ensureServices(['writer'], { say: () => {} });
    }
    // A job a killed writer held comes back once its BullMQ lock lapses (≤ 30 s, see startWorker); one whose holder was
    // killed twice is failed by BullMQ and re-armed by the reconciler (at start-up and every pass).
    for (const file of files) expect((await settled(file, 180_000)).status, `${file} (seed ${crashSeed})`).toBe('loaded');
    const perRound = expected['purchases.csv']!.rows + expected['purchases.parquet']!.rows + expected['purchases.avro']!.rows;
    const after = await readRows(fx.lake, id);
    expect(after.rows, `seed ${crashSeed}`).toBe(start + CRASH_ROUNDS * perRound);
    const reports = (await ingests(provider.http)).filter((i) => i.file !== null && files.includes(i.file));
    expect(reports).toHaveLength(files.length);
  }, 900_000);
});

