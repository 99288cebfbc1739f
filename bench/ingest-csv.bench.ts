// Ingest: a CSV file in the staging bucket → a committed Iceberg snapshot (download, DuckDB → Parquet with field ids,
// column statistics, upload, catalog commit), against DuckDB's own COPY of the same local file to Parquet.
import { createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { createPool } from '@atoll/db';
import { Duck, literal } from '@atoll/duck';
import { dropTable } from '@atoll/iceberg';
import { Lake, loadFileIntoTable, type SchemaColumn } from '@atoll/lake';
import { ObjectStore } from '@atoll/storage';
import { compare, type BenchResult } from './harness.js';

const columns: SchemaColumn[] = [
  { name: 'user_id', type: 'string', role: 'user_id' },
  { name: 'category', type: 'string' },
  { name: 'amount', type: 'decimal(12,2)' },
  { name: 'quantity', type: 'long' },
  { name: 'score', type: 'double' },
  { name: 'returned', type: 'boolean' },
  { name: 'purchased_at', type: 'timestamp', role: 'event_time' },
];

const categories = ['groceries', 'electronics', 'travel', 'books', 'fashion', 'home', 'toys', 'sports'];

/** A deterministic purchases CSV of roughly `megabytes` MB. */
async function makeCsv(path: string, megabytes: number): Promise<{ rows: number; bytes: number }> {
  const out = createWriteStream(path);
  out.write('user_id,category,amount,quantity,score,returned,purchased_at\n');
  let bytes = 0;
  let rows = 0;
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const base = Date.UTC(2026, 0, 1);
  while (bytes < megabytes * 1024 * 1024) {
    const line = `user-${Math.floor(rand() * 1e6)},${categories[rows % 8]},${(rand() * 500).toFixed(2)},${1 + Math.floor(rand() * 9)},${rand().toFixed(6)},${rand() < 0.05},${new Date(base + Math.floor(rand() * 3e10)).toISOString()}\n`;
    bytes += line.length;
    rows += 1;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
  return { rows, bytes: (await stat(path)).size };
}

export async function benchIngestCsv(opts: { env: Record<string, string>; workDir: string; sizesMb: number[]; repeats: number; threads: number }): Promise<BenchResult[]> {
  const { env } = opts;
  const store = new ObjectStore({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey: env.ATOLL_S3_ROOT_USER!, secretKey: env.ATOLL_S3_ROOT_PASSWORD! });
  const pool = createPool(env.ATOLL_DATABASE_URL!, { max: 4, applicationName: 'atoll-bench' });
  const lake = new Lake(store, pool, join(opts.workDir, 'cache'));
  const results: BenchResult[] = [];
  try {
    for (const mb of opts.sizesMb) {
      const dir = join(opts.workDir, `ingest-${mb}`);
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      const csv = join(dir, 'input.csv');
      const { rows } = await makeCsv(csv, mb);
      const stagingKey = `_bench/${Date.now()}/input.csv`;
      await store.putFile('atoll-staging', stagingKey, csv);
      const tables: string[] = [];
      const result = await compare({
        name: 'ingest csv → committed snapshot',
        params: { sizeMb: mb, rows },
        baseline: 'DuckDB COPY local CSV → Parquet',
        repeats: opts.repeats,
        target: mb >= 1000 ? 0.8 : 0.5,
        runBaseline: async (i) => {
          const duck = await Duck.open({ threads: opts.threads, memoryLimit: '2GB', tempDirectory: join(dir, 'tmp') });
          try {
            await duck.run(`COPY (SELECT * FROM read_csv(${literal(csv)}, header = true)) TO ${literal(join(dir, `baseline-${i}.parquet`))} (FORMAT parquet, COMPRESSION zstd)`);
          } finally {
            duck.close();
          }
        },
        runAtoll: async (i) => {
          const local = join(dir, `staged-${i}.csv`);
          await store.downloadFile('atoll-staging', stagingKey, local);
          const name = `ingest_${mb}mb_${Date.now()}_${i}`;
          tables.push(name);
          await loadFileIntoTable({
            lake,
            id: { namespace: ['bench'], name },
            location: `s3://atoll-lake/bench/${name}`,
            columns,
            input: local,
            format: 'csv',
            workDir: dir,
            memoryLimit: '2GB',
            commitId: `bench:${name}`,
            threads: opts.threads,
          });
          await rm(local, { force: true });
        },
      });
      results.push(result);
      for (const name of tables) {
        await dropTable({ catalog: lake.catalog, id: { namespace: ['bench'], name } });
        await store.removeObjects('atoll-lake', (await store.listObjects('atoll-lake', `bench/${name}/`)).map((o) => o.key));
      }
      await store.removeObject('atoll-staging', stagingKey);
      await rm(dir, { recursive: true, force: true });
    }
  } finally {
    await pool.end();
  }
  return results;
}
