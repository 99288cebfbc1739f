// A cleanroom-worker stand-in for the billing crash test: runs one subscription run (the same runSubscription the
// worker runs, as BullMQ job `jobId`) and prints "DONE <status> <recordsAdded>", so the test can SIGKILL it anywhere
// and run the same job again, as BullMQ would after a crash.
//   node --import tsx test/support/crash-run.ts <subscriptionId> <jobId>
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPool } from '@atoll/db';
import { Lake } from '@atoll/lake';
import { createLogger } from '@atoll/log';
import { runSubscription } from '@atoll/market';
import type { Job, SubscriptionRunJob } from '@atoll/queue';
import { ObjectStore } from '@atoll/storage';

const [subscriptionId, jobId] = process.argv.slice(2);
if (!subscriptionId || !jobId) {
  process.stderr.write('usage: crash-run <subscriptionId> <jobId>\n');
  process.exit(2);
}
const env = process.env;
const pool = createPool(env.ATOLL_DATABASE_URL!, { max: 4, applicationName: 'atoll-crash-run' });
const store = new ObjectStore({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey: env.ATOLL_S3_CLEANROOM_ACCESS_KEY!, secretKey: env.ATOLL_S3_CLEANROOM_SECRET_KEY! });
const workDir = join(tmpdir(), `atoll-crash-run-${process.pid}`);
const lake = new Lake(store, pool, join(workDir, 'cache'));
const log = createLogger({ name: 'crash-run', level: 'warn' });
const job = { id: jobId, data: { v: 1, subscriptionId, reason: 'manual' }, attemptsMade: 0, opts: { attempts: 8 } } as unknown as Job<SubscriptionRunJob>;
process.stdout.write('READY\n');
const out = await runSubscription({ pool, lake, log, workDir, limits: { memoryLimit: '256MB', threads: 1, timeoutMs: 60_000 } }, job);
process.stdout.write(`DONE ${out.status} ${out.recordsAdded}\n`);
await pool.end();
process.exit(0);
