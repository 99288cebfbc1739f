// The metadata writers: data files written by batch writers wait in Postgres (pending_data_files) until one commit
// job per table appends all of them in a single snapshot. The pointer swap and "pending → committed" are one
// Postgres transaction, so a crash at any point leaves every file either committed once or still pending.
import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from '@atoll/db';
import { InvalidInputError, TransactionalPgCatalogStore, appendFiles, formatIdentifier, readTableMetadata, type DataFile, type PartitionValue, type TableIdentifier } from '@atoll/iceberg';
import type { Lake } from '@atoll/lake';
import type { Logger } from '@atoll/log';
import { commitJobs, jobs, type CommitJob, type Job, type Producer } from '@atoll/queue';
import { parseS3Uri } from '@atoll/storage';

/** Commit id prefix of batched snapshots (`atoll.commit-id` = `batch:<batch uuid>`). */
export const BATCH_COMMIT_PREFIX = 'batch:';
const DEFAULT_COMMIT_DELAY_MS = 250;
const DEFAULT_MAX_FILES_PER_SNAPSHOT = 2000;

export interface MetadataWriterContext {
  pool: Pool;
  lake: Lake;
  producer: Producer;
  log: Logger;
  /** How long a commit job waits so that uploads arriving together share one snapshot. */
  commitDelayMs?: number;
  maxFilesPerSnapshot?: number;
  /** Called once per table the first time this process commits to it (the writer upserts its maintenance scheduler). */
  onTableCommitted?: (id: TableIdentifier) => Promise<void>;
}

// ---- DataFile ⇄ JSON (partition values may be bigint or bytes) -------------------------------------------------

type JsonPartitionValue = null | boolean | number | string | { bigint: string } | { bytes: string };

function encodePartitionValue(v: PartitionValue): JsonPartitionValue {
  if (typeof v === 'bigint') return { bigint: v.toString() };
  if (v instanceof Uint8Array) return { bytes: Buffer.from(v).toString('base64') };
  return v;
}

function decodePartitionValue(v: JsonPartitionValue): PartitionValue {
  if (v !== null && typeof v === 'object') return 'bigint' in v ? BigInt(v.bigint) : new Uint8Array(Buffer.from(v.bytes, 'base64'));
  return v;
}

export function encodeDataFile(f: DataFile): Record<string, unknown> {
  return { ...f, partition: Object.fromEntries(Object.entries(f.partition).map(([k, v]) => [k, encodePartitionValue(v)])) };
}

export function decodeDataFile(json: Record<string, unknown>): DataFile {
  const partition = (json.partition ?? {}) as Record<string, JsonPartitionValue>;
  return { ...(json as unknown as DataFile), partition: Object.fromEntries(Object.entries(partition).map(([k, v]) => [k, decodePartitionValue(v)])) };
}

// ---- recording files and queueing commits ------------------------------------------------------------------------

const nsKey = (id: TableIdentifier): string => id.namespace.join('.');

/**
 * Records a data file (already uploaded under the table's location) as pending and queues the table's commit job.
 * Returns the pending row of `uploadId` when one exists already (a retried ingest): the caller's new file is then
 * not recorded and `recorded` is false.
 */
export async function recordPendingFile(
  ctx: Pick<MetadataWriterContext, 'pool' | 'producer' | 'commitDelayMs'>,
  opts: { id: TableIdentifier; dataFile: DataFile; uploadId?: string },
): Promise<{ pendingId: string; recorded: boolean; commitJobId: string }> {
  const { id, dataFile } = opts;
  const inserted = await ctx.pool.query<{ id: string }>(
    `INSERT INTO pending_data_files (namespace, name, file_path, data_file, record_count, upload_id)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id`,
    [nsKey(id), id.name, dataFile.filePath, JSON.stringify(encodeDataFile(dataFile)), dataFile.recordCount, opts.uploadId ?? null],
  );
  let pendingId = inserted.rows[0]?.id;
  const recorded = pendingId !== undefined;
  if (!pendingId) {
    const existing = await ctx.pool.query<{ id: string }>('SELECT id FROM pending_data_files WHERE upload_id = $1 OR file_path = $2', [opts.uploadId ?? null, dataFile.filePath]);
    pendingId = existing.rows[0]?.id;
    if (!pendingId) throw new Error(`pending file for ${dataFile.filePath} was neither inserted nor found`);
  }
  const commitJobId = await enqueueCommit(ctx, id);
  return { pendingId, recorded, commitJobId };
}

/** Queues the commit job of the table's current generation (deduplicated by BullMQ while it waits). */
export async function enqueueCommit(ctx: Pick<MetadataWriterContext, 'pool' | 'producer' | 'commitDelayMs'>, id: TableIdentifier): Promise<string> {
  // Read after the pending row is committed: a commit job that bumps the generation later reads the row for sure.
  const gen = await ctx.pool.query<{ generation: string }>(
    `INSERT INTO table_commit_state (namespace, name) VALUES ($1, $2)
     ON CONFLICT (namespace, name) DO UPDATE SET generation = table_commit_state.generation RETURNING generation`,
    [nsKey(id), id.name],
  );
  const data: CommitJob = { v: 1, namespace: id.namespace, name: id.name, generation: String(gen.rows[0]!.generation) };
  return ctx.producer.enqueue(commitJobs.commit, data, { delay: ctx.commitDelayMs ?? DEFAULT_COMMIT_DELAY_MS });
}

// ---- the commit job ----------------------------------------------------------------------------------------------

export interface CommittedBatch {
  batchId: string;
  snapshotId: string;
  files: number;
  records: number;
}

interface PendingRow {
  id: string;
  data_file: Record<string, unknown>;
  record_count: string;
}

/**
 * Marks the batch's uploads loaded (with the snapshot id) and queues prepare for their raw tables. Idempotent: run
 * again after a crash it changes nothing already done, and prepare's job id dedupes.
 */
async function finishBatch(ctx: MetadataWriterContext, batch: { id: string; metadataLocation: string; snapshotId: string | null }): Promise<string> {
  // A crash right after the swap leaves the snapshot id unrecorded; the metadata file the swap installed names it.
  const snapshotId = batch.snapshotId ?? String((await readTableMetadata(ctx.lake.io, batch.metadataLocation))['current-snapshot-id']);
  await ctx.pool.query('UPDATE commit_batches SET snapshot_id = $2 WHERE id = $1', [batch.id, snapshotId]);
  await ctx.pool.query(
    `UPDATE uploads u SET status = 'loaded', snapshot_id = $2, finished_at = now()
       FROM pending_data_files p WHERE p.batch_id = $1 AND u.id = p.upload_id AND u.status = 'pending'`,
    [batch.id, snapshotId],
  );
  const targets = await ctx.pool.query<{ provider_id: string; table_name: string; dataset: string }>(
    `SELECT DISTINCT u.provider_id, u.table_name, s.dataset
       FROM pending_data_files p
       JOIN uploads u ON u.id = p.upload_id
       JOIN table_schemas s ON s.provider_id = u.provider_id AND s.table_name = u.table_name AND s.status = 'approved'
      WHERE p.batch_id = $1`,
    [batch.id],
  );
  for (const t of targets.rows) {
    await ctx.producer.enqueue(jobs.prepare, { v: 1, providerId: t.provider_id, table: t.table_name, dataset: t.dataset, rawSnapshotId: snapshotId });
  }
  await ctx.pool.query('UPDATE commit_batches SET finished_at = now() WHERE id = $1', [batch.id]);
  return snapshotId;
}

/** Unlocks and returns the connection; one that may still hold the lock is destroyed instead of pooled. */
async function releaseLock(client: PoolClient, table: string): Promise<void> {
  try {
    await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [`atoll.commit:${table}`]);
    client.release();
  } catch (err) {
    client.release(err instanceof Error ? err : new Error(String(err)));
  }
}

/**
 * Appends every pending file of the table, up to `maxFilesPerSnapshot` per snapshot, under a per-table advisory lock
 * (one metadata writer per table at a time; other tables commit in parallel). Safe to run any number of times.
 */
export async function commitPendingFiles(ctx: MetadataWriterContext, id: TableIdentifier): Promise<CommittedBatch[]> {
  const table = formatIdentifier(id);
  const client = await ctx.pool.connect();
  const out: CommittedBatch[] = [];
  // Session-level lock: released by the unlock below, or by Postgres when a killed writer's connection closes.
  await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [`atoll.commit:${table}`]);
  try {
    await client.query(
      `INSERT INTO table_commit_state (namespace, name, generation) VALUES ($1, $2, 1)
       ON CONFLICT (namespace, name) DO UPDATE SET generation = table_commit_state.generation + 1`,
      [nsKey(id), id.name],
    );
    const unfinished = await ctx.pool.query<{ id: string; metadata_location: string; snapshot_id: string | null }>(
      'SELECT id, metadata_location, snapshot_id FROM commit_batches WHERE namespace = $1 AND name = $2 AND finished_at IS NULL ORDER BY created_at',
      [nsKey(id), id.name],
    );
    for (const b of unfinished.rows) {
      const snapshotId = await finishBatch(ctx, { id: b.id, metadataLocation: b.metadata_location, snapshotId: b.snapshot_id });
      ctx.log.info({ op: 'commit.batch.finished', table, batchId: b.id, snapshotId }, 'finished a batch committed before a crash');
    }
    const limit = ctx.maxFilesPerSnapshot ?? DEFAULT_MAX_FILES_PER_SNAPSHOT;
    for (;;) {
      const pending = await ctx.pool.query<PendingRow>(
        `SELECT id, data_file, record_count FROM pending_data_files WHERE namespace = $1 AND name = $2 AND status = 'pending' ORDER BY id LIMIT $3`,
        [nsKey(id), id.name, limit],
      );
      if (pending.rows.length === 0) break;
      const good = await screenPendingFiles(ctx, table, pending.rows);
      if (good.length === 0) continue;
      const ids = good.map((r) => r.id);
      const files = good.map((r) => r.file);
      const records = good.reduce((n, r) => n + Number(r.record_count), 0);
      const batchId = randomUUID();
      const catalog = new TransactionalPgCatalogStore(ctx.pool, async (tx, swap) => {
        const marked = await tx.query(
          `UPDATE pending_data_files SET status = 'committed', batch_id = $1, committed_at = now() WHERE id = ANY($2::bigint[]) AND status = 'pending'`,
          [batchId, ids],
        );
        // Someone else committed one of these files: refuse this swap rather than reference a file twice.
        if (marked.rowCount !== ids.length) return false;
        await tx.query('INSERT INTO commit_batches (id, namespace, name, metadata_location, files, records) VALUES ($1, $2, $3, $4, $5, $6)', [
          batchId,
          nsKey(id),
          id.name,
          swap.next,
          ids.length,
          records,
        ]);
        return true;
      });
      // Raw tables are read through the catalog (prepare, the REST catalog), never by version-hint.text right after
      // this job: the hint is written after the commit returns (docs/iceberg.md, "The version hint").
      const commit = await appendFiles({ io: ctx.lake.io, catalog, id, files, commitId: `${BATCH_COMMIT_PREFIX}${batchId}`, versionHint: 'background' });
      const snapshotId = await finishBatch(ctx, { id: batchId, metadataLocation: commit.metadataLocation, snapshotId: String(commit.snapshotId) });
      out.push({ batchId, snapshotId, files: ids.length, records });
      ctx.log.info({ op: 'commit.snapshot.created', table, batchId, snapshotId, files: ids.length, records }, 'pending files committed in one snapshot');
      if (pending.rows.length < limit) break;
    }
  } finally {
    await releaseLock(client, table);
  }
  if (out.length > 0 && ctx.onTableCommitted) await ctx.onTableCommitted(id);
  return out;
}

/**
 * The pending files that can be committed. One that cannot — its record unreadable, its object gone from the lake or
 * not the size it was written with — would fail (or poison) every later commit of the table: it is set aside as
 * quarantined with its reason, and its upload rejected with it, so the rest commit.
 */
async function screenPendingFiles(ctx: MetadataWriterContext, table: string, rows: readonly PendingRow[]): Promise<Array<PendingRow & { file: DataFile }>> {
  const checked = await mapLimit(rows, SCREEN_CONCURRENCY, async (r): Promise<{ r: PendingRow; file: DataFile } | { r: PendingRow; reason: string }> => {
    let file: DataFile;
    try {
      file = decodeDataFile(r.data_file);
      const { bucket, key } = parseS3Uri(file.filePath);
      const stat = await ctx.lake.store.statObject(bucket, key);
      if (!stat) return { r, reason: 'its data file is missing from the lake' };
      if (stat.size !== file.fileSizeInBytes) return { r, reason: `its data file is ${stat.size} bytes, not the ${file.fileSizeInBytes} it was written with` };
    } catch (e) {
      // A transient store error is not the file's fault: the commit job fails and retries.
      if (!(e instanceof TypeError || e instanceof SyntaxError || e instanceof InvalidInputError)) throw e;
      return { r, reason: 'its pending record is unreadable' };
    }
    return { r, file };
  });
  const good: Array<PendingRow & { file: DataFile }> = [];
  for (const c of checked) {
    if (!('reason' in c)) {
      good.push({ ...c.r, file: c.file });
      continue;
    }
    const reason = `the staged data file could not be committed: ${c.reason}`;
    const marked = await ctx.pool.query<{ upload_id: string | null }>(
      `UPDATE pending_data_files SET status = 'quarantined', reason = $2 WHERE id = $1 AND status = 'pending' RETURNING upload_id`,
      [c.r.id, reason],
    );
    const uploadId = marked.rows[0]?.upload_id ?? null;
    if (uploadId) await ctx.pool.query(`UPDATE uploads SET status = 'rejected', reason = $2, finished_at = now() WHERE id = $1 AND status = 'pending'`, [uploadId, reason]);
    ctx.log.warn({ op: 'commit.file.quarantined', table, pendingId: c.r.id, uploadId, reason }, 'pending data file set aside');
  }
  return good;
}

const SCREEN_CONCURRENCY = 8;

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

export async function processCommit(ctx: MetadataWriterContext, job: Job<CommitJob>): Promise<{ batches: CommittedBatch[] }> {
  return { batches: await commitPendingFiles(ctx, { namespace: job.data.namespace, name: job.data.name }) };
}
