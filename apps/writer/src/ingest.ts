// The batch writer: a staged upload becomes one Parquet file (DuckDB, with Iceberg field ids) in the provider's raw
// table location, recorded as pending; the table's metadata writer (batch.ts) commits it with others in one snapshot,
// marks the upload loaded and queues prepare. Idempotent: one pending file per upload.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Pool } from '@atoll/db';
import { FileDoesNotMatchSchemaError, rawTableId, tableLocation, writeDataFileForTable, type Lake, type QuarantinedRow, type SchemaColumn } from '@atoll/lake';
import type { Logger } from '@atoll/log';
import { UnrecoverableError, type IngestJob, type Job, type Producer } from '@atoll/queue';
import { isNotFound } from '@atoll/storage';
import { enqueueCommit, recordPendingFile } from './batch.js';
import { BulkFileRejected, prepareBulkInput, type BulkSettings } from './bulk.js';

export interface WriterContext {
  pool: Pool;
  lake: Lake;
  producer: Producer;
  log: Logger;
  workDir: string;
  stagingBucket: string;
  lakeBucket: string;
  memoryLimit: string;
  /** DuckDB threads per ingested file (default 1). */
  threads?: number;
  /** Delay of the per-table commit job, so uploads arriving together share one snapshot. */
  commitDelayMs?: number;
  /** Limits and wiring of bulk files put over S3; defaults apply when absent. */
  bulk?: BulkSettings;
}

const DEFAULT_BULK: BulkSettings = { limits: { maxBytes: 20 * 1024 ** 3, maxRatio: 200 }, eventsKey: 'atoll:bulk-events' };

/** A file with more bad rows than this is rejected even when its schema quarantines them: it is the wrong file. */
export const MAX_QUARANTINED_ROWS = 10_000;

async function reject(ctx: WriterContext, uploadId: string, reason: string): Promise<never> {
  await ctx.pool.query(`UPDATE uploads SET status = 'rejected', reason = $2, finished_at = now() WHERE id = $1 AND status = 'pending'`, [uploadId, reason]);
  ctx.log.warn({ op: 'ingest.file.rejected', uploadId, reason }, 'upload rejected');
  throw new UnrecoverableError(reason);
}

/**
 * `snapshotId` is set when the upload was already loaded (a retried job); otherwise the file is pending and
 * `commitJobId` names the commit job that will make it part of a snapshot.
 */
export async function processIngest(ctx: WriterContext, job: Job<IngestJob>): Promise<{ snapshotId: string | null; commitJobId?: string }> {
  const { uploadId, providerId, table, stagingKey } = job.data;
  const { rows } = await ctx.pool.query<{ status: string; snapshot_id: string | null }>('SELECT status, snapshot_id FROM uploads WHERE id = $1', [uploadId]);
  const upload = rows[0];
  if (!upload) throw new UnrecoverableError(`upload ${uploadId} is not recorded (its request failed); nothing to ingest`);
  if (upload.status === 'loaded' && upload.snapshot_id) return { snapshotId: upload.snapshot_id };
  if (upload.status === 'rejected') throw new UnrecoverableError(`upload ${uploadId} was rejected`);

  const id = rawTableId(providerId, table);
  // Retried after the file was recorded (the staging object may be gone already): only make sure a commit is queued.
  const already = await ctx.pool.query('SELECT 1 FROM pending_data_files WHERE upload_id = $1', [uploadId]);
  if (already.rows.length > 0) {
    // A crash may have come before the staging object was removed; a bulk object left behind would sit there forever.
    await ctx.lake.store.removeObject(ctx.stagingBucket, stagingKey).catch(() => undefined);
    return { snapshotId: null, commitJobId: await enqueueCommit(ctx, id) };
  }

  const schemaRows = await ctx.pool.query<{ columns: SchemaColumn[]; dataset: string; bad_rows: 'reject' | 'quarantine' }>(
    `SELECT columns, dataset, bad_rows FROM table_schemas WHERE provider_id = $1 AND table_name = $2 AND status = 'approved'`,
    [providerId, table],
  );
  const approved = schemaRows.rows[0];
  if (!approved) return reject(ctx, uploadId, `table ${table} has no approved schema`);

  const dir = join(ctx.workDir, 'ingest', uploadId);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  try {
    let read: { input: string; format: 'ndjson' | 'csv' | 'parquet'; rowLabel?: (row: number) => string };
    if (job.data.format === 'bulk') {
      try {
        read = await prepareBulkInput({ ...ctx, bulk: ctx.bulk ?? DEFAULT_BULK }, job.data, approved.columns, dir);
      } catch (e) {
        if (e instanceof BulkFileRejected) return await reject(ctx, uploadId, e.message);
        throw e;
      }
    } else {
      read = { input: join(dir, `input.${job.data.format}`), format: job.data.format };
      try {
        await ctx.lake.store.downloadFile(ctx.stagingBucket, stagingKey, read.input);
      } catch (e) {
        if (!isNotFound(e)) throw e;
        // A concurrent run of this job may have recorded its file and removed the object just now.
        if ((await ctx.pool.query('SELECT 1 FROM pending_data_files WHERE upload_id = $1', [uploadId])).rows.length > 0) return { snapshotId: null, commitJobId: await enqueueCommit(ctx, id) };
        return await reject(ctx, uploadId, 'its records are no longer in staging, so it cannot be loaded');
      }
    }
    let dataFile;
    let quarantined: QuarantinedRow[];
    try {
      ({ dataFile, quarantined } = await writeDataFileForTable({
        lake: ctx.lake,
        id,
        location: tableLocation(ctx.lakeBucket, id),
        columns: approved.columns,
        input: read.input,
        format: read.format,
        ...(read.rowLabel ? { rowLabel: read.rowLabel } : {}),
        workDir: dir,
        memoryLimit: ctx.memoryLimit,
        ...(ctx.threads !== undefined ? { threads: ctx.threads } : {}),
        // Device uploads were checked record by record at the api; a bulk file follows its schema's choice.
        ...(job.data.format === 'bulk' && approved.bad_rows === 'quarantine' ? { quarantine: { max: MAX_QUARANTINED_ROWS } } : {}),
      }));
    } catch (e) {
      if (e instanceof FileDoesNotMatchSchemaError) return await reject(ctx, uploadId, e.message);
      throw e;
    }
    // Quarantined rows first: keyed by position, a retry writes the same rows again as no-ops.
    if (quarantined.length > 0) {
      await ctx.pool.query(
        `INSERT INTO quarantined_rows (upload_id, position, reason, row_data)
         SELECT $1, p, r, d::jsonb FROM unnest($2::text[], $3::text[], $4::text[]) AS q(p, r, d) ON CONFLICT DO NOTHING`,
        [uploadId, quarantined.map((q) => q.position), quarantined.map((q) => q.reason), quarantined.map((q) => JSON.stringify(q.row))],
      );
    }
    // Bulk files learn their row count here (api uploads counted theirs on receipt).
    if (job.data.format === 'bulk') {
      await ctx.pool.query('UPDATE uploads SET records = $2, rows_read = $3, rows_quarantined = $4 WHERE id = $1', [uploadId, dataFile.recordCount, dataFile.recordCount + quarantined.length, quarantined.length]);
    }
    const { recorded, commitJobId } = await recordPendingFile(ctx, { id, dataFile, uploadId });
    if (!recorded) {
      // A concurrent run of this job recorded its own file first; ours is referenced by nothing.
      await ctx.lake.io.delete(dataFile.filePath).catch(() => undefined);
    }
    ctx.log.info({ op: 'ingest.file.staged', uploadId, table, records: dataFile.recordCount, commitJobId }, 'upload written to the lake, commit queued');
    // Staging holds data only until it is in the lake (the pending row now owns the Parquet file).
    await ctx.lake.store.removeObject(ctx.stagingBucket, stagingKey).catch(() => undefined);
    return { snapshotId: null, commitJobId };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
