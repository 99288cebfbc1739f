// Scheduled table maintenance in the writer: a BullMQ job scheduler per table with its settings from Postgres runs
// compaction → manifest rewrite → snapshot expiry → orphan removal against real MinIO and PostgreSQL. The rows a
// reader sees never change; small files, old snapshots and orphans go; a file waiting for its commit stays.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { appendFiles, createTable, type DataFile, type IcebergSchema, type TableIdentifier } from '@atoll/iceberg';
import { tableLocation, writeDataFileForTable, type SchemaColumn } from '@atoll/lake';
import { createLogger } from '@atoll/log';
import { Producer, commitJobs, redisConnection, startWorker } from '@atoll/queue';
import { parseS3Uri } from '@atoll/storage';
import { commitPendingFiles, lakeMaintenanceTasks, processMaintenance, recordPendingFile, runMaintenance, scheduleTableMaintenance, type MaintenanceReport } from '@atoll/writer';
import { describe, expect, it } from 'vitest';
import { env } from './support/actors.js';
import { lakeFixture, readTable, uniqueName, writeCsv } from './support/lake-helpers.js';

const columns: SchemaColumn[] = [
  { name: 'user_id', type: 'string', role: 'user_id' },
  { name: 'k', type: 'string' },
  { name: 'iteration', type: 'long' },
];
const log = createLogger({ name: 'lake-maintenance-test', level: 'silent' });

describe('scheduled table maintenance', () => {
  it('upserts one scheduler per table with its interval, and removes it when maintenance is disabled', async () => {
    await using fx = await lakeFixture({ poolSize: 4 });
    const prefix = `atoll-it-${randomUUID().slice(0, 8)}`;
    const redis = redisConnection(env.ATOLL_REDIS_URL!);
    const producer = new Producer(redis, prefix);
    const id: TableIdentifier = { namespace: ['itest'], name: uniqueName('maint_sched') };
    try {
      const queue = producer.rawQueue(commitJobs.maintenance.queue);
      expect(await scheduleTableMaintenance({ pool: fx.pool, producer }, id)).toBe(`maintenance-itest.${id.name}`);
      expect((await queue.getJobScheduler(`maintenance-itest.${id.name}`))?.every).toBe(3_600_000); // the default
      await fx.pool.query('INSERT INTO table_maintenance (namespace, name, every_ms) VALUES ($1, $2, 5000)', ['itest', id.name]);
      await scheduleTableMaintenance({ pool: fx.pool, producer }, id);
      expect(await queue.getJobSchedulersCount()).toBe(1);
      expect((await queue.getJobScheduler(`maintenance-itest.${id.name}`))?.every).toBe(5000);
      await fx.pool.query('UPDATE table_maintenance SET enabled = false WHERE namespace = $1 AND name = $2', ['itest', id.name]);
      expect(await scheduleTableMaintenance({ pool: fx.pool, producer }, id)).toBeNull();
      expect(await queue.getJobSchedulersCount()).toBe(0);
    } finally {
      await producer.rawQueue(commitJobs.maintenance.queue).obliterate({ force: true });
      await producer.close();
      redis.disconnect();
    }
  });

  it('compacts 20 small files, expires old snapshots, deletes orphans, spares pending files; rows unchanged', async () => {
    await using fx = await lakeFixture({ poolSize: 8 });
    const prefix = `atoll-it-${randomUUID().slice(0, 8)}`;
    const redis = redisConnection(env.ATOLL_REDIS_URL!);
    const workerRedis = redisConnection(env.ATOLL_REDIS_URL!, { forWorker: true });
    const producer = new Producer(redis, prefix);
    const id: TableIdentifier = { namespace: ['itest'], name: uniqueName('maint_run') };
    const write = async (tag: string, rows: number): Promise<DataFile> => {
      const dir = join(fx.workDir, tag);
      const input = await writeCsv(dir, tag, rows);
      return (await writeDataFileForTable({ lake: fx.lake, id, location: tableLocation('atoll-lake', id), columns, input, format: 'csv', workDir: dir, memoryLimit: '256MB' })).dataFile;
    };
    try {
      for (let i = 0; i < 20; i++) await appendFiles({ io: fx.lake.io, catalog: fx.lake.catalog, id, files: [await write(`a${i}`, (i % 3) + 1)], commitId: `a:${i}` });
      // A crashed writer's file (never recorded anywhere) and a file waiting for its commit job.
      const orphan = await write('orphan', 2);
      const pending = await write('pending', 2);
      await recordPendingFile({ pool: fx.pool, producer, commitDelayMs: 600_000 }, { id, dataFile: pending });
      const before = await readTable(fx.lake, id, fx.workDir);
      expect(before.files).toHaveLength(20);
      expect(before.snapshots).toBe(20);

      await fx.pool.query(
        `INSERT INTO table_maintenance (namespace, name, every_ms, compact_min_files, expire_keep_last, expire_older_than_ms, orphan_older_than_ms)
         VALUES ($1, $2, 1000, 2, 1, 0, 0)`,
        ['itest', id.name],
      );
      const ctx = { pool: fx.pool, lake: fx.lake, producer, log, workDir: join(fx.workDir, 'maintenance'), memoryLimit: '256MB', tasks: lakeMaintenanceTasks };
      const reports: MaintenanceReport[] = [];
      const worker = startWorker(commitJobs.maintenance, async (job) => {
        const r = await processMaintenance(ctx, job);
        reports.push(r);
        return r;
      }, { connection: workerRedis, concurrency: 1, prefix });
      try {
        await scheduleTableMaintenance(ctx, id);
        await expect.poll(() => reports.length, { timeout: 90_000, interval: 250 }).toBeGreaterThanOrEqual(1);
      } finally {
        await fx.pool.query('UPDATE table_maintenance SET enabled = false WHERE namespace = $1 AND name = $2', ['itest', id.name]);
        await scheduleTableMaintenance(ctx, id);
        await worker.close();
      }
      const first = reports[0]!;
      expect(first.compaction).toMatchObject({ rewrittenFiles: 20 });
      // 20 appends + the compaction's replace snapshot go; the manifest rewrite's snapshot is the one kept.
      expect(first.expiry).toMatchObject({ expiredSnapshots: 21 });
      expect(first.orphans).toMatchObject({ deleted: 1, sparedPending: 1 });

      const after = await readTable(fx.lake, id, fx.workDir);
      expect(after.keys).toEqual(before.keys);
      expect(after.files.length).toBeLessThan(before.files.length);
      expect(after.snapshots).toBe(1);
      const stat = (uri: string) => fx.lake.store.statObject(parseS3Uri(uri).bucket, parseS3Uri(uri).key);
      expect(await stat(orphan.filePath)).toBeNull();
      for (const f of before.files) expect(await stat(f), `${f} should be deleted after expiry`).toBeNull();
      expect(await stat(pending.filePath)).not.toBeNull();
      const row = await fx.pool.query<{ last_result: MaintenanceReport | null }>('SELECT last_result FROM table_maintenance WHERE namespace = $1 AND name = $2', ['itest', id.name]);
      expect(row.rows[0]!.last_result?.table).toBe(`itest.${id.name}`);

      // The spared file still commits, and its rows join the compacted ones.
      await commitPendingFiles({ pool: fx.pool, lake: fx.lake, producer, log }, id);
      const final = await readTable(fx.lake, id, fx.workDir);
      expect(final.keys).toEqual([...before.keys, 'pending-0', 'pending-1'].sort());
    } finally {
      for (const q of [commitJobs.maintenance.queue, commitJobs.commit.queue]) await producer.rawQueue(q).obliterate({ force: true });
      await producer.close();
      redis.disconnect();
      workerRedis.disconnect();
    }
  });

  it('skips a table that has no snapshot yet (a dataset nothing was published to) instead of failing its job', async () => {
    await using fx = await lakeFixture({ poolSize: 4 });
    const redis = redisConnection(env.ATOLL_REDIS_URL!);
    const producer = new Producer(redis, `atoll-it-${randomUUID().slice(0, 8)}`);
    const id: TableIdentifier = { namespace: ['itest'], name: uniqueName('maint_empty') };
    try {
      const schema: IcebergSchema = { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'k', required: false, type: 'string' }] };
      await createTable({ io: fx.lake.io, catalog: fx.lake.catalog, id, location: tableLocation('atoll-lake', id), schema });
      const ctx = { pool: fx.pool, lake: fx.lake, producer, log, workDir: join(fx.workDir, 'maintenance'), memoryLimit: '256MB', tasks: lakeMaintenanceTasks };
      expect(await runMaintenance(ctx, id)).toEqual({ table: `itest.${id.name}`, skipped: 'no snapshot yet' });
      expect(await runMaintenance(ctx, { namespace: ['itest'], name: uniqueName('maint_none') })).toMatchObject({ skipped: 'no such table' });
    } finally {
      await producer.close();
      redis.disconnect();
    }
  });
});
