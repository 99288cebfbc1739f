// Commit throughput on one table: the same number of appends by 1 (serial), 8 and 32 concurrent writers (direct
// compare-and-swap commits, each its own snapshot), and by 32 writers through the metadata writers (pending files +
// per-table commit job, many files per snapshot). Every commit must land; the ratio is serial time / concurrent time,
// i.e. aggregate throughput relative to serial.
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createPool, type Pool } from '@atoll/db';
import { Duck, literal } from '@atoll/duck';
import { appendFiles, createTable, dataFileFromParquet, dropTable, duckdbFieldIds, loadTable, planFiles, type DataFile, type TableIdentifier } from '@atoll/iceberg';
import { Lake, rawSchema } from '@atoll/lake';
import { createLogger } from '@atoll/log';
import { Producer, commitJobs, redisConnection, startWorker } from '@atoll/queue';
import { ObjectStore, parseS3Uri } from '@atoll/storage';
import { processCommit, recordPendingFile } from '@atoll/writer';
import { compare, type BenchResult } from './harness.js';
import { purchaseColumns } from './ingest.bench.js';

const schema = rawSchema(purchaseColumns);

/** `count` data files with identical small contents under distinct keys of `location`/data (stats are per file). */
export async function smallFiles(lake: Lake, location: string, count: number, workDir: string): Promise<DataFile[]> {
  await mkdir(join(workDir, 'tmp'), { recursive: true });
  const local = join(workDir, 'small.parquet');
  const duck = await Duck.open({ threads: 1, memoryLimit: '256MB', tempDirectory: join(workDir, 'tmp') });
  let template: DataFile;
  try {
    await duck.run(
      `COPY (SELECT 'user-' || i AS user_id, 'books' AS category, CAST(i AS DECIMAL(12,2)) AS amount, i::BIGINT AS quantity, i / 3.0 AS score, false AS returned, TIMESTAMP '2026-01-01' + INTERVAL (i) MINUTE AS purchased_at FROM range(10) t(i)) TO ${literal(local)} (FORMAT parquet, FIELD_IDS ${duckdbFieldIds(schema)})`,
    );
    template = await dataFileFromParquet(local, { uri: `${location}/data/template.parquet`, schema, connection: duck.connection });
  } finally {
    duck.close();
  }
  const files = Array.from({ length: count }, () => ({ ...template, filePath: `${location}/data/${randomUUID()}.parquet` }));
  for (let i = 0; i < files.length; i += 16) {
    await Promise.all(files.slice(i, i + 16).map((f) => lake.store.putFile(parseS3Uri(f.filePath).bucket, parseS3Uri(f.filePath).key, local)));
  }
  return files;
}

async function freshTable(lake: Lake, tag: string): Promise<{ id: TableIdentifier; location: string }> {
  const name = `commits_${tag}_${Date.now()}_${randomUUID().slice(0, 6)}`;
  const id = { namespace: ['bench'], name };
  const location = `s3://atoll-lake/bench/${name}`;
  await createTable({ io: lake.io, catalog: lake.catalog, id, location, schema });
  return { id, location };
}

async function verify(lake: Lake, id: TableIdentifier, files: DataFile[]): Promise<void> {
  const live = await planFiles({ io: lake.io, metadata: (await loadTable({ io: lake.io, catalog: lake.catalog, id })).metadata });
  const want = new Set(files.map((f) => f.filePath));
  if (live.length !== files.length || !live.every((f) => want.has(f.filePath))) throw new Error(`table ${id.name}: ${live.length} live files, expected exactly the ${files.length} committed`);
}

export async function benchCommits(opts: { env: Record<string, string>; workDir: string; repeats: number; commits: number }): Promise<BenchResult[]> {
  const { env } = opts;
  const store = new ObjectStore({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey: env.ATOLL_S3_WRITER_ACCESS_KEY!, secretKey: env.ATOLL_S3_WRITER_SECRET_KEY! });
  const root = new ObjectStore({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey: env.ATOLL_S3_ROOT_USER!, secretKey: env.ATOLL_S3_ROOT_PASSWORD! });
  const pool: Pool = createPool(env.ATOLL_DATABASE_URL!, { max: 48, applicationName: 'atoll-bench' });
  const lake = new Lake(store, pool, join(opts.workDir, 'cache'));
  const tables: TableIdentifier[] = [];
  const results: BenchResult[] = [];
  const workDir = join(opts.workDir, 'commits');

  const prepared = async (tag: string): Promise<{ id: TableIdentifier; files: DataFile[] }> => {
    const t = await freshTable(lake, tag);
    tables.push(t.id);
    return { id: t.id, files: await smallFiles(lake, t.location, opts.commits, workDir) };
  };
  // Tables and files are made before the timed part so only commits are measured.
  const direct = (writers: number) => {
    const runs: Array<{ id: TableIdentifier; files: DataFile[] }> = [];
    return {
      setup: async () => void runs.push(await prepared(`w${writers}`)),
      run: async (i: number) => {
        const { id, files } = runs[i]!;
        await Promise.all(
          Array.from({ length: writers }, async (_, w) => {
            for (let c = w; c < files.length; c += writers) await appendFiles({ io: lake.io, catalog: lake.catalog, id, files: [files[c]!], commitId: `c${c}` });
          }),
        );
        await verify(lake, id, files);
      },
    };
  };

  try {
    for (const writers of [8, 32]) {
      const serial = direct(1);
      const concurrent = direct(writers);
      for (let i = 0; i < opts.repeats; i++) {
        await serial.setup();
        await concurrent.setup();
      }
      let serialRun = 0;
      let concurrentRun = 0;
      const r = await compare({
        name: 'commits on one table (aggregate throughput)',
        params: { commits: opts.commits, writers },
        baseline: '1 writer (serial)',
        repeats: opts.repeats,
        ...(writers === 32 ? { target: 0.9 } : {}),
        runBaseline: () => serial.run(serialRun++),
        runAtoll: () => concurrent.run(concurrentRun++),
      });
      r.params.serialCommitsPerSec = Number((opts.commits / r.baselineSeconds).toFixed(1));
      r.params.commitsPerSec = Number((opts.commits / r.atollSeconds).toFixed(1));
      results.push(r);
    }

    // 32 writers through the metadata writers: record pending + one commit job per table generation.
    const prefix = `atoll-bench-${randomUUID().slice(0, 8)}`;
    const redis = redisConnection(env.ATOLL_REDIS_URL!);
    const workerRedis = redisConnection(env.ATOLL_REDIS_URL!, { forWorker: true });
    const producer = new Producer(redis, prefix);
    const ctx = { pool, lake, producer, log: createLogger({ name: 'bench', level: 'silent' }), commitDelayMs: 50 };
    const worker = startWorker(commitJobs.commit, (job) => processCommit(ctx, job), { connection: workerRedis, concurrency: 2, prefix });
    try {
      const runs: Array<{ id: TableIdentifier; files: DataFile[] }> = [];
      const serialRuns: Array<{ id: TableIdentifier; files: DataFile[] }> = [];
      for (let i = 0; i < opts.repeats; i++) {
        runs.push(await prepared('batched'));
        serialRuns.push(await prepared('serial'));
      }
      let b = 0;
      let s = 0;
      const r = await compare({
        name: 'commits on one table (aggregate throughput)',
        params: { commits: opts.commits, writers: 32, path: 'metadata writers (batched)' },
        baseline: '1 writer (serial, direct)',
        repeats: opts.repeats,
        runBaseline: async () => {
          const { id, files } = serialRuns[s++]!;
          for (const [c, f] of files.entries()) await appendFiles({ io: lake.io, catalog: lake.catalog, id, files: [f], commitId: `c${c}` });
        },
        runAtoll: async () => {
          const { id, files } = runs[b++]!;
          await Promise.all(Array.from({ length: 32 }, async (_, w) => {
            for (let c = w; c < files.length; c += 32) await recordPendingFile(ctx, { id, dataFile: files[c]! });
          }));
          for (;;) {
            const { rows } = await pool.query<{ n: string | number }>(`SELECT count(*) AS n FROM pending_data_files WHERE namespace = 'bench' AND name = $1 AND status = 'pending'`, [id.name]);
            if (Number(rows[0]!.n) === 0) break;
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
          await verify(lake, id, files);
        },
      });
      const snapshots = await Promise.all(runs.map(async (t) => (await loadTable({ io: lake.io, catalog: lake.catalog, id: t.id })).metadata.snapshots.length));
      r.params.snapshotsPerRun = snapshots.join('/');
      r.params.commitsPerSec = Number((opts.commits / r.atollSeconds).toFixed(1));
      results.push(r);
    } finally {
      await worker.close();
      await producer.rawQueue(commitJobs.commit.queue).obliterate({ force: true });
      await producer.close();
      redis.disconnect();
      workerRedis.disconnect();
    }
  } finally {
    for (const id of tables) {
      await dropTable({ catalog: lake.catalog, id });
      await root.removeObjects('atoll-lake', (await root.listObjects('atoll-lake', `bench/${id.name}/`)).map((o) => o.key));
    }
    await pool.end();
    await rm(workDir, { recursive: true, force: true });
  }
  return results;
}
