// The batch writer: a staged upload becomes one Parquet file (DuckDB, with Iceberg field ids) committed to the
// provider's raw table; then the prepare stage is queued. Idempotent: the commit carries the upload id.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Pool } from '@atoll/db';
import { FileDoesNotMatchSchemaError, loadFileIntoTable, rawTableId, tableLocation, type Lake, type SchemaColumn } from '@atoll/lake';
import type { Logger } from '@atoll/log';
import { jobs, UnrecoverableError, type IngestJob, type Job, type Producer } from '@atoll/queue';

export interface WriterContext {
  pool: Pool;
  lake: Lake;
  producer: Producer;
  log: Logger;
  workDir: string;
  stagingBucket: string;
  lakeBucket: string;
  memoryLimit: string;
}

async function reject(ctx: WriterContext, uploadId: string, reason: string): Promise<never> {
  await ctx.pool.query(`UPDATE uploads SET status = 'rejected', reason = $2, finished_at = now() WHERE id = $1 AND status = 'pending'`, [uploadId, reason]);
  ctx.log.warn({ op: 'ingest.file.rejected', uploadId, reason }, 'upload rejected');
  throw new UnrecoverableError(reason);
}

export async function processIngest(ctx: WriterContext, job: Job<IngestJob>): Promise<{ snapshotId: string }> {
  const { uploadId, providerId, table, stagingKey } = job.data;
  const { rows } = await ctx.pool.query<{ status: string; snapshot_id: string | null }>('SELECT status, snapshot_id FROM uploads WHERE id = $1', [uploadId]);
  const upload = rows[0];
  if (!upload) throw new UnrecoverableError(`upload ${uploadId} is not recorded (its request failed); nothing to ingest`);
  if (upload.status === 'loaded' && upload.snapshot_id) return { snapshotId: upload.snapshot_id };
  if (upload.status === 'rejected') throw new UnrecoverableError(`upload ${uploadId} was rejected`);

  const schemaRows = await ctx.pool.query<{ columns: SchemaColumn[]; dataset: string }>(
    `SELECT columns, dataset FROM table_schemas WHERE provider_id = $1 AND table_name = $2 AND status = 'approved'`,
    [providerId, table],
  );
  const approved = schemaRows.rows[0];
  if (!approved) return reject(ctx, uploadId, `table ${table} has no approved schema`);

  const dir = join(ctx.workDir, 'ingest', uploadId);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  try {
    const input = join(dir, `input.${job.data.format}`);
    await ctx.lake.store.downloadFile(ctx.stagingBucket, stagingKey, input);

    const id = rawTableId(providerId, table);
    let loaded;
    try {
      loaded = await loadFileIntoTable({
        lake: ctx.lake,
        id,
        location: tableLocation(ctx.lakeBucket, id),
        columns: approved.columns,
        input,
        format: job.data.format,
        workDir: dir,
        memoryLimit: ctx.memoryLimit,
        commitId: `upload:${uploadId}`,
      });
    } catch (e) {
      if (e instanceof FileDoesNotMatchSchemaError) return await reject(ctx, uploadId, e.message);
      throw e;
    }
    const { commit, dataFile } = loaded;
    const snapshotId = String(commit.snapshotId);
    await ctx.pool.query(`UPDATE uploads SET status = 'loaded', snapshot_id = $2, finished_at = now() WHERE id = $1`, [uploadId, snapshotId]);
    ctx.log.info({ op: 'ingest.file.loaded', uploadId, table, records: dataFile.recordCount, snapshotId, alreadyCommitted: commit.alreadyCommitted }, 'upload committed to raw table');
    await ctx.producer.enqueue(jobs.prepare, { v: 1, providerId, table, dataset: approved.dataset, rawSnapshotId: snapshotId });
    // Staging holds data only until it is in the lake.
    await ctx.lake.store.removeObject(ctx.stagingBucket, stagingKey).catch(() => undefined);
    return { snapshotId };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
