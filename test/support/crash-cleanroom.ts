// A cleanroom worker process for the delivery crash test: runs one subscription run the way the BullMQ worker does
// (same job id on every retry) and prints one line per milestone, so the test can SIGKILL it anywhere and start it
// again, as a queue retry would.
//   node --import tsx test/support/crash-cleanroom.ts <subscriptionId> <jobId> <attempt>
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPool } from '@atoll/db';
import { Lake } from '@atoll/lake';
import { createLogger } from '@atoll/log';
import { runSubscription } from '@atoll/market';
import type { Job, SubscriptionRunJob } from '@atoll/queue';
import { ObjectStore } from '@atoll/storage';

const [subscriptionId, jobId, attemptArg] = process.argv.slice(2);
if (!subscriptionId || !jobId || attemptArg === undefined) {
  process.stderr.write('usage: crash-cleanroom <subscriptionId> <jobId> <attempt>\n');
  process.exit(2);
}
const env = process.env;
const pool = createPool(env.ATOLL_DATABASE_URL!, { max: 4, applicationName: 'atoll-crash-cleanroom' });
const store = new ObjectStore({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey: env.ATOLL_S3_CLEANROOM_ACCESS_KEY!, secretKey: env.ATOLL_S3_CLEANROOM_SECRET_KEY! });
const workDir = join(tmpdir(), `atoll-crash-cleanroom-${process.pid}`);
const log = createLogger({ name: 'crash-cleanroom', level: 'warn' });
const job = { id: jobId, data: { v: 1, subscriptionId, reason: 'manual' }, attemptsMade: Number(attemptArg), opts: { attempts: 1000 } } as unknown as Job<SubscriptionRunJob>;
process.stdout.write('READY\n');
const outcome = await runSubscription({ pool, lake: new Lake(store, pool, join(workDir, 'cache')), log, workDir, limits: { memoryLimit: '256MB', threads: 1, timeoutMs: 60_000 } }, job);
process.stdout.write(`DONE ${JSON.stringify(outcome)}\n`);
await pool.end();
