// Bulk ingest over S3 (SPEC §4) against the real stack: a provider's scoped key, files written by independent tools
// (Python csv/gzip/bz2/zipfile, pyarrow for Parquet and ORC, fastavro) put with that key, loaded with exact rows and values into the raw
// and published tables; bad files rejected with their reason and nothing of them in any table; notifications
// announced twice ingest once; a file no notification announced is found by the reconciler.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Duck, ident, literal } from '@atoll/duck';
import { loadTable, planFiles, type TableIdentifier } from '@atoll/iceberg';
import { publishedTableId, rawTableId, type Lake } from '@atoll/lake';
import { redisConnection } from '@atoll/queue';
import { clientFor, isAccessDenied, ObjectStore } from '@atoll/storage';
import { paths, up, waitUntil, type AtollHttp } from '@atoll/stack';
import { env, newProvider, operator, uniq } from './support/actors.js';
import { lakeFixture, type LakeFixture } from './support/lake-helpers.js';

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

function sumDecimals(values: string[]): string {
  const cents = values.reduce((acc, v) => acc + BigInt(v.replace('.', '')), 0n);
  const neg = cents < 0n;
  const digits = (neg ? -cents : cents).toString().padStart(3, '0');
  return `${neg ? '-' : ''}${digits.slice(0, -2)}.${digits.slice(-2)}`;
}

beforeAll(async () => {
  corpus = join(tmpdir(), `atoll-bulk-corpus-${randomUUID()}`);
  await mkdir(corpus, { recursive: true });
  const python = run(process.execPath, [join(import.meta.dirname, '..', 'packages', 'iceberg', 'interop', 'ensure-venv.mjs'), 'bulk-corpus']);
  run(python, [join(here, 'make_corpus.py'), corpus]);
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
      columns: [
        { name: 'user_id', type: 'string', role: 'user_id' },
        { name: 'amount', type: 'decimal(12,2)' },
        { name: 'qty', type: 'long' },
        { name: 'ok', type: 'boolean' },
        { name: 'day', type: 'date' },
        { name: 'at', type: 'timestamp', role: 'event_time' },
        { name: 'note', type: 'string' },
      ],
    },
  });
  await op.call('POST', `/v1/schemas/${schema.id}/approve`);
  creds = await provider.http.call<BulkCredentials>('POST', '/v1/bulk-credentials');
  key = storeFor(creds);
}, 180_000);

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
      { file: 'wrong_type.orc', key: 'purchases/bad/wrong_type.orc', reason: /column qty expects long, the file has VARCHAR/ },
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
    expect(arn).toMatch(/^arn:minio:sqs:/);
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
      await admin.removeAllBucketNotification(STAGING);
      expect(((await admin.getBucketNotification(STAGING)) as { QueueConfiguration?: unknown[] }).QueueConfiguration ?? []).toEqual([]);
      const missed = `purchases/missed/${uniq()}.csv`;
      await key.putFile(STAGING, `${provider.id}/${missed}`, join(corpus, 'good', 'purchases.csv'));
      expect((await settled(missed)).status).toBe('loaded');

      const rows = (await readRows(fx.lake, id)).rows;
      expect(rows).toBe(start + 2 * expected['purchases.csv']!.rows);
      const reports = (await ingests(provider.http)).filter((i) => i.file === once || i.file === missed);
      expect(reports.map((r) => r.status)).toEqual(['loaded', 'loaded']);
    } finally {
      await root().notifyObjectCreated(STAGING, arn!);
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

  it('loses and doubles nothing when the writer is SIGKILLed before and during ingest', async () => {
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
    // Round 1: the writer is dead between the puts and their ingest. Round 2: killed while ingesting them.
    await killWriter();
    await putBatch(1);
    await up({ apps: true });
    await putBatch(2);
    await new Promise((r) => setTimeout(r, 300));
    await killWriter();
    await up({ apps: true });
    // A job the killed writer held comes back once its BullMQ lock lapses (≤ 30 s, see startWorker), after the restart.
    for (const file of files) expect((await settled(file, 150_000)).status, file).toBe('loaded');
    const perRound = expected['purchases.csv']!.rows + expected['purchases.parquet']!.rows + expected['purchases.avro']!.rows;
    const after = await readRows(fx.lake, id);
    expect(after.rows).toBe(start + 2 * perRound);
    const reports = (await ingests(provider.http)).filter((i) => i.file !== null && files.includes(i.file));
    expect(reports).toHaveLength(files.length);
  }, 300_000);
});

