// Entry point of the cleanroom worker: subscription runs (initial, daily and on-demand), estimates and cleanroom
// provisioning for the api (request/reply with sealed answers). It holds the MinIO admin rights; the api does not.
import { join } from 'node:path';
import { billingJobs, CLOSE_MONTH_SCHEDULER, RECONCILE_SCHEDULER, stripeClient, StripeBilling } from '@atoll/billing';
import { CleanroomConfigSchema, loadConfig } from '@atoll/config';
import { createPool } from '@atoll/db';
import { Lake } from '@atoll/lake';
import { createLogger } from '@atoll/log';
import { computeEstimate, provisionCleanroom, runSubscription, withdrawCleanroomKeys, type RunContext } from '@atoll/market';
import { Producer, jobs, redisConnection, serveCalls, startWorker } from '@atoll/queue';
import { onShutdown, startHealthServer } from '@atoll/runtime';
import { ObjectStore, createStorageAdmin, provisionBulkKey, revokeBulkKey } from '@atoll/storage';

const config = loadConfig(CleanroomConfigSchema);
const log = createLogger({ name: 'cleanroom', level: config.ATOLL_LOG_LEVEL });
const pool = createPool(config.ATOLL_DATABASE_URL, { max: 6 + 2 * config.ATOLL_WORKER_CONCURRENCY, applicationName: 'atoll-cleanroom', onError: (err) => log.warn({ op: 'db.pool.error', err: err.message }, 'a database connection was lost') });
const s3 = { endpoint: config.ATOLL_S3_ENDPOINT, region: config.ATOLL_S3_REGION, accessKey: config.ATOLL_S3_ACCESS_KEY, secretKey: config.ATOLL_S3_SECRET_KEY };
const store = new ObjectStore(s3);
const redis = redisConnection(config.ATOLL_REDIS_URL);
const workerConnections: Array<ReturnType<typeof redisConnection>> = [];
const connection = () => {
  const c = redisConnection(config.ATOLL_REDIS_URL, { forWorker: true });
  workerConnections.push(c);
  return c;
};
const producer = new Producer(redis);
const lake = new Lake(store, pool, join(config.ATOLL_WORK_DIR, 'lake-cache'));
const limits = { memoryLimit: config.ATOLL_QUERY_MEMORY_LIMIT, threads: config.ATOLL_QUERY_THREADS, timeoutMs: config.ATOLL_QUERY_TIMEOUT_MS, maxQueryLength: config.ATOLL_QUERY_MAX_LENGTH, maxResultRows: config.ATOLL_QUERY_MAX_RESULT_ROWS };
const ctx: RunContext = { pool, lake, log, workDir: config.ATOLL_WORK_DIR, limits };

const runs = startWorker(
  jobs.subscriptionRun,
  async (job) => {
    const result = await runSubscription(ctx, job);
    if (job.data.reason === 'initial') {
      // Daily updates follow the initial load (SPEC §6); one scheduler per subscription, upserted idempotently.
      await producer.rawQueue(jobs.subscriptionRun.queue).upsertJobScheduler(
        `daily-${job.data.subscriptionId}`,
        { pattern: '0 3 * * *', tz: 'UTC' },
        { name: jobs.subscriptionRun.queue, data: { v: 1, subscriptionId: job.data.subscriptionId, reason: 'daily' }, opts: jobs.subscriptionRun.options },
      );
    }
    return result;
  },
  { connection: connection(), concurrency: config.ATOLL_WORKER_CONCURRENCY },
);
const estimates = serveCalls(jobs.estimate, (job) => computeEstimate({ pool, lake, workDir: config.ATOLL_WORK_DIR, limits }, job.data), {
  connection: connection(),
  concurrency: config.ATOLL_WORKER_CONCURRENCY,
});
const admin = createStorageAdmin(config.ATOLL_STORAGE, s3);
const provisioning = serveCalls(
  jobs.provision,
  async (job) => {
    const d = job.data;
    // Provider bulk keys: service accounts under a per-provider parent, scoped to its staging prefix (bulk-keys.ts).
    if (d.action === 'bulk-key') return provisionBulkKey({ admin, stagingBucket: config.ATOLL_BUCKET_STAGING, providerId: d.providerId, expiresAt: new Date(d.expiresAt) });
    if (d.action === 'bulk-revoke') return revokeBulkKey(admin, d.accessKeyId).then(() => ({ revoked: d.accessKeyId }));
    if (d.action === 'withdraw') return withdrawCleanroomKeys({ pool, admin }, d.consumerId);
    return provisionCleanroom({ pool, store, admin, bucketPrefix: config.ATOLL_BUCKET_CLEANROOM_PREFIX }, d);
  },
  { connection: connection(), concurrency: 2 },
);
// Billing's Stripe side: the reconciler sends ledger entries Stripe never acknowledged; the daily close invoices every
// past month not yet invoiced. Without a Stripe key the ledger still records every charge and nothing is sent.
const stripeBilling =
  config.ATOLL_STRIPE_API_BASE && config.ATOLL_STRIPE_SECRET_KEY
    ? new StripeBilling({ pool, log, stripe: stripeClient({ apiBase: config.ATOLL_STRIPE_API_BASE, secretKey: config.ATOLL_STRIPE_SECRET_KEY }) })
    : null;
const billing = startWorker(
  billingJobs.billing,
  async (job) => {
    if (!stripeBilling) return { skipped: 'no Stripe key configured' };
    if (job.data.task === 'reconcile') return stripeBilling.reconcile();
    // An explicit month is an operator's (or a test's) request; the schedule closes every past month still open.
    return job.data.month ? stripeBilling.closeMonth(job.data.month) : stripeBilling.closeDueMonths();
  },
  { connection: connection(), concurrency: 1 },
);
if (stripeBilling) {
  const q = producer.rawQueue(billingJobs.billing.queue);
  await q.upsertJobScheduler(RECONCILE_SCHEDULER, { every: config.ATOLL_BILLING_RECONCILE_MS }, { name: 'billing', data: { v: 1, task: 'reconcile' }, opts: billingJobs.billing.options });
  await q.upsertJobScheduler(CLOSE_MONTH_SCHEDULER, { pattern: '0 4 * * *', tz: 'UTC' }, { name: 'billing', data: { v: 1, task: 'close-month' }, opts: billingJobs.billing.options });
}
const workers = [runs, estimates, provisioning, billing];
for (const w of workers) {
  w.on('failed', (job, err) => log.warn({ op: `${w.name}.job.failed`, jobId: job?.id, attempts: job?.attemptsMade, err: err.message }, 'job failed'));
  w.on('error', (err) => log.error({ op: `${w.name}.worker.error`, err: err.message }, 'worker error'));
}

const health = await startHealthServer({
  host: config.ATOLL_HEALTH_HOST,
  port: config.ATOLL_HEALTH_PORT,
  ready: async () => {
    await pool.query('SELECT 1');
    return (await redis.ping()) === 'PONG' && workers.every((w) => w.isRunning());
  },
});
log.info({ op: 'cleanroom.started' }, 'cleanroom worker running');

onShutdown({
  log,
  timeoutMs: config.ATOLL_SHUTDOWN_TIMEOUT_MS,
  close: async () => {
    await Promise.all(workers.map((w) => w.close()));
    health.close();
    await producer.close();
    redis.disconnect();
    for (const c of workerConnections) c.disconnect();
    await pool.end();
  },
});
