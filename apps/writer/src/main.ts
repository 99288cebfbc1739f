// Entry point of the writer: ingest (staging → raw table) and prepare (raw → published dataset) workers.
import { join } from 'node:path';
import { WriterConfigSchema, loadConfig } from '@atoll/config';
import { createPool } from '@atoll/db';
import { Lake } from '@atoll/lake';
import { createLogger } from '@atoll/log';
import { Producer, jobs, redisConnection, startWorker } from '@atoll/queue';
import { onShutdown, startHealthServer } from '@atoll/runtime';
import { ObjectStore } from '@atoll/storage';
import { processIngest, type WriterContext } from './ingest.js';
import { processPrepare } from './prepare.js';

const config = loadConfig(WriterConfigSchema);
const log = createLogger({ name: 'writer', level: config.ATOLL_LOG_LEVEL });
const pool = createPool(config.ATOLL_DATABASE_URL, { max: 4 + config.ATOLL_WORKER_CONCURRENCY, applicationName: 'atoll-writer' });
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
};

const workers = [
  startWorker(jobs.ingest, (job) => processIngest(ctx, job), { connection: workerRedis, concurrency: config.ATOLL_WORKER_CONCURRENCY }),
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
log.info({ op: 'writer.started', concurrency: config.ATOLL_WORKER_CONCURRENCY }, 'writer workers running');

onShutdown({
  log,
  timeoutMs: config.ATOLL_SHUTDOWN_TIMEOUT_MS,
  close: async () => {
    // Closing a worker waits for its jobs in flight.
    await Promise.all(workers.map((w) => w.close()));
    health.close();
    await producer.close();
    redis.disconnect();
    workerRedis.disconnect();
    await pool.end();
  },
});
