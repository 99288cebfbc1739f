// Api uploads left without an ingest job, against the real stack: what an api leaves behind when it stops between
// recording an upload and queueing its job (or what Redis leaves when it loses the last second of jobs in a crash) is
// an upload row and its staging object with no job. Nothing ever loaded those before: the keyed retry was answered 202
// for an upload that stayed pending for good, and a stranded group-committed batch sat in staging forever. The same
// goes one step later for a table's commit job: pending data files whose job Redis lost waited for the next upload.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { TableIdentifier } from '@atoll/iceberg';
import { tableLocation, writeDataFileForTable } from '@atoll/lake';
import { createLogger } from '@atoll/log';
import { Producer, commitJobs, jobs, redisConnection, startWorker } from '@atoll/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiUploadKey } from '@atoll/api';
import { processCommit, recordPendingFile, requeueStrandedCommits, requeueStrandedUploads } from '@atoll/writer';
import { env } from './support/actors.js';
import { fleetProvider, rawValues, settleUploads, type FleetProvider } from './support/device-fleet.js';
import { startInProcessApi, type InProcessApi } from './support/inprocess-api.js';
import { lakeFixture, readTable, uniqueName, writeCsv } from './support/lake-helpers.js';

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

describe('data files without a commit job', () => {
  it('the reconciler queues the commit of a table whose pending files lost their job, once they are old enough; the files commit once', async () => {
    await using fx = await lakeFixture({ poolSize: 8 });
    const log = createLogger({ name: 'stranded-test', level: 'silent' });
    // A queue prefix of its own: the stack's writer does not see these jobs, the test runs the commit worker itself.
    const prefix = `atoll-it-${randomUUID().slice(0, 8)}`;
    const redis = redisConnection(env.ATOLL_REDIS_URL!);
    const workerRedis = redisConnection(env.ATOLL_REDIS_URL!, { forWorker: true });
    const producer = new Producer(redis, prefix);
    const ctx = { pool: fx.pool, lake: fx.lake, producer, log, commitDelayMs: 600_000 };
    const columns = [
      { name: 'user_id', type: 'string', role: 'user_id' },
      { name: 'k', type: 'string' },
      { name: 'iteration', type: 'long' },
    ] as const;
    const stage = async (id: TableIdentifier, tag: string): Promise<string> => {
      const dir = join(fx.workDir, tag);
      const input = await writeCsv(dir, tag, 2);
      const { dataFile } = await writeDataFileForTable({ lake: fx.lake, id, location: tableLocation('atoll-lake', id), columns: [...columns], input, format: 'csv', workDir: dir, memoryLimit: '256MB' });
      const { commitJobId } = await recordPendingFile(ctx, { id, dataFile });
      // What Redis's lost last second leaves: the pending row, no job.
      await (await producer.rawQueue(commitJobs.commit.queue).getJob(commitJobId))!.remove();
      return commitJobId;
    };
    const oldId: TableIdentifier = { namespace: ['itest'], name: uniqueName('stranded_commit_old') };
    const recentId: TableIdentifier = { namespace: ['itest'], name: uniqueName('stranded_commit_recent') };
    try {
      const oldJob = await stage(oldId, 'o1');
      await stage(oldId, 'o2');
      const recentJob = await stage(recentId, 'r1');
      await fx.pool.query(`UPDATE pending_data_files SET created_at = now() - interval '20 minutes' WHERE namespace = 'itest' AND name = $1`, [oldId.name]);

      const pass = await requeueStrandedCommits(ctx, { olderThanMs: 10 * 60_000 });
      expect(pass).toMatchObject({ queued: 1, retried: 0 });
      const queued = await producer.rawQueue(commitJobs.commit.queue).getJob(oldJob);
      expect(queued).toBeDefined();
      // Put back to run now, not after another commit delay.
      expect(await queued!.isDelayed()).toBe(false);
      expect(await producer.rawQueue(commitJobs.commit.queue).getJob(recentJob)).toBeUndefined();
      // A second pass finds the job there and adds nothing.
      expect(await requeueStrandedCommits(ctx, { olderThanMs: 10 * 60_000 })).toMatchObject({ queued: 0, retried: 0 });

      const worker = startWorker(commitJobs.commit, (job) => processCommit(ctx, job), { connection: workerRedis, concurrency: 1, prefix });
      try {
        const deadline = Date.now() + 60_000;
        for (;;) {
          const { rows } = await fx.pool.query<{ n: string | number }>(`SELECT count(*) AS n FROM pending_data_files WHERE namespace = 'itest' AND name = $1 AND status = 'pending'`, [oldId.name]);
          if (Number(rows[0]!.n) === 0) break;
          if (Date.now() > deadline) throw new Error('the stranded files were not committed within 60 s');
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      } finally {
        await worker.close();
      }
      const state = await readTable(fx.lake, oldId, fx.workDir);
      expect(state.snapshots).toBe(1);
      expect(state.keys).toEqual(['o1-0', 'o1-1', 'o2-0', 'o2-1']);
      // The recent table's file is still pending: it is its own request's (or the next pass's) to queue.
      const { rows } = await fx.pool.query<{ status: string }>(`SELECT status FROM pending_data_files WHERE namespace = 'itest' AND name = $1`, [recentId.name]);
      expect(rows.map((r) => r.status)).toEqual(['pending']);
    } finally {
      await fx.pool.query(`DELETE FROM pending_data_files WHERE namespace = 'itest' AND name = $1 AND status = 'pending'`, [recentId.name]);
      await producer.rawQueue(commitJobs.commit.queue).obliterate({ force: true });
      await producer.close();
      redis.disconnect();
      workerRedis.disconnect();
    }
  }, 180_000);
});
