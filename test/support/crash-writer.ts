// A writer process for the crash test: appends small files to one table in a loop and prints one line per durable
// step, so the test can SIGKILL it anywhere and compare the table with what was acknowledged.
//   node --import tsx test/support/crash-writer.ts <direct|batch> <namespace> <name> <fromIteration> [iterations]
// direct: "INTENT i", appendFiles(commitId crash:i), "ACK i <rows> <snapshotId> <alreadyCommitted>"
// batch:  "INTENT i", file written + recorded pending, "ACCEPT i <rows> <pendingId>"; every 2nd iteration and at
//         start the table's pending files are committed: "COMMITTED <files> <snapshotId>".
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commitPendingFiles, recordPendingFile } from '@atoll/writer';
import { createPool } from '@atoll/db';
import { appendFiles } from '@atoll/iceberg';
import { Lake, tableLocation, writeDataFileForTable, type SchemaColumn } from '@atoll/lake';
import { createLogger } from '@atoll/log';
import { Producer, redisConnection } from '@atoll/queue';
import { ObjectStore } from '@atoll/storage';

export const crashColumns: SchemaColumn[] = [
  { name: 'user_id', type: 'string', role: 'user_id' },
  { name: 'k', type: 'string' },
  { name: 'iteration', type: 'long' },
];

/** Rows of iteration i: 1..7, so a lost or doubled file always changes the count. */
export const rowsOf = (i: number): number => (i % 7) + 1;

const [mode, namespace, name, fromArg, iterationsArg] = process.argv.slice(2);
if ((mode !== 'direct' && mode !== 'batch') || !namespace || !name || fromArg === undefined) {
  process.stderr.write('usage: crash-writer <direct|batch> <namespace> <name> <from> [iterations]\n');
  process.exit(2);
}
const env = process.env;
const id = { namespace: namespace.split('.'), name };
const pool = createPool(env.ATOLL_DATABASE_URL!, { max: 4, applicationName: 'atoll-crash-writer' });
const store = new ObjectStore({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey: env.ATOLL_S3_WRITER_ACCESS_KEY!, secretKey: env.ATOLL_S3_WRITER_SECRET_KEY! });
const workDir = join(tmpdir(), `atoll-crash-${process.pid}`);
const lake = new Lake(store, pool, join(workDir, 'cache'));
const redis = redisConnection(env.ATOLL_REDIS_URL!);
// Commit jobs go to a queue prefix no worker serves: this process commits itself.
const producer = new Producer(redis, `atoll-crash-${name}`);
const log = createLogger({ name: 'crash-writer', level: 'warn' });
const ctx = { pool, lake, producer, log, commitDelayMs: 60_000 };
const say = (line: string): void => void process.stdout.write(`${line}\n`);

async function writeIteration(i: number): Promise<Awaited<ReturnType<typeof writeDataFileForTable>>['dataFile']> {
  const dir = join(workDir, String(i));
  await mkdir(dir, { recursive: true });
  const csv = join(dir, 'in.csv');
  const lines = ['user_id,k,iteration', ...Array.from({ length: rowsOf(i) }, (_, j) => `u${j},${i}-${j},${i}`)];
  await writeFile(csv, `${lines.join('\n')}\n`);
  const { dataFile } = await writeDataFileForTable({ lake, id, location: tableLocation(env.ATOLL_BUCKET_LAKE ?? 'atoll-lake', id), columns: crashColumns, input: csv, format: 'csv', workDir: dir, memoryLimit: '256MB' });
  await rm(dir, { recursive: true, force: true });
  return dataFile;
}

async function commitAll(): Promise<void> {
  for (const b of await commitPendingFiles(ctx, id)) say(`COMMITTED ${b.files} ${b.snapshotId}`);
}

const from = Number(fromArg);
const iterations = iterationsArg === undefined ? Number.POSITIVE_INFINITY : Number(iterationsArg);
say('READY');
if (mode === 'batch') await commitAll();
for (let i = from; i < from + iterations; i++) {
  say(`INTENT ${i}`);
  const dataFile = await writeIteration(i);
  if (mode === 'direct') {
    const commit = await appendFiles({ io: lake.io, catalog: lake.catalog, id, files: [dataFile], commitId: `crash:${i}` });
    say(`ACK ${i} ${dataFile.recordCount} ${commit.snapshotId} ${commit.alreadyCommitted}`);
  } else {
    const { pendingId } = await recordPendingFile(ctx, { id, dataFile });
    say(`ACCEPT ${i} ${dataFile.recordCount} ${pendingId}`);
    if (i % 2 === 1) await commitAll();
  }
}
if (mode === 'batch') await commitAll();
say('DONE');
await producer.close();
redis.disconnect();
await pool.end();
await rm(workDir, { recursive: true, force: true });
