// A subscription run: the consumer's gated SELECT over published datasets, delivered into its cleanroom's Iceberg
// table. The first run loads everything; later runs read only the data files published since the last run (for
// single-dataset queries) and append what they return. Idempotent per job: the commit carries the run id.
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Pool } from '@atoll/db';
import { Duck, gateSelect, literal } from '@atoll/duck';
import { AtollError } from '@atoll/errors';
import { appendFiles, createTable, dataFileFromParquet, duckdbFieldIds, duckdbSelectList, newDataFileUri, planChanges } from '@atoll/iceberg';
import type { Lake} from '@atoll/lake';
import { cleanroomTableId, loadPublished, tableLocation, withSandboxedSelect, type DatasetInput, type SchemaColumn } from '@atoll/lake';
import type { Logger } from '@atoll/log';
import { UnrecoverableError, type Job, type SubscriptionRunJob } from '@atoll/queue';
import { parseS3Uri } from '@atoll/storage';
import { resultSchema } from './result-schema.js';

export interface CleanroomContext {
  pool: Pool;
  lake: Lake;
  log: Logger;
  workDir: string;
  limits: { memoryLimit: string; threads: number; timeoutMs: number };
}

interface SubscriptionRow {
  status: string;
  table_name: string;
  sql: string;
  cleanroom_id: string;
  bucket: string;
}

export async function processSubscriptionRun(ctx: CleanroomContext, job: Job<SubscriptionRunJob>): Promise<{ recordsAdded: number }> {
  const { subscriptionId, reason } = job.data;
  const { rows } = await ctx.pool.query<SubscriptionRow>(
    `SELECT s.status, s.table_name, s.sql, s.cleanroom_id, c.bucket FROM subscriptions s JOIN cleanrooms c ON c.id = s.cleanroom_id WHERE s.id = $1`,
    [subscriptionId],
  );
  const sub = rows[0];
  if (!sub) throw new UnrecoverableError(`subscription ${subscriptionId} does not exist`);
  if (sub.status === 'paused' && reason === 'daily') return { recordsAdded: 0 };

  const jobKey = `${job.id ?? randomUUID()}`;
  const run = await ctx.pool.query<{ id: string; status: string; records_added: number | null }>(
    `INSERT INTO subscription_runs (id, subscription_id, status, job_id) VALUES ($1, $2, 'running', $3)
     ON CONFLICT (job_id) DO UPDATE SET started_at = subscription_runs.started_at RETURNING id, status, records_added`,
    [randomUUID(), subscriptionId, jobKey],
  );
  const runRow = run.rows[0]!;
  if (runRow.status === 'succeeded') return { recordsAdded: runRow.records_added ?? 0 };
  const runId = runRow.id;

  try {
    const previous = await ctx.pool.query<{ source_snapshots: Record<string, string> | null }>(
      `SELECT source_snapshots FROM subscription_runs WHERE subscription_id = $1 AND status = 'succeeded' AND source_snapshots IS NOT NULL ORDER BY finished_at DESC LIMIT 1`,
      [subscriptionId],
    );
    const since = previous.rows[0]?.source_snapshots ?? null;

    const { rows: known } = await ctx.pool.query<{ name: string; columns: SchemaColumn[] }>(
      'SELECT d.name, s.columns FROM datasets d JOIN table_schemas s ON s.id = d.schema_id',
    );
    const probe = await Duck.open({ memoryLimit: '64MB', threads: 1 });
    let tables: string[];
    try {
      tables = (await gateSelect(probe, sub.sql, { datasets: new Set(known.map((k) => k.name)) })).tables;
    } finally {
      probe.close();
    }
    const datasets = await loadPublished(ctx.lake, known.filter((k) => tables.includes(k.name)));
    const snapshotsNow: Record<string, string> = {};
    for (const d of datasets) if (d.table?.metadata['current-snapshot-id'] != null) snapshotsNow[d.name] = String(d.table.metadata['current-snapshot-id']);

    // Incremental when there is exactly one dataset and a previous successful run read it.
    let inputs: DatasetInput[] = datasets;
    const only = datasets.length === 1 ? datasets[0] : undefined;
    const fromSnapshot = only && since?.[only.name];
    if (only?.table && fromSnapshot) {
      const { added } = await planChanges({ io: ctx.lake.io, metadata: only.table.metadata, fromSnapshotId: BigInt(fromSnapshot) });
      inputs = [{ ...only, localFiles: await ctx.lake.localCopies(added) }];
    } else if (since && Object.keys(since).length > 0) {
      // Multi-dataset queries are delivered in full on the first run only; later runs wait for a merge strategy.
      inputs = datasets.map((d) => ({ ...d, localFiles: [] }));
    }

    const dir = join(ctx.workDir, 'runs', runId);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    let recordsAdded = 0;
    let snapshotId: string | null = null;
    try {
      const output = join(dir, 'part.parquet');
      const id = cleanroomTableId(sub.cleanroom_id, sub.table_name);
      const produced = await withSandboxedSelect({
        lake: ctx.lake,
        sql: sub.sql,
        datasets: inputs,
        knownDatasets: new Set(datasets.map((d) => d.name)),
        limits: { ...ctx.limits, tempDirectory: join(dir, 'tmp') },
        outputDirectory: dir,
        use: async (duck, result) => {
          if (result.records === 0) return null;
          const schema = resultSchema(result.columns);
          const table = await createTable({ io: ctx.lake.io, catalog: ctx.lake.catalog, id, location: tableLocation(sub.bucket, id), schema, ifNotExists: true });
          // Trusted code after the untrusted query: COPY into the run's own directory, the only one allowed.
          await duck.run(`COPY (SELECT ${duckdbSelectList(schema)} FROM result) TO ${literal(output)} (FORMAT parquet, COMPRESSION zstd, FIELD_IDS ${duckdbFieldIds(schema)})`);
          const uri = newDataFileUri(table.metadata);
          const dataFile = await dataFileFromParquet(output, { uri, schema, connection: duck.connection });
          return { dataFile, uri, records: result.records };
        },
      });
      if (produced) {
        const { bucket, key } = parseS3Uri(produced.uri);
        await ctx.lake.store.putFile(bucket, key, output, { contentType: 'application/vnd.apache.parquet' });
        const commit = await appendFiles({ io: ctx.lake.io, catalog: ctx.lake.catalog, id, files: [produced.dataFile], commitId: `run:${runId}` });
        recordsAdded = produced.records;
        snapshotId = String(commit.snapshotId);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    await ctx.pool.query(
      `UPDATE subscription_runs SET status = 'succeeded', finished_at = now(), records_added = $2, records_removed = 0, snapshot_id = $3, source_snapshots = $4 WHERE id = $1`,
      [runId, recordsAdded, snapshotId, JSON.stringify({ ...(since ?? {}), ...snapshotsNow })],
    );
    await ctx.pool.query(`UPDATE subscriptions SET status = 'active' WHERE id = $1 AND status IN ('pending', 'failed')`, [subscriptionId]);
    ctx.log.info({ op: 'subscription.run.succeeded', subscriptionId, runId, recordsAdded, snapshotId }, 'subscription run delivered');
    return { recordsAdded };
  } catch (e) {
    const final = e instanceof AtollError || e instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const message = e instanceof Error ? e.message.split('\n')[0]! : String(e);
    await ctx.pool.query(`UPDATE subscription_runs SET status = $2, error = $3, finished_at = CASE WHEN $2 = 'failed' THEN now() END WHERE id = $1`, [
      runId,
      final ? 'failed' : 'running',
      message,
    ]);
    if (final) await ctx.pool.query(`UPDATE subscriptions SET status = 'failed' WHERE id = $1 AND status = 'pending'`, [subscriptionId]);
    if (e instanceof AtollError) throw new UnrecoverableError(message);
    throw e;
  }
}
