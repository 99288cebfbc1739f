// Api uploads left without an ingest job, against the real stack: what an api leaves behind when it stops between
// recording an upload and queueing its job (or what Redis leaves when it loses the last second of jobs in a crash) is
// an upload row and its staging object with no job. Nothing ever loaded those before: the keyed retry was answered 202
// for an upload that stayed pending for good, and a stranded group-committed batch sat in staging forever.
import { randomUUID } from 'node:crypto';
import { createLogger } from '@atoll/log';
import { jobs } from '@atoll/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiUploadKey } from '@atoll/api';
import { requeueStrandedUploads } from '@atoll/writer';
import { env } from './support/actors.js';
import { fleetProvider, rawValues, settleUploads, type FleetProvider } from './support/device-fleet.js';
import { startInProcessApi, type InProcessApi } from './support/inprocess-api.js';
import { lakeFixture } from './support/lake-helpers.js';

let api: InProcessApi;
let provider: FleetProvider;
const staging = (): string => env.ATOLL_BUCKET_STAGING ?? 'atoll-staging';

beforeAll(async () => {
  api = await startInProcessApi();
  provider = await fleetProvider({ baseUrl: api.url, env });
}, 120_000);

afterAll(async () => {
  await api?.[Symbol.asyncDispose]();
});

const ndjson = (userId: string, values: number[]): Buffer => Buffer.from(values.map((value) => `${JSON.stringify({ user_id: userId, kind: 'stranded', value })}\n`).join(''));

/**
 * Leaves what a stopped api leaves: the staging object and the rows (the batcher's own statement: one row per upload,
 * `batch_id` naming the lead), and no job. `ageMs` back-dates the rows.
 */
async function strand(opts: { uploads: Array<{ userId: string; values: number[] }>; ageMs: number; idempotencyKey?: string }): Promise<{ lead: string; ids: string[]; key: string }> {
  const ids = opts.uploads.map(() => randomUUID());
  const lead = ids[0]!;
  const key = apiUploadKey(provider.id, 'events', lead);
  const bodies = opts.uploads.map((u) => ndjson(u.userId, u.values));
  await api.deps.store.putObject(staging(), key, Buffer.concat(bodies), { contentType: 'application/x-ndjson' });
  const batched = opts.uploads.length > 1;
  await api.deps.pool.query(
    `INSERT INTO uploads (id, provider_id, table_name, source, staging_key, records, bytes, idempotency_key, status, batch_id, created_at)
     SELECT u.id, $1, 'events', 'api', $2, u.records, u.bytes, $3, 'pending', $4, now() - make_interval(secs => $8::double precision / 1000)
       FROM unnest($5::uuid[], $6::int[], $7::bigint[]) AS u(id, records, bytes)`,
    [provider.id, key, opts.idempotencyKey ?? null, batched ? lead : null, ids, opts.uploads.map((u) => u.values.length), bodies.map((b) => b.length), opts.ageMs],
  );
  return { lead, ids, key };
}

const jobOf = async (lead: string) => api.deps.producer.rawQueue(jobs.ingest.queue).getJob(`ingest-${lead}`);

describe('api uploads without an ingest job', () => {
  it('a retry with the same Idempotency-Key puts the job back: the 202 it gets is for records that load', async () => {
    const userId = `stranded-key-${randomUUID().slice(0, 8)}`;
    const idempotencyKey = `retry-${randomUUID()}`;
    // The first request recorded the upload and stopped before queueing it (the client saw its connection drop).
    const first = await strand({ uploads: [{ userId, values: [1, 2, 3] }], ageMs: 0, idempotencyKey });
    expect(await jobOf(first.lead)).toBeUndefined();
    const retry = await provider.http.raw('POST', '/v1/uploads/events', { rawBody: ndjson(userId, [1, 2, 3]).toString(), contentType: 'application/x-ndjson', headers: { 'idempotency-key': idempotencyKey } });
    expect(retry.status).toBe(202);
    expect(retry.body).toEqual({ uploadId: first.lead, records: 3 });
    expect(await settleUploads(api.deps.pool, provider.id, 120_000, first.ids)).toEqual({ rejected: 0, reasons: [] });
    await using fx = await lakeFixture({ poolSize: 2 });
    expect([...(await rawValues({ lake: fx.lake, workDir: fx.workDir, provider, userId }))].sort()).toEqual([1, 2, 3]);
    // Its staging object went with the ingest, as for any upload.
    expect(await api.deps.store.statObject(staging(), first.key)).toBeNull();
  }, 180_000);

  it('the reconciler queues a stranded batch again once it is old enough, and leaves a recent one to its request', async () => {
    const [a, b, c] = ['a', 'b', 'c'].map((x) => `stranded-${x}-${randomUUID().slice(0, 8)}`) as [string, string, string];
    const old = await strand({ uploads: [{ userId: a, values: [10, 11] }, { userId: b, values: [20] }], ageMs: 20 * 60_000 });
    const recent = await strand({ uploads: [{ userId: c, values: [30] }], ageMs: 0 });
    try {
      expect(await jobOf(old.lead)).toBeUndefined();
      const log = createLogger({ name: 'stranded-test', level: 'silent' });
      await requeueStrandedUploads({ pool: api.deps.pool, producer: api.deps.producer, log }, { olderThanMs: 10 * 60_000 });
      // (The stack's own writer runs the same pass on its schedule and may have queued it first; either way it is queued.)
      expect(await jobOf(old.lead)).toBeDefined();
      expect(await settleUploads(api.deps.pool, provider.id, 120_000, old.ids)).toEqual({ rejected: 0, reasons: [] });
      await using fx = await lakeFixture({ poolSize: 2 });
      expect([...(await rawValues({ lake: fx.lake, workDir: fx.workDir, provider, userId: a }))].sort()).toEqual([10, 11]);
      expect([...(await rawValues({ lake: fx.lake, workDir: fx.workDir, provider, userId: b }))]).toEqual([20]);
      // The recent one is still its request's to queue: no job, still pending, its object still staged.
      expect(await jobOf(recent.lead)).toBeUndefined();
      const { rows } = await api.deps.pool.query<{ status: string }>('SELECT status FROM uploads WHERE id = $1', [recent.lead]);
      expect(rows[0]?.status).toBe('pending');
      expect(await api.deps.store.statObject(staging(), recent.key)).not.toBeNull();
    } finally {
      await api.deps.pool.query('DELETE FROM uploads WHERE id = $1', [recent.lead]);
      await api.deps.store.removeObject(staging(), recent.key);
    }
  }, 180_000);

  it('a stranded upload whose staged records are gone is rejected with that reason, not retried for good', async () => {
    const userId = `stranded-gone-${randomUUID().slice(0, 8)}`;
    const gone = await strand({ uploads: [{ userId, values: [40] }, { userId, values: [41] }], ageMs: 20 * 60_000 });
    await api.deps.store.removeObject(staging(), gone.key);
    const log = createLogger({ name: 'stranded-test', level: 'silent' });
    await requeueStrandedUploads({ pool: api.deps.pool, producer: api.deps.producer, log }, { olderThanMs: 10 * 60_000 });
    const settled = await settleUploads(api.deps.pool, provider.id, 120_000, gone.ids);
    expect(settled).toEqual({ rejected: 2, reasons: ['its records are no longer in staging, so it cannot be loaded', 'its records are no longer in staging, so it cannot be loaded'] });
    // Failed for good (unrecoverable), not waiting for another attempt.
    expect(await (await jobOf(gone.lead))?.isFailed()).toBe(true);
  }, 180_000);
});
