// Entry point of the cleanroom worker: subscription runs (initial load, daily and on-demand updates).
import { join } from 'node:path';
import { WorkerConfigSchema, loadConfig } from '@atoll/config';
import { createPool } from '@atoll/db';
import { Lake } from '@atoll/lake';
import { createLogger } from '@atoll/log';
import { Producer, jobs, redisConnection, startWorker } from '@atoll/queue';
import { onShutdown, startHealthServer } from '@atoll/runtime';
import { ObjectStore } from '@atoll/storage';
import { processSubscriptionRun, type CleanroomContext } from './run.js';

const config = loadConfig(WorkerConfigSchema);
const log = createLogger({ name: 'cleanroom', level: config.ATOLL_LOG_LEVEL });
const pool = createPool(config.ATOLL_DATABASE_URL, { max: 4 + config.ATOLL_WORKER_CONCURRENCY, applicationName: 'atoll-cleanroom' });
const store = new ObjectStore({ endpoint: config.ATOLL_S3_ENDPOINT, region: config.ATOLL_S3_REGION, accessKey: config.ATOLL_S3_ACCESS_KEY, secretKey: config.ATOLL_S3_SECRET_KEY });
const redis = redisConnection(config.ATOLL_REDIS_URL);
const workerRedis = redisConnection(config.ATOLL_REDIS_URL, { forWorker: true });
const producer = new Producer(redis);
const ctx: CleanroomContext = {
  pool,
  lake: new Lake(store, pool, join(config.ATOLL_WORK_DIR, 'lake-cache')),
  log,
  workDir: config.ATOLL_WORK_DIR,
  limits: { memoryLimit: config.ATOLL_QUERY_MEMORY_LIMIT, threads: 1, timeoutMs: config.ATOLL_QUERY_TIMEOUT_MS },
};

const worker = startWorker(
  jobs.subscriptionRun,
  async (job) => {
    const result = await processSubscriptionRun(ctx, job);
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
  { connection: workerRedis, concurrency: config.ATOLL_WORKER_CONCURRENCY },
);
worker.on('failed', (job, err) => log.warn({ op: 'subscription.job.failed', jobId: job?.id, attempts: job?.attemptsMade, err: err.message }, 'job failed'));
worker.on('error', (err) => log.error({ op: 'subscription.worker.error', err: err.message }, 'worker error'));

const health = await startHealthServer({
  host: config.ATOLL_HEALTH_HOST,
  port: config.ATOLL_HEALTH_PORT,
  ready: async () => {
    await pool.query('SELECT 1');
    return (await redis.ping()) === 'PONG' && worker.isRunning();
  },
});
log.info({ op: 'cleanroom.started' }, 'cleanroom worker running');

onShutdown({
  log,
  timeoutMs: config.ATOLL_SHUTDOWN_TIMEOUT_MS,
  close: async () => {
    await worker.close();
    health.close();
    await producer.close();
    redis.disconnect();
    workerRedis.disconnect();
    await pool.end();
  },
});
