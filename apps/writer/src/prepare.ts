// The prepare stage: rows newly committed to a raw table are deduplicated, deidentified (user id → TID, identity
// columns dropped) and appended to the published dataset — one published commit per raw snapshot, so a retry after
// a crash at any point neither loses nor duplicates rows.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Duck, ident, literal } from '@atoll/duck';
import { appendFiles, createTable, dataFileFromParquet, duckdbFieldIds, newDataFileUri, planChanges } from '@atoll/iceberg';
import { tidFor } from '@atoll/identity';
import { freeTextColumns, maskedCountSql, maskPiiSql, publishedColumns, publishedRecordKey, publishedSchema, publishedTableId, rawTableId, tableLocation, type SchemaColumn } from '@atoll/lake';
import { UnrecoverableError, type Job, type PrepareJob } from '@atoll/queue';
import { parseS3Uri } from '@atoll/storage';
import type { PoolClient } from '@atoll/db';
import type { WriterContext } from './ingest.js';

export interface PrepareContext extends WriterContext {
  tidKey: string;
}

export async function processPrepare(ctx: PrepareContext, job: Job<PrepareJob>): Promise<{ published: number }> {
  const { providerId, table, dataset } = job.data;
  const schemaRows = await ctx.pool.query<{ columns: SchemaColumn[]; record_key: string[] | null }>(
    `SELECT columns, record_key FROM table_schemas WHERE provider_id = $1 AND table_name = $2 AND status = 'approved'`,
    [providerId, table],
  );
  const columns = schemaRows.rows[0]?.columns;
  if (!columns) throw new UnrecoverableError(`table ${table} has no approved schema`);
  const userIdColumn = columns.find((c) => c.role === 'user_id');
  if (!userIdColumn) throw new UnrecoverableError(`table ${table} has no user_id column`);
  const recordKey = publishedRecordKey(columns, schemaRows.rows[0]?.record_key ?? null);

  // One prepare at a time per raw table: the progress row is the lock.
  const client = await ctx.pool.connect();
  let published = 0;
  try {
    await client.query('BEGIN');
    await client.query(`INSERT INTO publish_progress (provider_id, table_name, raw_snapshot_id) VALUES ($1, $2, '') ON CONFLICT DO NOTHING`, [providerId, table]);
    const progress = await client.query<{ raw_snapshot_id: string }>('SELECT raw_snapshot_id FROM publish_progress WHERE provider_id = $1 AND table_name = $2 FOR UPDATE', [providerId, table]);
    let from: bigint | null = progress.rows[0]?.raw_snapshot_id ? BigInt(progress.rows[0].raw_snapshot_id) : null;

    const raw = await ctx.lake.tryLoad(rawTableId(providerId, table));
    if (!raw) throw new UnrecoverableError(`raw table for ${table} does not exist`);
    const pubId = publishedTableId(dataset);
    const pubSchema = publishedSchema(columns);
    const pub = await createTable({ io: ctx.lake.io, catalog: ctx.lake.catalog, id: pubId, location: tableLocation(ctx.lakeBucket, pubId), schema: pubSchema, ifNotExists: true });

    const { snapshots } = await planChanges({ io: ctx.lake.io, metadata: raw.metadata, fromSnapshotId: from });
    for (const snap of snapshots) {
      const snapId = snap['snapshot-id'];
      const { added } = await planChanges({ io: ctx.lake.io, metadata: raw.metadata, fromSnapshotId: from, toSnapshotId: snapId });
      if (added.length > 0) {
        const dir = join(ctx.workDir, 'prepare', `${providerId}-${table}-${snapId}`);
        await rm(dir, { recursive: true, force: true });
        await mkdir(dir, { recursive: true });
        try {
          const locals = await ctx.lake.localCopies(added);
          const output = join(dir, 'part.parquet');
          const duck = await Duck.open({ memoryLimit: ctx.memoryLimit, threads: 1, tempDirectory: join(dir, 'tmp') });
          let dataFile;
          const uri = newDataFileUri(pub.metadata);
          try {
            // `filename` ties each row to its data file, and so to the upload whose report counts its masked values.
            await duck.run(`CREATE TABLE batch AS SELECT * FROM read_parquet([${locals.map(literal).join(', ')}], filename = true)`);
            const users = await duck.all<{ u: string }>(`SELECT DISTINCT ${ident(userIdColumn.name)} AS u FROM batch`);
            await duck.run('CREATE TABLE tids (u VARCHAR PRIMARY KEY, tid VARCHAR NOT NULL)');
            const appender = await duck.connection.createAppender('tids');
            for (const { u } of users) {
              appender.appendVarchar(u);
              appender.appendVarchar(tidFor(ctx.tidKey, providerId, u));
              appender.endRow();
            }
            appender.closeSync();
            const out = publishedColumns(columns);
            const freeText = new Set(freeTextColumns(columns).map((c) => c.name));
            const select = out
              .map((c) => (c.name === 'tid' ? 't.tid' : freeText.has(c.name) ? `${maskPiiSql(`b.${ident(c.name)}`)} AS ${ident(c.name)}` : `b.${ident(c.name)}`))
              .join(', ');
            const masked = await duck.all<{ f: string; n: bigint | number | null }>(`SELECT filename AS f, sum(${maskedCountSql(columns)}) AS n FROM batch b GROUP BY filename`);
            // SET, not add: a retried prepare computes the same counts for the same files.
            for (const { f, n } of masked) {
              const file = added[locals.indexOf(f)];
              if (!file) continue;
              await client.query('UPDATE uploads SET masked_values = $2 WHERE id = (SELECT upload_id FROM pending_data_files WHERE file_path = $1)', [file.filePath, Number(n ?? 0)]);
            }
            // Deduplication across batches: each row's record key, hashed over published values only; a key this
            // dataset published before (in any earlier batch) is not published again, and within the batch one row
            // per key is (the first in a fixed order, so a retry publishes the same one).
            const names = out.map((c) => ident(c.name));
            const keyJson = `to_json(struct_pack(${recordKey.map((k) => `${ident(k)} := ${ident(k)}`).join(', ')}))`;
            await duck.run(`CREATE TABLE pub AS SELECT ${select} FROM batch b JOIN tids t ON t.u = b.${ident(userIdColumn.name)}`);
            await duck.run(`CREATE TABLE keyed AS SELECT *, md5(${keyJson}) AS _k FROM pub`);
            const keys = (await duck.all<{ k: string }>('SELECT DISTINCT _k AS k FROM keyed')).map((r) => r.k);
            const fresh = await freshRecordKeys(client, dataset, keys);
            await duck.run('CREATE TABLE fresh (_k VARCHAR PRIMARY KEY)');
            const freshAppender = await duck.connection.createAppender('fresh');
            for (const k of fresh) {
              freshAppender.appendVarchar(k);
              freshAppender.endRow();
            }
            freshAppender.closeSync();
            await duck.run(
              `COPY (SELECT ${names.join(', ')} FROM keyed SEMI JOIN fresh USING (_k) QUALIFY row_number() OVER (PARTITION BY _k ORDER BY to_json(struct_pack(${names.map((n) => `${n} := ${n}`).join(', ')}))) = 1)
               TO ${literal(output)} (FORMAT parquet, COMPRESSION zstd, FIELD_IDS ${duckdbFieldIds(pubSchema)})`,
            );
            dataFile = await dataFileFromParquet(output, { uri, schema: pubSchema, connection: duck.connection });
          } finally {
            duck.close();
          }
          if (dataFile.recordCount > 0) {
            const { bucket, key } = parseS3Uri(uri);
            await ctx.lake.store.putFile(bucket, key, output, { contentType: 'application/vnd.apache.parquet' });
            // Published datasets are read through the catalog (subscription runs, the REST catalog): the hint may follow.
            const commit = await appendFiles({ io: ctx.lake.io, catalog: ctx.lake.catalog, id: pubId, files: [dataFile], commitId: `prepare:${providerId}:${table}:${snapId}`, versionHint: 'background' });
            published += dataFile.recordCount;
            ctx.log.info({ op: 'prepare.snapshot.published', dataset, rawSnapshotId: String(snapId), records: dataFile.recordCount, alreadyCommitted: commit.alreadyCommitted }, 'rows published');
          }
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }
      from = snapId;
      await client.query('UPDATE publish_progress SET raw_snapshot_id = $3, updated_at = now() WHERE provider_id = $1 AND table_name = $2', [providerId, table, String(snapId)]);
    }
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
  return { published };
}

/**
 * Records a batch's record keys (md5 hex) for the dataset in the prepare transaction and returns those it had never
 * published: a rolled-back prepare forgets them again, so a retry decides the same way.
 */
async function freshRecordKeys(client: PoolClient, dataset: string, keys: readonly string[]): Promise<string[]> {
  const fresh: string[] = [];
  for (let i = 0; i < keys.length; i += RECORD_KEY_CHUNK) {
    const res = await client.query<{ k: string }>(
      `INSERT INTO published_record_keys (dataset, key_hash) SELECT $1, decode(k, 'hex') FROM unnest($2::text[]) AS k
       ON CONFLICT DO NOTHING RETURNING encode(key_hash, 'hex') AS k`,
      [dataset, keys.slice(i, i + RECORD_KEY_CHUNK)],
    );
    for (const r of res.rows) fresh.push(r.k);
  }
  return fresh;
}

const RECORD_KEY_CHUNK = 20_000;
