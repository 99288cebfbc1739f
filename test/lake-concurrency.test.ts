// 32 writers committing to one table at once, against real MinIO (writer key) and PostgreSQL: direct appends, the
// batching path (ingest → pending files → per-table commit jobs on BullMQ) racing direct appends, and the coalescing
// of many staged files into one snapshot. Every commit lands exactly once and the rows read back are exact.
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { appendFiles, loadTable, type DataFile, type TableIdentifier } from '@atoll/iceberg';
import { rawTableId, tableLocation, writeDataFileForTable, type Lake, type SchemaColumn } from '@atoll/lake';
import { createLogger } from '@atoll/log';
import { Producer, commitJobs, jobs, redisConnection, startWorker, type IngestJob, type Job, type PrepareJob } from '@atoll/queue';
import { ObjectStore } from '@atoll/storage';
import { commitPendingFiles, processCommit, processIngest, recordPendingFile, type WriterContext } from '@atoll/writer';
import { describe, expect, it } from 'vitest';
import { env, operator, providerWithTable } from './support/actors.js';
import { lakeFixture, readTable, uniqueName, writeCsv } from './support/lake-helpers.js';

const WRITERS = 32;
const columns: SchemaColumn[] = [
  { name: 'user_id', type: 'string', role: 'user_id' },
  { name: 'k', type: 'string' },
  { name: 'iteration', type: 'long' },
];
const log = createLogger({ name: 'lake-concurrency-test', level: 'silent' });

async function dataFiles(fx: { lake: Lake; workDir: string }, id: TableIdentifier, tags: string[], rowsOf: (i: number) => number): Promise<DataFile[]> {
  const out: DataFile[] = [];
  for (const [i, tag] of tags.entries()) {
    const dir = join(fx.workDir, tag);
    const input = await writeCsv(dir, tag, rowsOf(i));
    const { dataFile } = await writeDataFileForTable({ lake: fx.lake, id, location: tableLocation('atoll-lake', id), columns, input, format: 'csv', workDir: dir, memoryLimit: '256MB' });
    out.push(dataFile);
  }
  return out;
}

const expectedKeys = (tags: string[], rowsOf: (i: number) => number): string[] => tags.flatMap((t, i) => Array.from({ length: rowsOf(i) }, (_, j) => `${t}-${j}`)).sort();

describe('32 concurrent writers on one table', () => {
  it('direct appendFiles: 32 snapshots, each commit id once, exact rows; retried commits add nothing', async () => {
    await using fx = await lakeFixture();
    const id: TableIdentifier = { namespace: ['itest'], name: uniqueName('conc_direct') };
    const tags = Array.from({ length: WRITERS }, (_, i) => `w${i}`);
    const rowsOf = (i: number): number => (i % 5) + 1;
    const files = await dataFiles(fx, id, tags, rowsOf);

    const results = await Promise.all(files.map((f, i) => appendFiles({ io: fx.lake.io, catalog: fx.lake.catalog, id, files: [f], commitId: `w:${i}` })));
    expect(results.every((r) => !r.alreadyCommitted)).toBe(true);
    expect(new Set(results.map((r) => r.snapshotId)).size).toBe(WRITERS);

    const state = await readTable(fx.lake, id, fx.workDir);
    const total = tags.reduce((n, _t, i) => n + rowsOf(i), 0);
    expect(state.snapshots).toBe(WRITERS);
    expect([...state.commitIds].sort()).toEqual(tags.map((_t, i) => `w:${i}`).sort());
    expect(state.files).toHaveLength(WRITERS);
    expect(new Set(state.files).size).toBe(WRITERS);
    expect(state.records).toBe(total);
    expect(state.summaryTotalRecords).toBe(total);
    expect(state.keys).toEqual(expectedKeys(tags, rowsOf));

    // The same 32 commits again (every job retried at once): each finds its commit id, the table is unchanged.
    const again = await Promise.all(files.map((f, i) => appendFiles({ io: fx.lake.io, catalog: fx.lake.catalog, id, files: [f], commitId: `w:${i}` })));
    expect(again.every((r) => r.alreadyCommitted)).toBe(true);
    expect(again.map((r) => r.snapshotId)).toEqual(results.map((r) => r.snapshotId));
    const after = await readTable(fx.lake, id, fx.workDir);
    expect(after.snapshots).toBe(WRITERS);
    expect(after.keys).toEqual(state.keys);
  });

  it('32 staged files recorded at once become one commit job and one snapshot', async () => {
    await using fx = await lakeFixture();
    const id: TableIdentifier = { namespace: ['itest'], name: uniqueName('conc_coalesce') };
    const tags = Array.from({ length: WRITERS }, (_, i) => `c${i}`);
    const rowsOf = (i: number): number => (i % 3) + 1;
    const files = await dataFiles(fx, id, tags, rowsOf);
    const prefix = `atoll-it-${randomUUID().slice(0, 8)}`;
    const redis = redisConnection(env.ATOLL_REDIS_URL!);
    const workerRedis = redisConnection(env.ATOLL_REDIS_URL!, { forWorker: true });
    const producer = new Producer(redis, prefix);
    const ctx = { pool: fx.pool, lake: fx.lake, producer, log, commitDelayMs: 200 };
    try {
      const recorded = await Promise.all(files.map((dataFile) => recordPendingFile(ctx, { id, dataFile })));
      expect(recorded.every((r) => r.recorded)).toBe(true);
      // Every upload of the same generation shares one job id; BullMQ keeps one job.
      expect(new Set(recorded.map((r) => r.commitJobId)).size).toBe(1);
      expect(await producer.rawQueue(commitJobs.commit.queue).getJobCounts('delayed', 'waiting')).toMatchObject({ delayed: 1, waiting: 0 });

      const worker = startWorker(commitJobs.commit, (job) => processCommit(ctx, job), { connection: workerRedis, concurrency: 2, prefix });
      try {
        const pendingLeft = async (): Promise<number> =>
          Number((await fx.pool.query<{ n: string }>(`SELECT count(*) AS n FROM pending_data_files WHERE namespace = 'itest' AND name = $1 AND status = 'pending'`, [id.name])).rows[0]!.n);
        await expect.poll(pendingLeft, { timeout: 30_000, interval: 100 }).toBe(0);
      } finally {
        await worker.close();
      }
      const state = await readTable(fx.lake, id, fx.workDir);
      expect(state.snapshots).toBe(1);
      expect(state.files.sort()).toEqual(files.map((f) => f.filePath).sort());
      expect(state.keys).toEqual(expectedKeys(tags, rowsOf));
      const batch = await fx.pool.query<{ files: number; snapshot_id: string; finished_at: Date | null }>('SELECT files, snapshot_id, finished_at FROM commit_batches WHERE name = $1', [id.name]);
      expect(batch.rows).toHaveLength(1);
      expect(batch.rows[0]!.files).toBe(WRITERS);
      expect(batch.rows[0]!.finished_at).not.toBeNull();
      expect(state.commitIds).toEqual([`batch:${(await fx.pool.query<{ id: string }>('SELECT id FROM commit_batches WHERE name = $1', [id.name])).rows[0]!.id}`]);
    } finally {
      await producer.rawQueue(commitJobs.commit.queue).obliterate({ force: true });
      await producer.close();
      redis.disconnect();
      workerRedis.disconnect();
    }
  });

  it('a pending file that can no longer be committed (its object gone, or another size) is set aside with its reason; the rest commit', async () => {
    await using fx = await lakeFixture();
    const id: TableIdentifier = { namespace: ['itest'], name: uniqueName('conc_poison') };
    const tags = ['p0', 'p1', 'p2', 'p3'];
    const files = await dataFiles(fx, id, tags, () => 2);
    const redis = redisConnection(env.ATOLL_REDIS_URL!);
    const producer = new Producer(redis, `atoll-it-${randomUUID().slice(0, 8)}`);
    const ctx = { pool: fx.pool, lake: fx.lake, producer, log, commitDelayMs: 600_000 };
    try {
      for (const dataFile of files) await recordPendingFile(ctx, { id, dataFile });
      const root = new ObjectStore({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey: env.ATOLL_S3_ROOT_USER!, secretKey: env.ATOLL_S3_ROOT_PASSWORD! });
      const at = (f: DataFile) => ({ bucket: 'atoll-lake', key: f.filePath.replace('s3://atoll-lake/', '') });
      await root.removeObject(at(files[1]!).bucket, at(files[1]!).key);
      await root.putObject(at(files[2]!).bucket, at(files[2]!).key, Buffer.from('not the parquet file it was'));
      await commitPendingFiles(ctx, id);
      const state = await readTable(fx.lake, id, fx.workDir);
      expect(state.files.sort()).toEqual([files[0]!.filePath, files[3]!.filePath].sort());
      expect(state.keys).toEqual(['p0-0', 'p0-1', 'p3-0', 'p3-1']);
      const rows = await fx.pool.query<{ file_path: string; status: string; reason: string | null }>('SELECT file_path, status, reason FROM pending_data_files WHERE namespace = $1 AND name = $2', ['itest', id.name]);
      const byPath = new Map(rows.rows.map((r) => [r.file_path, r]));
      expect(byPath.get(files[1]!.filePath)).toMatchObject({ status: 'quarantined', reason: 'the staged data file could not be committed: its data file is missing from the lake' });
      expect(byPath.get(files[2]!.filePath)?.status).toBe('quarantined');
      expect(byPath.get(files[2]!.filePath)?.reason).toMatch(/its data file is \d+ bytes, not the \d+ it was written with/);
      expect(byPath.get(files[0]!.filePath)?.status).toBe('committed');
      // The next commit is not held up by them.
      const [later] = await dataFiles(fx, id, ['p4'], () => 1);
      await recordPendingFile(ctx, { id, dataFile: later! });
      await commitPendingFiles(ctx, id);
      expect((await readTable(fx.lake, id, fx.workDir)).keys).toEqual(['p0-0', 'p0-1', 'p3-0', 'p3-1', 'p4-0']);
    } finally {
      await producer.rawQueue(commitJobs.commit.queue).obliterate({ force: true });
      await producer.close();
      redis.disconnect();
    }
  });

  it("the writer's commit jobs build on the metadata it committed last instead of reading it back, and still see another process's commit", async () => {
    await using fx = await lakeFixture();
    const id: TableIdentifier = { namespace: ['itest'], name: uniqueName('conc_reuse') };
    const tags = ['r0', 'r1', 'r2', 'r3'];
    const files = await dataFiles(fx, id, tags, () => 1);
    const metadataReads: string[] = [];
    const read = fx.lake.io.read.bind(fx.lake.io);
    fx.lake.io.read = (uri: string) => {
      if (uri.endsWith('.metadata.json')) metadataReads.push(uri);
      return read(uri);
    };
    const redis = redisConnection(env.ATOLL_REDIS_URL!);
    const producer = new Producer(redis, `atoll-it-${randomUUID().slice(0, 8)}`);
    const ctx = { pool: fx.pool, lake: fx.lake, producer, log, commitDelayMs: 600_000 };
    try {
      await recordPendingFile(ctx, { id, dataFile: files[0]! });
      await commitPendingFiles(ctx, id);
      metadataReads.length = 0;
      // Each batch makes its own catalog object (for its swap hook); the next one still knows what the last committed.
      await recordPendingFile(ctx, { id, dataFile: files[1]! });
      await commitPendingFiles(ctx, id);
      expect(metadataReads).toEqual([]);
      // Another process commits in between (a second writer, its own pool): the guess loses its swap, the pointer
      // is read, and the batch lands on top of that commit.
      await using other = await lakeFixture();
      await appendFiles({ io: other.lake.io, catalog: other.lake.catalog, id, files: [files[2]!], commitId: 'other-process' });
      await recordPendingFile(ctx, { id, dataFile: files[3]! });
      await commitPendingFiles(ctx, id);
      expect(metadataReads.length).toBeGreaterThan(0);
      const state = await readTable(fx.lake, id, fx.workDir);
      expect(state.snapshots).toBe(4);
      expect(state.keys).toEqual(['r0-0', 'r1-0', 'r2-0', 'r3-0']);
    } finally {
      await producer.rawQueue(commitJobs.commit.queue).obliterate({ force: true });
      await producer.close();
      redis.disconnect();
    }
  });

  it('32 API-style uploads through ingest + commit jobs, racing 8 direct appends: every upload loaded once, exact rows, prepare queued', async () => {
    await using fx = await lakeFixture();
    const op = await operator();
    const provider = await providerWithTable(op);
    const id = rawTableId(provider.id, 'events');
    const root = new ObjectStore({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey: env.ATOLL_S3_ROOT_USER!, secretKey: env.ATOLL_S3_ROOT_PASSWORD! });
    const prefix = `atoll-it-${randomUUID().slice(0, 8)}`;
    const redis = redisConnection(env.ATOLL_REDIS_URL!);
    const workerRedis = redisConnection(env.ATOLL_REDIS_URL!, { forWorker: true });
    const producer = new Producer(redis, prefix);
    const ctx: WriterContext = {
      pool: fx.pool,
      lake: fx.lake,
      producer,
      log,
      workDir: fx.workDir,
      stagingBucket: 'atoll-staging',
      lakeBucket: 'atoll-lake',
      memoryLimit: '256MB',
      commitDelayMs: 150,
    };
    // Two replicas of the metadata writer.
    const workers = [0, 1].map(() => startWorker(commitJobs.commit, (job) => processCommit(ctx, job), { connection: workerRedis, concurrency: 4, prefix }));
    try {
      const uploads = Array.from({ length: WRITERS }, (_, i) => ({ id: randomUUID(), rows: (i % 4) + 1 }));
      const expected: string[] = [];
      for (const [i, u] of uploads.entries()) {
        const lines = Array.from({ length: u.rows }, (_, j) => {
          expected.push(`up${i}-${j}`);
          return JSON.stringify({ user_id: `user-${j}`, kind: `up${i}-${j}`, value: i });
        });
        const stagingKey = `_api/${provider.id}/events/${u.id}.ndjson`;
        await root.putObject('atoll-staging', stagingKey, `${lines.join('\n')}\n`);
        await fx.pool.query(`INSERT INTO uploads (id, provider_id, table_name, source, staging_key, records, bytes, status) VALUES ($1, $2, 'events', 'api', $3, $4, 1, 'pending')`, [
          u.id,
          provider.id,
          stagingKey,
          u.rows,
        ]);
      }
      const ingest = (u: { id: string }): Promise<unknown> =>
        processIngest(ctx, { data: { v: 1, uploadId: u.id, providerId: provider.id, table: 'events', stagingKey: `_api/${provider.id}/events/${u.id}.ndjson`, format: 'ndjson' } } as Job<IngestJob>);
      // The first upload creates the table; the rest and the direct appenders then race on it.
      await ingest(uploads[0]!);
      const directTags = Array.from({ length: 8 }, (_, i) => `direct${i}`);
      const directFiles: DataFile[] = [];
      for (const t of directTags) {
        const dir = join(fx.workDir, t);
        const input = join(dir, 'in.ndjson');
        await mkdir(dir, { recursive: true });
        await writeFile(input, `${JSON.stringify({ user_id: 'user-d', kind: `${t}-0`, value: 0 })}\n`);
        directFiles.push(
          (
            await writeDataFileForTable({
              lake: fx.lake,
              id,
              location: tableLocation('atoll-lake', id),
              columns: [
                { name: 'user_id', type: 'string', role: 'user_id' },
                { name: 'kind', type: 'string' },
                { name: 'value', type: 'long' },
              ],
              input,
              format: 'ndjson',
              workDir: dir,
              memoryLimit: '256MB',
            })
          ).dataFile,
        );
        expected.push(`${t}-0`);
      }
      await Promise.all([
        ...uploads.slice(1).map(ingest),
        ...directFiles.map((f, i) => appendFiles({ io: fx.lake.io, catalog: fx.lake.catalog, id, files: [f], commitId: `direct:${i}` })),
      ]);
      const loaded = async (): Promise<number> =>
        Number((await fx.pool.query<{ n: string }>(`SELECT count(*) AS n FROM uploads WHERE id = ANY($1::uuid[]) AND status = 'loaded'`, [uploads.map((u) => u.id)])).rows[0]!.n);
      await expect.poll(loaded, { timeout: 60_000, interval: 200 }).toBe(WRITERS);

      // What a reader sees: every row exactly once, no file referenced twice.
      const state = await readTable(fx.lake, id, fx.workDir, 'kind');
      expect(new Set(state.files).size).toBe(state.files.length);
      expect(state.files).toHaveLength(WRITERS + directFiles.length);
      expect(state.keys).toEqual(expected.sort());
      expect(state.summaryTotalRecords).toBe(expected.length);

      // Each upload points at a batch snapshot that is in the table, and batching coalesced uploads.
      const ups = await fx.pool.query<{ snapshot_id: string }>('SELECT snapshot_id FROM uploads WHERE id = ANY($1::uuid[])', [uploads.map((u) => u.id)]);
      const table = await loadTable({ io: fx.lake.io, catalog: fx.lake.catalog, id });
      const snapshotIds = new Set(table.metadata.snapshots.map((s) => String(s['snapshot-id'])));
      for (const u of ups.rows) expect(snapshotIds.has(u.snapshot_id)).toBe(true);
      const batchSnapshots = new Set(ups.rows.map((u) => u.snapshot_id));
      expect(batchSnapshots.size).toBeLessThan(WRITERS);
      const commitIds = table.metadata.snapshots.map((s) => s.summary['atoll.commit-id']);
      expect(commitIds.filter((c) => c?.startsWith('direct:')).sort()).toEqual(directTags.map((_t, i) => `direct:${i}`).sort());
      expect(commitIds.filter((c) => c?.startsWith('batch:'))).toHaveLength(batchSnapshots.size);

      // prepare was queued once per batch snapshot (deterministic job ids), never for a snapshot that is not ours.
      const prepared = (await producer.rawQueue(jobs.prepare.queue).getJobs(['waiting', 'delayed', 'prioritized'])) as Array<Job<PrepareJob>>;
      expect(new Set(prepared.map((j) => j.data.rawSnapshotId))).toEqual(batchSnapshots);
      // Staging was cleared once the files were in the lake.
      expect(await root.listObjects('atoll-staging', `_api/${provider.id}/events/`)).toEqual([]);
    } finally {
      await Promise.all(workers.map((w) => w.close()));
      for (const q of [commitJobs.commit.queue, jobs.prepare.queue]) await producer.rawQueue(q).obliterate({ force: true });
      await producer.close();
      redis.disconnect();
      workerRedis.disconnect();
    }
  });
});
