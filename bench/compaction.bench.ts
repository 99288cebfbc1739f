// Small-file debt: N small appends (default 1,000), then the maintenance steps the writer schedules (compaction,
// manifest rewrite, snapshot expiry), then a full-table scan — against a scan of the same rows written once. A scan is
// what a reader does: load the table, plan files, download them, read every row with DuckDB.
// The appends use the writer's version-hint mode, `background` (BENCH_VERSION_HINT=await for the mode before it); the
// time of the last hint writes (flushVersionHints after the loop) counts toward the appends.
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createPool } from '@atoll/db';
import { Duck, literal } from '@atoll/duck';
import { appendFiles, createTable, dataFileFromParquet, dropTable, duckdbFieldIds, expireSnapshots, flushVersionHints, loadTable, planFiles, rewriteManifests, type DataFile, type TableIdentifier, type VersionHintMode } from '@atoll/iceberg';
import { Lake, compactTable, rawSchema } from '@atoll/lake';
import { ObjectStore, parseS3Uri } from '@atoll/storage';
import { compare, time, type BenchResult } from './harness.js';
import { purchaseColumns } from './ingest.bench.js';

const schema = rawSchema(purchaseColumns);

const rowsSql = (from: number, to: number): string =>
  `SELECT 'user-' || (i * 7919 % 100000) AS user_id, ['groceries','books','travel','home'][i % 4 + 1] AS category, CAST((i % 50000) / 100 AS DECIMAL(12,2)) AS amount, (i % 9 + 1)::BIGINT AS quantity, (i % 1000) / 1000.0 AS score, i % 20 = 0 AS returned, TIMESTAMP '2026-01-01' + INTERVAL (i) SECOND AS purchased_at FROM range(${from}, ${to}) t(i)`;

export async function benchCompaction(opts: { env: Record<string, string>; workDir: string; repeats: number; appends: number; rowsPerAppend: number; threads: number; versionHint: VersionHintMode }): Promise<BenchResult[]> {
  const { env, versionHint } = opts;
  const store = new ObjectStore({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey: env.ATOLL_S3_WRITER_ACCESS_KEY!, secretKey: env.ATOLL_S3_WRITER_SECRET_KEY! });
  const root = new ObjectStore({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey: env.ATOLL_S3_ROOT_USER!, secretKey: env.ATOLL_S3_ROOT_PASSWORD! });
  const pool = createPool(env.ATOLL_DATABASE_URL!, { max: 8, applicationName: 'atoll-bench' });
  const lake = new Lake(store, pool, join(opts.workDir, 'cache'));
  const dir = join(opts.workDir, 'compaction');
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'tmp'), { recursive: true });
  const total = opts.appends * opts.rowsPerAppend;
  const stamp = `${Date.now()}_${randomUUID().slice(0, 6)}`;
  const small: TableIdentifier = { namespace: ['bench'], name: `scan_small_${stamp}` };
  const once: TableIdentifier = { namespace: ['bench'], name: `scan_once_${stamp}` };
  const results: BenchResult[] = [];
  try {
    const smallT = await createTable({ io: lake.io, catalog: lake.catalog, id: small, location: `s3://atoll-lake/bench/${small.name}`, schema });
    const onceT = await createTable({ io: lake.io, catalog: lake.catalog, id: once, location: `s3://atoll-lake/bench/${once.name}`, schema });
    const duck = await Duck.open({ threads: opts.threads, memoryLimit: '1GB', tempDirectory: join(dir, 'tmp') });
    const write = async (table: typeof smallT, from: number, to: number): Promise<DataFile> => {
      const local = join(dir, `${randomUUID()}.parquet`);
      await duck.run(`COPY (${rowsSql(from, to)}) TO ${literal(local)} (FORMAT parquet, COMPRESSION zstd, FIELD_IDS ${duckdbFieldIds(schema)})`);
      const uri = `${table.metadata.location}/data/${randomUUID()}.parquet`;
      const f = await dataFileFromParquet(local, { uri, schema, connection: duck.connection });
      await lake.store.putFile(parseS3Uri(uri).bucket, parseS3Uri(uri).key, local);
      await rm(local, { force: true });
      return f;
    };
    let appendSeconds = 0;
    try {
      for (let a = 0; a < opts.appends; a++) {
        const f = await write(smallT, a * opts.rowsPerAppend, (a + 1) * opts.rowsPerAppend);
        appendSeconds += await time(async () => void (await appendFiles({ io: lake.io, catalog: lake.catalog, id: small, files: [f], commitId: `a${a}`, versionHint })));
      }
      appendSeconds += await time(() => flushVersionHints());
      await appendFiles({ io: lake.io, catalog: lake.catalog, id: once, files: [await write(onceT, 0, total)], commitId: 'once' });
    } finally {
      duck.close();
    }

    const scan = async (id: TableIdentifier, i: number): Promise<void> => {
      // A cold reader: its own empty cache.
      const reader = new Lake(store, pool, join(dir, `scan-${id.name}-${i}-${randomUUID()}`));
      const table = await loadTable({ io: reader.io, catalog: reader.catalog, id });
      const files = await planFiles({ io: reader.io, metadata: table.metadata });
      const locals = await reader.localCopies(files);
      const d = await Duck.open({ threads: opts.threads, memoryLimit: '1GB', tempDirectory: join(dir, 'tmp') });
      try {
        const [r] = await d.all<{ n: bigint }>(`SELECT count(*) AS n, sum(quantity) AS q, min(purchased_at) AS t FROM read_parquet([${locals.map(literal).join(', ')}])`);
        if (Number(r!.n) !== total) throw new Error(`scan of ${id.name} read ${r!.n} rows, expected ${total}`);
      } finally {
        d.close();
      }
    };
    let si = 0;
    const before = await compare({
      name: 'full scan after small appends (no maintenance)',
      params: { appends: opts.appends, rows: total, files: opts.appends },
      baseline: 'same rows written once',
      repeats: opts.repeats,
      runBaseline: () => scan(once, si++),
      runAtoll: () => scan(small, si++),
    });
    results.push(before);

    let compacted = { rewrittenFiles: 0, addedFiles: 0 };
    const steps = { compactSeconds: 0, rewriteManifestsSeconds: 0, expireSeconds: 0 };
    const maintenanceSeconds = await time(async () => {
      steps.compactSeconds = await time(async () => {
        compacted = await compactTable({ lake, id: small, minInputFiles: 2, workDir: join(dir, 'compact'), memoryLimit: '1GB', threads: opts.threads });
      });
      steps.rewriteManifestsSeconds = await time(async () => void (await rewriteManifests({ io: lake.io, catalog: lake.catalog, id: small })));
      steps.expireSeconds = await time(async () => void (await expireSnapshots({ io: lake.io, catalog: lake.catalog, id: small, retainLast: 1, olderThanMs: 0, deleteFiles: true })));
    });
    const after = await compare({
      name: 'full scan after small appends + compaction',
      params: {
        appends: opts.appends,
        rows: total,
        rewrittenFiles: compacted.rewrittenFiles,
        addedFiles: compacted.addedFiles,
        maintenanceSeconds: Number(maintenanceSeconds.toFixed(2)),
        ...Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, Number(v.toFixed(2))])),
        appendsPerSec: Number((opts.appends / appendSeconds).toFixed(1)),
        versionHint,
      },
      baseline: 'same rows written once',
      repeats: opts.repeats,
      // "scan ≤ 1.2× the time of the same data written once" ⇔ baseline/atoll ≥ 1/1.2.
      target: 0.83,
      runBaseline: () => scan(once, si++),
      runAtoll: () => scan(small, si++),
    });
    results.push(after);
  } finally {
    await flushVersionHints();
    for (const id of [small, once]) {
      await dropTable({ catalog: lake.catalog, id });
      await root.removeObjects('atoll-lake', (await root.listObjects('atoll-lake', `bench/${id.name}/`)).map((o) => o.key));
    }
    await pool.end();
    await rm(dir, { recursive: true, force: true });
  }
  return results;
}
