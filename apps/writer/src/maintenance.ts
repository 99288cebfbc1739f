// Table maintenance run by BullMQ job schedulers (one per table, settings per table in `table_maintenance`):
// compaction of small files → manifest rewrite → snapshot expiry → orphan file removal, in that order so the files
// compaction replaces are expired and deleted in the same run once they fall out of the retained snapshots.
import type { Pool } from '@atoll/db';
import { currentSnapshot, formatIdentifier, type TableIdentifier } from '@atoll/iceberg';
import type { Lake } from '@atoll/lake';
import type { Logger } from '@atoll/log';
import { subscriptionWatermarks } from '@atoll/market';
import { removeMaintenanceScheduler, upsertMaintenanceScheduler, type Job, type MaintenanceJob, type Producer } from '@atoll/queue';

export interface MaintenanceSettings {
  enabled: boolean;
  everyMs: number;
  compactMinFiles: number;
  compactTargetFileBytes: number;
  expireKeepLast: number;
  expireOlderThanMs: number;
  orphanOlderThanMs: number;
  manifestTargetEntries: number;
}

/** The defaults of migration 004, for tables without a settings row. */
export const DEFAULT_MAINTENANCE: MaintenanceSettings = {
  enabled: true,
  everyMs: 3_600_000,
  compactMinFiles: 16,
  compactTargetFileBytes: 128 * 1024 * 1024,
  expireKeepLast: 20,
  expireOlderThanMs: 7 * 24 * 3_600_000,
  orphanOlderThanMs: 3 * 24 * 3_600_000,
  manifestTargetEntries: 10_000,
};

/** One table's maintenance steps; a step the lake does not provide yet is left out and reported as skipped. */
export interface MaintenanceTasks {
  compact?: (a: { lake: Lake; id: TableIdentifier; targetFileSizeBytes: number; minInputFiles: number; workDir: string; memoryLimit: string }) => Promise<{
    rewrittenFiles: number;
    addedFiles: number;
    snapshotId: bigint | null;
  }>;
  rewriteManifests?: (a: { lake: Lake; id: TableIdentifier; targetManifestEntries: number }) => Promise<{ snapshotId: bigint }>;
  expireSnapshots?: (a: { lake: Lake; id: TableIdentifier; retainLast: number; olderThanMs: number }) => Promise<{ expiredSnapshotIds: bigint[]; deletedFiles: string[] }>;
  /** Files under the table location that no metadata references and that are older than `olderThanMs`. */
  findOrphanFiles?: (a: { lake: Lake; id: TableIdentifier; olderThanMs: number }) => Promise<{ orphans: string[] }>;
}

export interface MaintenanceContext {
  pool: Pool;
  lake: Lake;
  producer: Producer;
  log: Logger;
  workDir: string;
  memoryLimit: string;
  tasks: MaintenanceTasks;
}

interface SettingsRow {
  enabled: boolean;
  every_ms: string;
  compact_min_files: number;
  compact_target_file_bytes: string;
  expire_keep_last: number;
  expire_older_than_ms: string;
  orphan_older_than_ms: string;
  manifest_target_entries: number;
}

const nsKey = (id: TableIdentifier): string => id.namespace.join('.');

export async function maintenanceSettings(pool: Pool, id: TableIdentifier): Promise<MaintenanceSettings> {
  const { rows } = await pool.query<SettingsRow>('SELECT * FROM table_maintenance WHERE namespace = $1 AND name = $2', [nsKey(id), id.name]);
  const r = rows[0];
  if (!r) return { ...DEFAULT_MAINTENANCE };
  return {
    enabled: r.enabled,
    everyMs: Number(r.every_ms),
    compactMinFiles: r.compact_min_files,
    compactTargetFileBytes: Number(r.compact_target_file_bytes),
    expireKeepLast: r.expire_keep_last,
    expireOlderThanMs: Number(r.expire_older_than_ms),
    orphanOlderThanMs: Number(r.orphan_older_than_ms),
    manifestTargetEntries: r.manifest_target_entries,
  };
}

export interface MaintenanceReport {
  table: string;
  skipped?: 'disabled' | 'no such table' | 'no snapshot yet';
  compaction?: { rewrittenFiles: number; addedFiles: number; snapshotId: string | null } | 'not available';
  manifests?: { snapshotId: string } | 'not available';
  expiry?: { expiredSnapshots: number; deletedFiles: number } | 'not available';
  orphans?: { found: number; deleted: number; sparedPending: number } | 'not available';
}

/** Runs every maintenance step of one table with its settings and records the outcome on its settings row. */
export async function runMaintenance(ctx: MaintenanceContext, id: TableIdentifier): Promise<MaintenanceReport> {
  const table = formatIdentifier(id);
  const settings = await maintenanceSettings(ctx.pool, id);
  const report: MaintenanceReport = { table };
  if (!settings.enabled) return { ...report, skipped: 'disabled' };
  const loaded = await ctx.lake.tryLoad(id);
  if (!loaded) return { ...report, skipped: 'no such table' };
  // A table created ahead of its first commit (a dataset nothing was published to yet) has nothing to maintain.
  if (!currentSnapshot(loaded.metadata)) return { ...report, skipped: 'no snapshot yet' };
  const { tasks, lake } = ctx;

  if (tasks.compact) {
    const r = await tasks.compact({ lake, id, targetFileSizeBytes: settings.compactTargetFileBytes, minInputFiles: settings.compactMinFiles, workDir: ctx.workDir, memoryLimit: ctx.memoryLimit });
    report.compaction = { rewrittenFiles: r.rewrittenFiles, addedFiles: r.addedFiles, snapshotId: r.snapshotId === null ? null : String(r.snapshotId) };
  } else report.compaction = 'not available';

  if (tasks.rewriteManifests) {
    const r = await tasks.rewriteManifests({ lake, id, targetManifestEntries: settings.manifestTargetEntries });
    report.manifests = { snapshotId: String(r.snapshotId) };
  } else report.manifests = 'not available';

  if (tasks.expireSnapshots) {
    const r = await tasks.expireSnapshots({ lake, id, retainLast: settings.expireKeepLast, olderThanMs: await retentionFor(ctx, id, settings.expireOlderThanMs) });
    report.expiry = { expiredSnapshots: r.expiredSnapshotIds.length, deletedFiles: r.deletedFiles.length };
  } else report.expiry = 'not available';

  if (tasks.findOrphanFiles) {
    const { orphans } = await tasks.findOrphanFiles({ lake, id, olderThanMs: settings.orphanOlderThanMs });
    // A data file waiting for its commit job is referenced by Postgres, not yet by the table: never an orphan.
    const waiting = await ctx.pool.query<{ file_path: string }>(`SELECT file_path FROM pending_data_files WHERE namespace = $1 AND name = $2 AND status = 'pending'`, [nsKey(id), id.name]);
    const spared = new Set(waiting.rows.map((r) => r.file_path));
    const doomed = orphans.filter((o) => !spared.has(o));
    for (const uri of doomed) await lake.io.delete(uri);
    report.orphans = { found: orphans.length, deleted: doomed.length, sparedPending: orphans.length - doomed.length };
  } else report.orphans = 'not available';

  await ctx.pool.query(
    `INSERT INTO table_maintenance (namespace, name, last_run_at, last_result) VALUES ($1, $2, now(), $3)
     ON CONFLICT (namespace, name) DO UPDATE SET last_run_at = now(), last_result = EXCLUDED.last_result`,
    [nsKey(id), id.name, JSON.stringify(report)],
  );
  ctx.log.info({ op: 'maintenance.table.done', ...report }, 'table maintenance done');
  return report;
}

/**
 * How far back expiry must keep snapshots: at least the table's setting, and for a published dataset every snapshot
 * from the oldest subscription watermark on, so incremental runs can still plan their changes (decision 7).
 */
async function retentionFor(ctx: MaintenanceContext, id: TableIdentifier, olderThanMs: number): Promise<number> {
  if (id.namespace.length !== 1 || id.namespace[0] !== 'published') return olderThanMs;
  const marks = new Set(await subscriptionWatermarks(ctx.pool, id.name));
  if (marks.size === 0) return olderThanMs;
  const table = await ctx.lake.tryLoad(id);
  const times = (table?.metadata.snapshots ?? []).filter((s) => marks.has(String(s['snapshot-id']))).map((s) => s['timestamp-ms']);
  if (times.length === 0) return olderThanMs;
  return Math.max(olderThanMs, Date.now() - Math.min(...times) + 1);
}

export async function processMaintenance(ctx: MaintenanceContext, job: Job<MaintenanceJob>): Promise<MaintenanceReport> {
  return runMaintenance(ctx, { namespace: job.data.namespace, name: job.data.name });
}

/** Upserts (or, when disabled, removes) the job scheduler of one table with its current settings. */
export async function scheduleTableMaintenance(ctx: Pick<MaintenanceContext, 'pool' | 'producer'>, id: TableIdentifier): Promise<string | null> {
  const settings = await maintenanceSettings(ctx.pool, id);
  if (!settings.enabled) {
    await removeMaintenanceScheduler(ctx.producer, id);
    return null;
  }
  return upsertMaintenanceScheduler(ctx.producer, { v: 1, namespace: id.namespace, name: id.name }, settings.everyMs);
}

/** Schedulers for every lake table the writer maintains (raw and published; cleanroom tables are the consumer's). */
export async function scheduleAllMaintenance(ctx: Pick<MaintenanceContext, 'pool' | 'producer'>, namespaces: readonly string[] = ['raw', 'published']): Promise<number> {
  const { rows } = await ctx.pool.query<{ namespace: string; name: string }>('SELECT namespace, name FROM iceberg_tables WHERE namespace = ANY($1::text[])', [namespaces]);
  for (const r of rows) await scheduleTableMaintenance(ctx, { namespace: r.namespace.split('.'), name: r.name });
  return rows.length;
}
