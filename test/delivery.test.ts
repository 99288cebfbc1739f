// Licensed delivery against the real stack (SPEC §5–§6, decision 7): a population of subjects with every kind of
// license (and none) — the estimate, the initial run and a join over two datasets hold exactly the rows of subjects
// licensed to this consumer for this use case; revocation erases delivered rows from the table, its snapshots and its
// files, with an erasure record; a subject licensed later gets its earlier rows; a run under the cohort minimum
// delivers nothing and says why; bad input gets a clear 4xx.
import { beforeAll, describe, expect, it } from 'vitest';
import { init as initDevice, memoryStorage } from '@atoll/client';
import { readCleanroomTable, type CleanroomKey } from '@atoll/stack';
import { ObjectStore, createStorageAdmin, type StorageKind } from '@atoll/storage';
import { Producer, jobs, redisConnection } from '@atoll/queue';
import { api, env, newConsumer, newProvider, operator, uniq } from './support/actors.js';
import { approveAgreement, delegate, duckdbWithCleanroomKey, nextRun, runNow, runs, snapshotCount, TERMS, tidsInBucketFiles, tidsOf, upload, waitPublished, type Http, type Provider } from './support/market.js';

// ---- the population ------------------------------------------------------------------------------------------------

const users = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(2, '0')}`);
const population = {
  delegated: users('delegated', 27), // agreement licenses: analytics, any consumer, events + visits
  device: users('device', 2), // device-signed: analytics, any consumer, events only
  unlicensed: users('none', 3),
  otherUse: users('retarget', 2), // licensed only for retargeting
  otherConsumer: users('other', 2), // licensed only for consumer B's id
  expired: users('expired', 2), // licensed for a few seconds
  revoked: users('revoked', 2), // licensed, then revoked before the estimate
  later: users('later', 1), // licensed only after the first run
};
const everyone = Object.values(population).flat();
const eventsOf = (u: string) => [
  { user_id: u, kind: 'view', value: 1 },
  { user_id: u, kind: 'buy', value: 10 + u.length },
];

let op: Http;
let provider: Provider;
let consumerA: { id: string; http: Http };
let consumerB: { id: string; http: Http };
let tid: Record<string, string>;
let events: string;
let visits: string;
let room: CleanroomKey & { id: string };
const revokedLicenses: Record<string, string> = {};
let deviceLicense: { id: string; user: string; token: () => Promise<string> } | undefined;

beforeAll(async () => {
  op = await operator();
  provider = await newProvider(op);
  consumerA = await newConsumer(op);
  consumerB = await newConsumer(op);
  events = `events_${uniq()}`;
  visits = `visits_${uniq()}`;
  for (const [table, dataset, extra] of [
    ['events', events, { name: 'kind', type: 'string' }],
    ['visits', visits, { name: 'page', type: 'string' }],
  ] as const) {
    const columns = [{ name: 'user_id', type: 'string', role: 'user_id' }, extra, ...(table === 'events' ? [{ name: 'value', type: 'long' }] : [])];
    const s = await provider.http.call<{ id: string }>('POST', '/v1/schemas', { body: { table, dataset, columns } });
    await op.call('POST', `/v1/schemas/${s.id}/approve`);
    await op.call('PUT', `/v1/datasets/${dataset}/price`, { body: { perRecord: { amount: 0.02, currency: 'usd' } } });
  }
  await approveAgreement(op, provider);
  tid = await tidsOf(provider, everyone);
  const t = (list: string[]) => list.map((u) => tid[u]!);
  const analyticsAll = [{ usecases: ['analytics'], destinations: ['*'] }];
  await delegate(provider, t(population.delegated), ['events', 'visits'], analyticsAll);
  await delegate(provider, t(population.otherUse), ['events', 'visits'], [{ usecases: ['retargeting'], destinations: ['*'] }]);
  await delegate(provider, t(population.otherConsumer), ['events', 'visits'], [{ usecases: ['analytics'], destinations: [consumerB.id] }]);
  const expiresAt = Date.now() + 4000;
  await delegate(provider, t(population.expired), ['events', 'visits'], analyticsAll, new Date(expiresAt).toISOString());
  for (const l of await delegate(provider, t(population.revoked), ['events', 'visits'], analyticsAll)) revokedLicenses[l.tid] = l.id;
  for (const [tidValue, id] of Object.entries(revokedLicenses)) {
    await provider.http.call('DELETE', `/v1/licenses/${id}`);
    expect(tidValue).toBeTruthy();
  }
  // Device-signed licenses: each user's own device registers its key and signs.
  for (const user of population.device) {
    const { attestation } = await provider.http.call<{ attestation: string }>('POST', '/v1/devices/attestations', { body: { userId: user } });
    const device = initDevice({ baseUrl: env.ATOLL_API_URL!, storage: memoryStorage() });
    await device.createKeys();
    await device.register(attestation);
    const lic = await device.signLicense(
      await device.buildLicense({ tables: ['events'], tags: ['purchase_history'], uses: analyticsAll, terms: { sha256: TERMS.sha256 }, expiry: new Date(Date.now() + 365 * 86_400_000) }),
    );
    deviceLicense ??= { id: lic.id, user, token: () => device.token(['license']) };
  }
  await upload(provider, 'events', everyone.flatMap(eventsOf));
  await upload(provider, 'visits', everyone.map((u) => ({ user_id: u, page: `/p/${u}` })));
  await waitPublished(consumerA.http, events, everyone.length * 2);
  await waitPublished(consumerA.http, visits, everyone.length);
  // The short licenses have run out by now.
  await new Promise((r) => setTimeout(r, Math.max(0, expiresAt + 500 - Date.now())));
  room = await consumerA.http.call<CleanroomKey & { id: string }>('POST', '/v1/cleanrooms', { body: { name: 'delivery' } });
}, 600_000);

const licensedForA = () => [...population.delegated, ...population.device];
const expectedRows = (list: string[]) => list.flatMap(eventsOf).map((r) => `${tid[r.user_id]}|${r.kind}|${r.value}`).sort();

describe('licensed delivery', () => {
  let subscriptionId: string;

  it('estimates only the rows of subjects licensed to this consumer for its use case', async () => {
    const est = await consumerA.http.call<{ id: string; records: number; distinctSubjects: number; sample: Array<Record<string, unknown>>; price: { initial: number; monthly: number; currency: string }; monthlyUpdateRate: number; datasets: string[] }>(
      'POST',
      '/v1/estimates',
      { body: { cleanroomId: room.id, table: 'licensed_events', sql: `SELECT tid, kind, value FROM ${events}` } },
    );
    expect(est.distinctSubjects).toBe(licensedForA().length);
    expect(est.records).toBe(licensedForA().length * 2);
    expect(est.datasets).toEqual([events]);
    // The price comes from the dataset the query reads: 58 records at 0.02.
    expect(est.price).toMatchObject({ initial: Math.round(est.records * 0.02 * 100) / 100, currency: 'usd' });
    // Every record was added within the last 30 days and the query keeps every row: the rate is what was published.
    expect(est.monthlyUpdateRate).toBe(everyone.length * 2);
    const allowed = new Set(licensedForA().map((u) => tid[u]));
    expect(est.sample.length).toBe(10);
    for (const row of est.sample) expect(allowed.has(String(row.tid))).toBe(true);

    // Consumer B's own view: the subjects licensed to any consumer plus those licensed to B by id.
    const roomB = await consumerB.http.call<{ id: string }>('POST', '/v1/cleanrooms', { body: { name: 'b' } });
    const estB = await consumerB.http.call<{ distinctSubjects: number }>('POST', '/v1/estimates', {
      body: { cleanroomId: roomB.id, table: 'mine', sql: `SELECT tid, kind FROM ${events}` },
    });
    expect(estB.distinctSubjects).toBe(population.delegated.length + population.device.length + population.otherConsumer.length);

    const sub = await consumerA.http.call<{ id: string; status: string }>('POST', '/v1/subscriptions', { body: { estimateId: est.id } });
    subscriptionId = sub.id;
    const first = await nextRun(consumerA.http, subscriptionId, 0);
    expect(first).toMatchObject({ status: 'succeeded', recordsAdded: licensedForA().length * 2, recordsRemoved: 0 });
  });

  it('delivers exactly the licensed rows, row by row', async () => {
    const rows = await readCleanroomTable(room, 'licensed_events');
    expect(rows.map((r) => `${String(r.tid)}|${String(r.kind)}|${String(r.value)}`).sort()).toEqual(expectedRows(licensedForA()));
  });

  it('restricts every dataset of a join before the query sees a row', async () => {
    // Device users licensed only `events`: the join (events ⋈ visits on tid) holds only subjects licensed for both.
    const sql = `SELECT e.tid, e.kind, v.page FROM ${events} e JOIN ${visits} v ON e.tid = v.tid WHERE e.kind = 'buy'`;
    const est = await consumerA.http.call<{ id: string; records: number; distinctSubjects: number; datasets: string[]; price: { initial: number } }>('POST', '/v1/estimates', {
      body: { cleanroomId: room.id, table: 'joined', sql },
    });
    expect(est.datasets).toEqual([events, visits].sort());
    expect(est.distinctSubjects).toBe(population.delegated.length);
    expect(est.records).toBe(population.delegated.length);
    // Two datasets at 0.02 each per delivered record.
    expect(est.price.initial).toBe(Math.round(est.records * 0.04 * 100) / 100);
    const sub = await consumerA.http.call<{ id: string }>('POST', '/v1/subscriptions', { body: { estimateId: est.id } });
    const run = await nextRun(consumerA.http, sub.id, 0);
    expect(run).toMatchObject({ status: 'succeeded', recordsAdded: population.delegated.length });
    const rows = await readCleanroomTable(room, 'joined');
    expect(rows.map((r) => `${String(r.tid)}|${String(r.page)}`).sort()).toEqual(population.delegated.map((u) => `${tid[u]}|/p/${u}`).sort());
  });

  it('an aggregate query is recomputed at every run and equals the query over current licensed data', async () => {
    const est = await consumerA.http.call<{ id: string }>('POST', '/v1/estimates', {
      body: { cleanroomId: room.id, table: 'per_subject', sql: `SELECT tid, count(*) AS n, sum(value) AS total FROM ${events} GROUP BY tid` },
    });
    const sub = await consumerA.http.call<{ id: string }>('POST', '/v1/subscriptions', { body: { estimateId: est.id } });
    const run = await nextRun(consumerA.http, sub.id, 0);
    expect(run).toMatchObject({ status: 'succeeded', recordsAdded: licensedForA().length });
    // Nothing changed: a second run adds and removes nothing.
    expect(await runNow(consumerA.http, sub.id)).toMatchObject({ status: 'succeeded', recordsAdded: 0, recordsRemoved: 0 });
    const rows = await readCleanroomTable(room, 'per_subject');
    expect(rows).toHaveLength(licensedForA().length);
    for (const r of rows) expect(Number(r.n)).toBe(2);
  });

  it('delivers the earlier rows of a subject licensed after the first run, and only new rows otherwise', async () => {
    const late = population.later[0]!;
    await delegate(provider, [tid[late]!], ['events', 'visits'], [{ usecases: ['analytics'], destinations: ['*'] }]);
    const fresh = [{ user_id: population.delegated[0]!, kind: 'refund', value: 7 }];
    await upload(provider, 'events', fresh);
    await waitPublished(consumerA.http, events, everyone.length * 2 + 1);
    const run = await runNow(consumerA.http, subscriptionId);
    expect(run).toMatchObject({ status: 'succeeded', recordsAdded: 3, recordsRemoved: 0 });
    const rows = await readCleanroomTable(room, 'licensed_events');
    const got = rows.map((r) => `${String(r.tid)}|${String(r.kind)}|${String(r.value)}`).sort();
    expect(got).toEqual([...expectedRows([...licensedForA(), late]), `${tid[population.delegated[0]!]}|refund|7`].sort());
  });

  it('erases a revoked subject from the table, every snapshot and every file, and records the erasure', async () => {
    const victim = population.delegated[1]!;
    const victimTid = tid[victim]!;
    const { licenses } = await provider.http.call<{ licenses: Array<{ id: string }> }>('GET', `/v1/licenses/status?tid=${victimTid}`);
    expect(licenses).toHaveLength(1);
    await provider.http.call('DELETE', `/v1/licenses/${licenses[0]!.id}`);
    // The device user revokes its own license from its device.
    const deviceUser = deviceLicense!;
    const deviceHttp = api.withToken(await deviceUser.token());
    await deviceHttp.call('DELETE', `/v1/licenses/${deviceUser.id}`);

    expect(await tidsInBucketFiles(room, 'licensed_events')).toContain(victimTid);
    const run = await runNow(consumerA.http, subscriptionId);
    expect(run).toMatchObject({ status: 'succeeded', recordsAdded: 0, recordsRemoved: 4 });

    const rows = await readCleanroomTable(room, 'licensed_events');
    const remaining = new Set(rows.map((r) => String(r.tid)));
    expect(remaining.has(victimTid)).toBe(false);
    expect(remaining.has(tid[deviceUser.user]!)).toBe(false);
    // No snapshot to time-travel to but the current one, and no file in the bucket that holds the subjects' rows.
    expect(await snapshotCount(room, 'licensed_events')).toBe(1);
    const inFiles = await tidsInBucketFiles(room, 'licensed_events');
    expect(inFiles.has(victimTid)).toBe(false);
    expect(inFiles.has(tid[deviceUser.user]!)).toBe(false);
    expect(inFiles.size).toBe(remaining.size);
    // Stock DuckDB, by path with the consumer's key: one snapshot to travel to, and the subjects are not in it.
    const location = `s3://${room.bucket}/licensed_events`;
    const [snaps, hits, total] = await duckdbWithCleanroomKey(room, [
      `SELECT snapshot_id FROM iceberg_snapshots('${location}')`,
      `SELECT count(*) AS n FROM iceberg_scan('${location}') WHERE tid IN ('${victimTid}', '${tid[deviceUser.user]}')`,
      `SELECT count(*) AS n FROM iceberg_scan('${location}')`,
    ]);
    expect(snaps && 'rows' in snaps ? snaps.rows : snaps).toHaveLength(1);
    expect(hits && 'rows' in hits ? Number(hits.rows[0]!.n) : hits).toBe(0);
    expect(total && 'rows' in total ? Number(total.rows[0]!.n) : total).toBe(rows.length);

    const { erasures } = await provider.http.call<{ erasures: Array<{ subscriptionId: string; consumer: string; records: number; removedAt: string }> }>('GET', `/v1/licenses/${licenses[0]!.id}/erasures`);
    // The same subject's rows also left the join and the aggregate tables at their next runs (not run yet here).
    expect(erasures).toEqual([expect.objectContaining({ subscriptionId, consumer: consumerA.id, records: 2 })]);
    const mine = await deviceHttp.call<{ erasures: Array<{ subscriptionId: string; records: number }> }>('GET', `/v1/licenses/${deviceUser.id}/erasures`);
    expect(mine.erasures).toEqual([expect.objectContaining({ subscriptionId, records: 2 })]);
    // Another provider cannot read them.
    const stranger = await newProvider(op);
    expect((await stranger.http.raw('GET', `/v1/licenses/${licenses[0]!.id}/erasures`)).status).toBe(404);
  });

  it('withholds a run under the cohort minimum, says why, and still erases', async () => {
    // 27 delegated + 2 device + 1 later − 2 revoked − 1 revoked here = 27 subjects; the dataset now asks for 28.
    await op.call('PUT', `/v1/datasets/${events}/cohort`, { body: { minimum: 28 } });
    const victim = population.delegated[2]!;
    const { licenses } = await provider.http.call<{ licenses: Array<{ id: string }> }>('GET', `/v1/licenses/status?tid=${tid[victim]}`);
    await provider.http.call('DELETE', `/v1/licenses/${licenses[0]!.id}`);
    await upload(provider, 'events', [{ user_id: population.delegated[3]!, kind: 'late', value: 99 }]);
    await waitPublished(consumerA.http, events, everyone.length * 2 + 2);
    const run = await runNow(consumerA.http, subscriptionId);
    expect(run.status).toBe('withheld');
    expect(run.recordsAdded).toBe(0);
    expect(run.recordsRemoved).toBe(2);
    expect(run.reason).toMatch(/cohort too small: 27 distinct licensed subjects, at least 28 required/);
    const rows = await readCleanroomTable(room, 'licensed_events');
    expect(rows.some((r) => r.kind === 'late')).toBe(false);
    expect(rows.some((r) => r.tid === tid[victim])).toBe(false);
    // The estimate refuses too.
    const r = await consumerA.http.raw('POST', '/v1/estimates', { body: { cleanroomId: room.id, table: 'again', sql: `SELECT tid FROM ${events}` } });
    expect(r.status).toBe(422);
    expect((r.body as { error: { code: string } }).error.code).toBe('COHORT_TOO_SMALL');
    // Back at the floor, the withheld rows arrive at the next run.
    await op.call('PUT', `/v1/datasets/${events}/cohort`, { body: { minimum: 25 } });
    expect(await runNow(consumerA.http, subscriptionId)).toMatchObject({ status: 'succeeded', recordsAdded: 1, recordsRemoved: 0 });
  });

  it('pauses (nothing new, data kept, run-now refused) but still erases a revoked subject at the daily run', async () => {
    const before = await readCleanroomTable(room, 'licensed_events');
    expect(await consumerA.http.call('POST', `/v1/subscriptions/${subscriptionId}/pause`)).toEqual({ id: subscriptionId, status: 'paused' });
    const r = await consumerA.http.raw('POST', `/v1/subscriptions/${subscriptionId}/run`);
    expect(r.status).toBe(409);
    // New data and a revocation while paused; then the daily job (as its scheduler would enqueue it).
    await upload(provider, 'events', [{ user_id: population.delegated[5]!, kind: 'paused', value: 5 }]);
    await waitPublished(consumerA.http, events, everyone.length * 2 + 3);
    const victim = population.delegated[6]!;
    const { licenses } = await provider.http.call<{ licenses: Array<{ id: string }> }>('GET', `/v1/licenses/status?tid=${tid[victim]}`);
    await provider.http.call('DELETE', `/v1/licenses/${licenses[0]!.id}`);
    const done = (await runs(consumerA.http, subscriptionId)).filter((x) => x.status !== 'running').length;
    const redis = redisConnection(env.ATOLL_REDIS_URL!);
    const producer = new Producer(redis);
    try {
      await producer.enqueue(jobs.subscriptionRun, { v: 1, subscriptionId, reason: 'daily', nonce: uniq() });
    } finally {
      await producer.close();
      redis.disconnect();
    }
    const run = await nextRun(consumerA.http, subscriptionId, done);
    expect(run).toMatchObject({ status: 'withheld', recordsAdded: 0, recordsRemoved: 2 });
    expect(run.reason).toMatch(/^paused: nothing new is delivered; only erasures run/);
    const after = await readCleanroomTable(room, 'licensed_events');
    expect(after.some((x) => x.tid === tid[victim])).toBe(false);
    expect(after.some((x) => x.kind === 'paused')).toBe(false);
    expect(after).toHaveLength(before.length - 2);
    expect(await consumerA.http.call('POST', `/v1/subscriptions/${subscriptionId}/resume`)).toEqual({ id: subscriptionId, status: 'active' });
    // Resumed, the row published while paused arrives.
    expect(await runNow(consumerA.http, subscriptionId)).toMatchObject({ status: 'succeeded', recordsAdded: 1, recordsRemoved: 0 });
  });
});

describe('bad input on the consumer routes', () => {
  const code = (r: { status: number; body: unknown }) => [r.status, (r.body as { error?: { code?: string } }).error?.code];

  it('refuses each with a clear 4xx and delivers nothing', async () => {
    const a = consumerA.http;
    const est = (sql: string, cleanroomId = room.id) => a.raw('POST', '/v1/estimates', { body: { cleanroomId, table: 'x', sql } });
    expect(code(await est(`DELETE FROM ${events}`))).toEqual([400, 'SQL_REJECTED']);
    expect(code(await est(`SELECT tid, getvariable('x') FROM ${events}`))).toEqual([400, 'SQL_REJECTED']);
    expect(code(await est(`SELECT tid, current_setting('threads') FROM ${events}`))).toEqual([400, 'SQL_REJECTED']);
    expect(code(await est('SELECT * FROM no_such_dataset'))).toEqual([400, 'SQL_REJECTED']);
    expect(code(await est(`SELECT * FROM '/etc/passwd'`))).toEqual([400, 'SQL_REJECTED']);
    // The result's tid must be the subjects' own: made-up values would fool the cohort count.
    expect(code(await est(`SELECT tid || kind AS tid FROM ${events}`))).toEqual([400, 'SQL_REJECTED']);
    // A dataset without a price cannot be bought.
    const unpriced = `unpriced_${uniq()}`;
    const s = await provider.http.call<{ id: string }>('POST', '/v1/schemas', {
      body: { table: `t${uniq()}`, dataset: unpriced, columns: [{ name: 'user_id', type: 'string', role: 'user_id' }, { name: 'x', type: 'long' }] },
    });
    await op.call('POST', `/v1/schemas/${s.id}/approve`);
    expect(code(await est(`SELECT tid FROM ${unpriced}`))).toEqual([422, 'DATASET_NOT_PRICED']);
    // Another consumer's cleanroom, estimate and subscription look missing.
    const roomB = await consumerB.http.call<{ id: string }>('POST', '/v1/cleanrooms', { body: { name: 'b2' } });
    expect(code(await est(`SELECT tid FROM ${events}`, roomB.id))).toEqual([404, 'NOT_FOUND']);
    expect(code(await consumerB.http.raw('POST', `/v1/cleanrooms/${room.id}/credentials`))).toEqual([404, 'NOT_FOUND']);
    const estA = await a.call<{ id: string }>('POST', '/v1/estimates', { body: { cleanroomId: room.id, table: 'other_table', sql: `SELECT tid FROM ${events}` } });
    expect(code(await consumerB.http.raw('POST', '/v1/subscriptions', { body: { estimateId: estA.id } }))).toEqual([404, 'NOT_FOUND']);
    const { runs: _r, ...sub } = await a.call<{ id: string; runs: unknown[] }>('POST', '/v1/subscriptions', { body: { estimateId: estA.id } }).then((x) => ({ ...x, runs: [] }));
    expect(code(await consumerB.http.raw('GET', `/v1/subscriptions/${sub.id}`))).toEqual([404, 'NOT_FOUND']);
    expect(code(await consumerB.http.raw('POST', `/v1/subscriptions/${sub.id}/pause`))).toEqual([404, 'NOT_FOUND']);
    // Buying the same estimate twice.
    expect(code(await a.raw('POST', '/v1/subscriptions', { body: { estimateId: estA.id } }))).toEqual([409, 'CONFLICT']);
  });

  it('refuses a consumer whose approval was withdrawn on every consumer route, even with a live token', async () => {
    const c = await newConsumer(op);
    const roomC = await c.http.call<CleanroomKey & { id: string }>('POST', '/v1/cleanrooms', { body: { name: 'c' } });
    const roomStore = new ObjectStore({ endpoint: roomC.endpoint, region: roomC.region, accessKey: roomC.accessKeyId, secretKey: roomC.secretAccessKey });
    const estC = await c.http.call<{ id: string }>('POST', '/v1/estimates', { body: { cleanroomId: roomC.id, table: 't', sql: `SELECT tid FROM ${events}` } });
    const subC = await c.http.call<{ id: string }>('POST', '/v1/subscriptions', { body: { estimateId: estC.id } });
    await nextRun(c.http, subC.id, 0);
    expect((await roomStore.listObjects(roomC.bucket, '')).length).toBeGreaterThan(0);
    expect(await op.call('POST', `/v1/consumers/${c.id}/reject`, { body: { reason: 'use case no longer matches' } })).toMatchObject({ status: 'rejected', cleanroomKeysRevoked: 1 });
    // Its cleanroom key stops working at once: what was delivered can no longer be read with it.
    const denied = await roomStore.listObjects(roomC.bucket, '').then(() => null, (e: unknown) => e as { code?: string });
    expect(denied?.code).toMatch(/InvalidAccessKeyId|AccessDenied/);
    const refused = [
      await c.http.raw('GET', '/v1/datasets'),
      await c.http.raw('POST', '/v1/cleanrooms', { body: { name: 'd' } }),
      await c.http.raw('POST', `/v1/cleanrooms/${roomC.id}/credentials`),
      await c.http.raw('POST', '/v1/estimates', { body: { cleanroomId: roomC.id, table: 'u', sql: `SELECT tid FROM ${events}` } }),
      await c.http.raw('POST', '/v1/subscriptions', { body: { estimateId: estC.id } }),
      await c.http.raw('GET', `/v1/subscriptions/${subC.id}`),
      await c.http.raw('POST', `/v1/subscriptions/${subC.id}/pause`),
      await c.http.raw('POST', `/v1/subscriptions/${subC.id}/resume`),
      await c.http.raw('POST', `/v1/subscriptions/${subC.id}/run`),
    ];
    for (const r of refused) expect(code(r)).toEqual([403, 'CONSUMER_NOT_APPROVED']);
    expect(code(await op.raw('POST', `/v1/consumers/${c.id}/reject`, { body: { reason: 'again' } }))).toEqual([409, 'CONFLICT']);
  });
});

describe('provisioning left the public api', () => {
  it("the api's own key cannot administer users, policies or cleanroom buckets; the cleanroom worker's can", async () => {
    const s3 = { endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION! };
    // The stack's S3 server, MinIO or SeaweedFS (docs/storage.md): the same refusals on both.
    const storage = (env.ATOLL_STORAGE ?? 'minio') as StorageKind;
    const apiAdmin = createStorageAdmin(storage, { ...s3, accessKey: env.ATOLL_S3_API_ACCESS_KEY!, secretKey: env.ATOLL_S3_API_SECRET_KEY! });
    const user = `probe${uniq()}`;
    await expect(apiAdmin.createUser(user, 'probe-secret-123456')).rejects.toMatchObject({ name: 'StorageAdminError', status: 403 });
    // A valid document, so that the refusal is the server's permission check (an invalid one is refused before any call).
    const probePolicy = { Version: '2012-10-17' as const, Statement: [{ Effect: 'Allow' as const, Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::atoll-cr-probe/*'] }] };
    await expect(apiAdmin.putPolicy(`probe-${uniq()}`, probePolicy)).rejects.toMatchObject({ status: 403 });
    const apiStore = new ObjectStore({ ...s3, accessKey: env.ATOLL_S3_API_ACCESS_KEY!, secretKey: env.ATOLL_S3_API_SECRET_KEY! });
    await expect(apiStore.client.makeBucket(`atoll-cr-probe${uniq()}`)).rejects.toMatchObject({ code: 'AccessDenied' });
    // The worker's key can (and the cleanroom of this suite was made by it).
    const workerAdmin = createStorageAdmin(storage, { ...s3, accessKey: env.ATOLL_S3_CLEANROOM_ACCESS_KEY!, secretKey: env.ATOLL_S3_CLEANROOM_SECRET_KEY! });
    await workerAdmin.createUser(user, 'probe-secret-123456');
    await workerAdmin.deleteUser(user);
  });
});
