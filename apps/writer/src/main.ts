// Entry point of the writer: ingest (staging → lake file), commit (pending files → one snapshot per table), prepare
// (raw → published dataset), maintenance (per-table job schedulers) and purge (tables the catalog dropped) workers.
import { join } from 'node:path';
import { WriterConfigSchema, loadConfig } from '@atoll/config';
import { createPool } from '@atoll/db';
import { flushVersionHints, onVersionHintFailure } from '@atoll/iceberg';
import { Lake } from '@atoll/lake';
import { createLogger } from '@atoll/log';
import { Producer, bulkJobs, commitJobs, jobs, redisConnection, startWorker, upsertBulkReconcileScheduler } from '@atoll/queue';
import { onShutdown, startHealthServer } from '@atoll/runtime';
import { ObjectStore } from '@atoll/storage';
import { processCommit, type MetadataWriterContext } from './batch.js';
import { drainBulkNotifications, reconcileStaging } from './bulk.js';
import { requeueStrandedCommits, requeueStrandedUploads, type StrandedCommits, type StrandedPass } from './stranded.js';
import { processIngest, type WriterContext } from './ingest.js';
import { processMaintenance, scheduleAllMaintenance, scheduleTableMaintenance, type MaintenanceContext } from './maintenance.js';
import { lakeMaintenanceTasks } from './maintenance-tasks.js';
import { processPrepare } from './prepare.js';
import { processPurge } from './purge.js';

const config = loadConfig(WriterConfigSchema);
const log = createLogger({ name: 'writer', level: config.ATOLL_LOG_LEVEL });
// Commit and prepare jobs each hold a connection for their whole run and need a second one meanwhile.
const pool = createPool(config.ATOLL_DATABASE_URL, { max: 4 + 3 * config.ATOLL_WORKER_CONCURRENCY, applicationName: 'atoll-writer', onError: (err) => log.warn({ op: 'db.pool.error', err: err.message }, 'a database connection was lost') });
const store = new ObjectStore({ endpoint: config.ATOLL_S3_ENDPOINT, region: config.ATOLL_S3_REGION, accessKey: config.ATOLL_S3_ACCESS_KEY, secretKey: config.ATOLL_S3_SECRET_KEY });
const redis = redisConnection(config.ATOLL_REDIS_URL);
const workerRedis = redisConnection(config.ATOLL_REDIS_URL, { forWorker: true });
const producer = new Producer(redis);
const ctx: WriterContext = {
  pool,
  lake: new Lake(store, pool, join(config.ATOLL_WORK_DIR, 'lake-cache')),
  producer,
  log,
  workDir: config.ATOLL_WORK_DIR,
  stagingBucket: config.ATOLL_BUCKET_STAGING,
  lakeBucket: config.ATOLL_BUCKET_LAKE,
  memoryLimit: config.ATOLL_QUERY_MEMORY_LIMIT,
  threads: config.ATOLL_WRITER_THREADS,
  bulk: {
    limits: { maxBytes: config.ATOLL_BULK_MAX_INFLATED_BYTES, maxRatio: config.ATOLL_BULK_MAX_INFLATE_RATIO },
    eventsKey: config.ATOLL_BULK_EVENTS_KEY,
    ...(config.ATOLL_ORC_CONVERTER ? { orc: { binary: config.ATOLL_ORC_CONVERTER, maxStripeBytes: config.ATOLL_ORC_MAX_STRIPE_BYTES } } : {}),
  },
};

// Commit and prepare jobs write version-hint.text after they return; a failed write leaves the hint one commit behind
// until the table's next commit (the catalog is unaffected).
onVersionHintFailure((err, table) => log.warn({ op: 'commit.version_hint.failed', table, err: err.message }, 'version hint not written; the next commit of the table writes it'));

const scheduled = new Set<string>();
const commitCtx: MetadataWriterContext = {
  ...ctx,
  // A table's first commit in this process makes sure it has a maintenance scheduler (new tables get one here).
  onTableCommitted: async (id) => {
    const key = [...id.namespace, id.name].join('.');
    if (scheduled.has(key)) return;
    await scheduleTableMaintenance(ctx, id);
    scheduled.add(key);
  },
};
const maintenanceCtx: MaintenanceContext = { ...ctx, tasks: lakeMaintenanceTasks, workDir: join(config.ATOLL_WORK_DIR, 'maintenance') };

const reconcileAll = async (): Promise<{ bulk: Awaited<ReturnType<typeof reconcileStaging>>; stranded: StrandedPass; strandedCommits: StrandedCommits }> => ({
  bulk: await reconcileStaging(ctx),
  stranded: await requeueStrandedUploads(ctx, { olderThanMs: config.ATOLL_UPLOAD_STRANDED_MS }),
  strandedCommits: await requeueStrandedCommits(ctx, { olderThanMs: config.ATOLL_UPLOAD_STRANDED_MS }),
});

const workers = [
  startWorker(jobs.ingest, (job) => processIngest(ctx, job), { connection: workerRedis, concurrency: config.ATOLL_WORKER_CONCURRENCY }),
  startWorker(commitJobs.commit, (job) => processCommit(commitCtx, job), { connection: workerRedis, concurrency: config.ATOLL_WORKER_CONCURRENCY }),
  // Maintenance rewrites whole tables: one at a time per replica keeps it from starving ingest.
  startWorker(commitJobs.maintenance, (job) => processMaintenance(maintenanceCtx, job), { connection: workerRedis, concurrency: 1 }),
  // One scheduled pass for staging: bulk files no notification announced, and api uploads whose job went missing.
  startWorker(bulkJobs.reconcile, () => reconcileAll(), { connection: workerRedis, concurrency: 1 }),
  startWorker(commitJobs.purge, (job) => processPurge(ctx, job), { connection: workerRedis, concurrency: 1 }),
  startWorker(jobs.prepare, (job) => processPrepare({ ...ctx, tidKey: config.ATOLL_TID_KEY }, job), { connection: workerRedis, concurrency: config.ATOLL_WORKER_CONCURRENCY }),
];
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

// MinIO's bucket notifications for the staging bucket arrive on a Redis list; a blocking pop needs its own connection.
const notifyRedis = redisConnection(config.ATOLL_REDIS_URL, { forWorker: true });
const stopNotifications = new AbortController();
const draining = drainBulkNotifications(ctx, notifyRedis, ctx.bulk!, config.ATOLL_BUCKET_STAGING, stopNotifications.signal);

onShutdown({
  log,
  timeoutMs: config.ATOLL_SHUTDOWN_TIMEOUT_MS,
  close: async () => {
    stopNotifications.abort();
    await draining;
    notifyRedis.disconnect();
    // Closing a worker waits for its jobs in flight.
    await Promise.all(workers.map((w) => w.close()));
    // The hints of the last commits, before the database they re-check the pointer in goes away.
    await flushVersionHints();
    health.close();
    await producer.close();
    redis.disconnect();
    workerRedis.disconnect();
    await pool.end();
  },
});

// Scheduling talks to Redis and Postgres; it runs after the signal handlers are in place so a SIGTERM during start-up
// still shuts down gracefully.
// A writer killed after popping a notification but before recording its object would otherwise leave that file to
// the next scheduled pass (up to ATOLL_BULK_RECONCILE_MS away): reconcile once now. Idempotent across replicas.
try {
  await reconcileAll();
} catch (e) {
  log.warn({ op: 'bulk.reconcile.error', err: (e as Error).message }, 'start-up reconcile failed; the scheduled pass will retry');
}
const maintained = await scheduleAllMaintenance(ctx);
await upsertBulkReconcileScheduler(producer, config.ATOLL_BULK_RECONCILE_MS);
log.info({ op: 'writer.maintenance.scheduled', tables: maintained }, 'maintenance schedulers upserted');
log.info({ op: 'writer.started', concurrency: config.ATOLL_WORKER_CONCURRENCY }, 'writer workers running');
