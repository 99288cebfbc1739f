// Shared fixtures of the lake tests: a Lake with the writer's own S3 key, small CSV inputs, and an independent read
// of a table's rows (every live data file downloaded and read by DuckDB).
import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPool, type Pool } from '@atoll/db';
import { Duck, ident, literal } from '@atoll/duck';
import { ancestors, COMMIT_ID_SUMMARY_KEY, loadTable, planFiles, type TableIdentifier } from '@atoll/iceberg';
import { Lake } from '@atoll/lake';
import { ObjectStore } from '@atoll/storage';

export interface LakeFixture {
  pool: Pool;
  lake: Lake;
  workDir: string;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function lakeFixture(opts: { poolSize?: number } = {}): Promise<LakeFixture> {
  const env = process.env;
  const workDir = join(tmpdir(), `atoll-lake-test-${randomUUID()}`);
  await mkdir(workDir, { recursive: true });
  const pool = createPool(env.ATOLL_DATABASE_URL!, { max: opts.poolSize ?? 40, applicationName: 'atoll-lake-test' });
  const store = new ObjectStore({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey: env.ATOLL_S3_WRITER_ACCESS_KEY!, secretKey: env.ATOLL_S3_WRITER_SECRET_KEY! });
  const lake = new Lake(store, pool, join(workDir, 'cache'));
  return {
    pool,
    lake,
    workDir,
    async [Symbol.asyncDispose]() {
      await pool.end();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

export const uniqueName = (prefix: string): string => `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;

/** A CSV (user_id,k,iteration) with `rows` rows whose k values are `<tag>-<j>`, unique across tags. */
export async function writeCsv(dir: string, tag: string | number, rows: number): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${tag}.csv`);
  const lines = ['user_id,k,iteration', ...Array.from({ length: rows }, (_, j) => `u${j},${tag}-${j},${typeof tag === 'number' ? tag : 0}`)];
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

export interface TableState {
  files: string[];
  records: number;
  /** Every key-column value read back from the data files (DuckDB over local copies), sorted. */
  keys: string[];
  commitIds: string[];
  snapshots: number;
  summaryTotalRecords: number | null;
}

/** What a reader of the current snapshot sees, read independently of the writer's bookkeeping. */
export async function readTable(lake: Lake, id: TableIdentifier, workDir: string, keyColumn = 'k'): Promise<TableState> {
  const table = await loadTable({ io: lake.io, catalog: lake.catalog, id });
  const files = await planFiles({ io: lake.io, metadata: table.metadata });
  const chain = [...ancestors(table.metadata)];
  const commitIds = chain.map((s) => s.summary[COMMIT_ID_SUMMARY_KEY]).filter((c): c is string => c !== undefined);
  let keys: string[] = [];
  if (files.length > 0) {
    const locals = await lake.localCopies(files);
    const duck = await Duck.open({ threads: 1, memoryLimit: '256MB', tempDirectory: join(workDir, 'tmp') });
    try {
      keys = (await duck.all<{ k: string }>(`SELECT ${ident(keyColumn)} AS k FROM read_parquet([${locals.map(literal).join(', ')}]) ORDER BY k`)).map((r) => r.k);
    } finally {
      duck.close();
    }
  }
  const total = chain[0]?.summary['total-records'];
  return {
    files: files.map((f) => f.filePath),
    records: files.reduce((n, f) => n + f.recordCount, 0),
    keys,
    commitIds,
    snapshots: chain.length,
    summaryTotalRecords: total === undefined ? null : Number(total),
  };
}

/** A query over a table's live rows (the view `rows`), read independently with DuckDB; [] when it has no rows yet. */
export async function queryTable<T>(lake: Lake, id: TableIdentifier, workDir: string, sql: string): Promise<T[]> {
  const table = await lake.tryLoad(id);
  if (!table) return [];
  const files = await planFiles({ io: lake.io, metadata: table.metadata });
  if (files.length === 0) return [];
  const locals = await lake.localCopies(files);
  const duck = await Duck.open({ threads: 1, memoryLimit: '256MB', tempDirectory: join(workDir, 'tmp') });
  try {
    await duck.run(`CREATE VIEW rows AS SELECT * FROM read_parquet([${locals.map(literal).join(', ')}])`);
    return await duck.all<T>(sql);
  } finally {
    duck.close();
  }
}
