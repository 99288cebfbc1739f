// Bulk ingest over S3 (SPEC §4), the writer's half: staged objects announced by MinIO's bucket notifications (a Redis
// list) or found by the periodic reconciler become one `uploads` row each — unique on (key, ETag), so announcing the
// same object twice ingests it once — and an ingest job; the ingest job turns the object into a local file the
// strict readers load (decompressed with limits, Avro converted to NDJSON, ORC to Parquet).
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { avroToNdjson, classifyStagedKey, formatOf, normalizeEtag, orcToParquet, parseNotification, unpackToFile, UnpackError, type InflateLimits, type OrcConverter } from '@atoll/bulk';
import { headerProblem, type InputFormat, type SchemaColumn } from '@atoll/lake';
import { jobs, type IngestJob } from '@atoll/queue';
import { isNotFound } from '@atoll/storage';
import type { Redis } from 'ioredis';
import type { WriterContext } from './ingest.js';

export interface BulkSettings {
  limits: InflateLimits;
  /** The Redis list MinIO's notification target pushes to. */
  eventsKey: string;
  /** The ORC converter; a writer without one rejects ORC files with that reason. */
  orc?: OrcConverter;
}

export type Registration = 'ignored' | 'queued' | 'rejected' | 'known';

/** Records a staged object once and queues its ingest; safe to call any number of times for the same object. */
export async function registerStagedObject(ctx: WriterContext, object: { key: string; size: number; etag: string }): Promise<Registration> {
  const staged = classifyStagedKey(object.key);
  if (staged.kind === 'ignored') return 'ignored';
  const etag = normalizeEtag(object.etag);
  const rejected = staged.kind === 'rejected';
  // A prefix no provider owns (only root could put there) is not recorded: the report belongs to a provider.
  const inserted = await ctx.pool.query<{ id: string }>(
    `INSERT INTO uploads (id, provider_id, table_name, source, staging_key, bytes, etag, status, reason, finished_at)
     SELECT $1, $2, $3, 'bulk', $4, $5, $6, $7, $8, CASE WHEN $7 = 'rejected' THEN now() END
     WHERE EXISTS (SELECT 1 FROM providers WHERE id = $2)
     ON CONFLICT (staging_key, etag) WHERE source = 'bulk' DO NOTHING RETURNING id`,
    [randomUUID(), staged.providerId, staged.table, object.key, object.size, etag, rejected ? 'rejected' : 'pending', rejected ? staged.reason : null],
  );
  let uploadId = inserted.rows[0]?.id;
  if (!uploadId) {
    const known = await ctx.pool.query<{ id: string; status: string }>(`SELECT id, status FROM uploads WHERE source = 'bulk' AND staging_key = $1 AND etag = $2`, [object.key, etag]);
    const row = known.rows[0];
    // Still pending: re-arm its job (a crash may have come between the insert and the enqueue); BullMQ keeps one job per id.
    if (!row || row.status !== 'pending') return 'known';
    uploadId = row.id;
  } else if (rejected) {
    ctx.log.warn({ op: 'ingest.file.rejected', uploadId, reason: staged.reason }, 'bulk file rejected');
    return 'rejected';
  }
  if (staged.kind !== 'file') return 'known';
  const job = { v: 1, uploadId, providerId: staged.providerId, table: staged.table, stagingKey: object.key, format: 'bulk' } satisfies IngestJob;
  if (inserted.rows[0]) {
    await ctx.producer.enqueue(jobs.ingest, job);
    return 'queued';
  }
  // Still pending on a later pass: its job may never have been queued (a crash after the insert), or have failed for
  // good (its worker killed twice while holding it). Either way it goes back to wait.
  await ctx.producer.rearm(jobs.ingest, job);
  return 'known';
}

/**
 * Drains MinIO's notification list until `signal` aborts. Popping is at-most-once: an event lost to a crash right
 * after the pop is found by the reconciler, so nothing here needs to be durable.
 */
export async function drainBulkNotifications(ctx: WriterContext, redis: Redis, settings: BulkSettings, stagingBucket: string, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    let popped: [string, string] | null;
    try {
      popped = await redis.blpop(settings.eventsKey, 1);
    } catch (e) {
      if (signal.aborted) return;
      ctx.log.warn({ op: 'bulk.notify.error', err: (e as Error).message }, 'reading bulk notifications failed; retrying');
      await new Promise((r) => setTimeout(r, 1000));
      continue;
    }
    if (!popped) continue;
    for (const object of parseNotification(popped[1])) {
      if (object.bucket !== stagingBucket) continue;
      try {
        const outcome = await registerStagedObject(ctx, object);
        ctx.log.debug({ op: 'bulk.notify.object', outcome }, 'bulk notification handled');
      } catch (e) {
        ctx.log.warn({ op: 'bulk.notify.error', err: (e as Error).message }, 'registering a notified object failed; the reconciler will find it');
      }
    }
  }
}

/** The reconciler: every provider's staging prefix, listed; each object registered (a no-op when already known). */
export async function reconcileStaging(ctx: WriterContext): Promise<{ listed: number; queued: number; rejected: number }> {
  const providers = await ctx.pool.query<{ id: string }>('SELECT id FROM providers');
  let listed = 0;
  let queued = 0;
  let rejected = 0;
  for (const { id } of providers.rows) {
    for (const object of await ctx.lake.store.listObjects(ctx.stagingBucket, `${id}/`)) {
      listed += 1;
      const outcome = await registerStagedObject(ctx, object);
      if (outcome === 'queued') queued += 1;
      if (outcome === 'rejected') rejected += 1;
    }
  }
  if (queued > 0 || rejected > 0) ctx.log.info({ op: 'bulk.reconcile.found', listed, queued, rejected }, 'reconciler found unannounced bulk files');
  return { listed, queued, rejected };
}

/** Why a bulk file cannot be loaded; the ingest job records it as the rejection reason. */
export class BulkFileRejected extends Error {}

/**
 * Downloads the staged object of a bulk ingest into `dir` and returns a file the strict readers load, checking what
 * the readers cannot (Avro field names). Throws BulkFileRejected with the reason for a file that can never load.
 */
export async function prepareBulkInput(
  ctx: WriterContext & { bulk: BulkSettings },
  job: IngestJob,
  columns: readonly SchemaColumn[],
  dir: string,
): Promise<{ input: string; format: InputFormat; rowLabel?: (row: number) => string }> {
  const staged = classifyStagedKey(job.stagingKey);
  if (staged.kind !== 'file') throw new BulkFileRejected(staged.kind === 'rejected' ? staged.reason : 'not a bulk file');
  const downloaded = join(dir, 'staged');
  try {
    await ctx.lake.store.downloadFile(ctx.stagingBucket, job.stagingKey, downloaded);
  } catch (e) {
    if (isNotFound(e)) throw new BulkFileRejected('the object was deleted before it was ingested');
    throw e;
  }
  let file = downloaded;
  let format = staged.format;
  try {
    if (staged.compression) {
      file = join(dir, 'unpacked');
      const { entryName } = await unpackToFile(downloaded, staged.compression, file, ctx.bulk.limits);
      format ??= entryName ? formatOf(entryName) : undefined;
      if (!format) throw new BulkFileRejected(`the zip entry ${JSON.stringify(entryName?.slice(0, 100))} is not .csv, .parquet, .avro or .orc`);
    }
    if (!format) throw new BulkFileRejected('unsupported file type');
    if (format === 'orc') {
      if (!ctx.bulk.orc) throw new BulkFileRejected('ORC is not enabled on this writer (no ATOLL_ORC_CONVERTER); export CSV, Parquet or Avro');
      // The converter keeps the file's own types; the strict Parquet reader then checks them against the schema.
      const parquet = join(dir, 'orc.parquet');
      await orcToParquet(file, parquet, ctx.bulk.orc);
      return { input: parquet, format: 'parquet', rowLabel: (row) => `row ${row}` };
    }
    if (format === 'avro') {
      const ndjson = join(dir, 'avro.ndjson');
      const { fields, records } = await avroToNdjson(file, ndjson);
      const problem = headerProblem(fields, columns);
      if (problem) throw new BulkFileRejected(`the file does not match the schema: ${problem.replace(/^line 1: /, 'Avro schema: ')}`);
      if (records === 0) throw new BulkFileRejected('the file holds no rows');
      return { input: ndjson, format: 'ndjson', rowLabel: (row) => `record ${row}` };
    }
    return { input: file, format };
  } catch (e) {
    if (e instanceof UnpackError) throw new BulkFileRejected(e.message);
    throw e;
  }
}
