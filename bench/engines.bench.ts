// Engines through the Iceberg REST catalog (`BENCH_ONLY=engines`), each beside its baseline in the same run:
// 1. loadTable with vended credentials (X-Iceberg-Access-Delegation) at 1 and 16 concurrent clients, p50/p99, vs a bare
//    signed S3 GET of the same metadata JSON from MinIO; loadTable without vended credentials is reported beside it so
//    the cost of vending (an STS AssumeRole at MinIO per load) shows.
// 2. An aggregate scan of a 10 M-row table through the catalog vs the same Parquet files read directly from MinIO, in
//    DuckDB (ATTACH … TYPE iceberg vs read_parquet) and Spark local[2], 1 GB driver (REST catalog table vs
//    spark.read.parquet over s3a://); target ≥ 0.9×. The local Parquet files are generated once into BENCH_WORK_DIR.
// Reads BENCH_LOADTABLE_REQUESTS (200 per side, concurrency and repeat), BENCH_SCAN_ROWS (10,000,000),
// BENCH_SCAN_FILES (8), BENCH_ENGINES (duckdb,spark).
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { createPool } from '@atoll/db';
import { Duck, literal } from '@atoll/duck';
import { appendFiles, createTable, dataFileFromParquet, dropTable, duckdbFieldIds, parseJson, type DataFile, type IcebergSchema, type TableIdentifier } from '@atoll/iceberg';
import { Lake } from '@atoll/lake';
import { clientToken, paths, readStackEnvFile } from '@atoll/stack';
import { ObjectStore, parseS3Uri } from '@atoll/storage';
import { median, printTable, type BenchResult } from './harness.js';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const INTEROP_DIR = join(here, '..', 'packages', 'iceberg', 'interop');

export const SCAN_SCHEMA: IcebergSchema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'category', required: false, type: 'string' },
    { id: 3, name: 'amount', required: false, type: 'decimal(12,2)' },
    { id: 4, name: 'quantity', required: false, type: 'long' },
    { id: 5, name: 'purchased_at', required: false, type: 'timestamp' },
  ],
};

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Latencies (ms) of `requests` calls spread over `concurrency` clients, each waiting for its previous call. */
async function latencies(requests: number, concurrency: number, call: () => Promise<void>): Promise<number[]> {
  const out: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < requests) {
        const start = process.hrtime.bigint();
        await call();
        out.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
    }),
  );
  return out.sort((a, b) => a - b);
}

/** The scan data as local Parquet files (generated once, reused by later runs). */
async function scanFiles(dir: string, rows: number, files: number): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const paths = Array.from({ length: files }, (_, i) => join(dir, `part-${i}-of-${files}-${rows}.parquet`));
  if (paths.every((p) => existsSync(p))) return paths;
  const duck = await Duck.open({ threads: 2, memoryLimit: '1GB', tempDirectory: join(dir, 'tmp') });
  try {
    const per = Math.ceil(rows / files);
    for (const [i, path] of paths.entries()) {
      const from = i * per;
      const to = Math.min(rows, from + per);
      await duck.run(
        `COPY (SELECT i::BIGINT AS id, (['books','games','music','food','garden','toys','tools','health'])[1 + (hash(i) % 8)::INT] AS category, ` +
          `CAST((hash(i * 7) % 100000) / 100.0 AS DECIMAL(12,2)) AS amount, (1 + hash(i * 13) % 5)::BIGINT AS quantity, ` +
          `TIMESTAMP '2026-01-01' + INTERVAL (i % 31536000) SECOND AS purchased_at FROM range(${from}, ${to}) t(i)) ` +
          `TO ${literal(`${path}.tmp`)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000, FIELD_IDS ${duckdbFieldIds(SCAN_SCHEMA)})`,
      );
      await rename(`${path}.tmp`, path);
    }
  } finally {
    duck.close();
  }
  return paths;
}

interface ScanTimes {
  catalog: number[];
  direct: number[];
  answers: { catalog: string[]; direct: string[] };
  error?: string;
  message?: string;
}

async function scanInEngine(python: string, request: Record<string, unknown>): Promise<ScanTimes> {
  const childEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  const child = spawn(python, [join(here, 'py', 'engines_scan.py')], { env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(JSON.stringify(request));
  await new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', () => resolve());
  });
  let out: ScanTimes;
  try {
    out = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as ScanTimes;
  } catch {
    throw new Error(`engines_scan.py printed no JSON: ${stdout}${stderr.slice(-4000)}`);
  }
  if (out.error) throw new Error(`engines_scan.py: ${out.error}: ${out.message}`);
  if (JSON.stringify(out.answers.catalog) !== JSON.stringify(out.answers.direct)) throw new Error(`the two sides disagree: ${JSON.stringify(out.answers)}`);
  return out;
}

export async function benchEngines(opts: { env: Record<string, string>; workDir: string; repeats: number; threads: number }): Promise<BenchResult[]> {
  const { env } = opts;
  const requests = Number(process.env.BENCH_LOADTABLE_REQUESTS ?? 200);
  const rows = Number(process.env.BENCH_SCAN_ROWS ?? 10_000_000);
  const fileCount = Number(process.env.BENCH_SCAN_FILES ?? 8);
  const engines = new Set((process.env.BENCH_ENGINES ?? 'duckdb,spark').split(','));
  const catalogUri = `${env.ATOLL_API_URL}/iceberg`;
  const tokenUrl = `${env.ATOLL_KEYCLOAK_URL}/realms/${env.ATOLL_REALM}/protocol/openid-connect/token`;
  const s3 = { endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION! };
  const writer = new ObjectStore({ ...s3, accessKey: env.ATOLL_S3_WRITER_ACCESS_KEY!, secretKey: env.ATOLL_S3_WRITER_SECRET_KEY! });
  const root = new ObjectStore({ ...s3, accessKey: env.ATOLL_S3_ROOT_USER!, secretKey: env.ATOLL_S3_ROOT_PASSWORD! });
  const pool = createPool(env.ATOLL_DATABASE_URL!, { max: 4, applicationName: 'atoll-bench-engines' });
  const lake = new Lake(writer, pool, join(opts.workDir, 'engines-cache'));
  const token = await clientToken(env, env.ATOLL_OPERATOR_CLIENT_ID!, env.ATOLL_OPERATOR_CLIENT_SECRET!);
  const namespace = 'bench_engines';
  const name = `scan_${Date.now()}`;
  const id: TableIdentifier = { namespace: [namespace], name };
  const location = `s3://atoll-lake/${namespace}/${name}`;
  const results: BenchResult[] = [];

  const catalogFetch = (path: string, init: RequestInit = {}) =>
    fetch(`${catalogUri}/v1${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) } });
  const created = await catalogFetch('/namespaces', { method: 'POST', body: JSON.stringify({ namespace: [namespace] }) });
  if (created.status !== 200 && created.status !== 409) throw new Error(`creating namespace ${namespace}: ${created.status} ${await created.text()}`);

  try {
    // The scan table: the cached local files uploaded under the table and committed as one snapshot by Atoll's writer path.
    const local = await scanFiles(join(opts.workDir, 'engines-scan'), rows, fileCount);
    await createTable({ io: lake.io, catalog: lake.catalog, id, location, schema: SCAN_SCHEMA });
    const duck = await Duck.open({ threads: 1, memoryLimit: '256MB' });
    const dataFiles: DataFile[] = [];
    try {
      for (const [i, path] of local.entries()) {
        const uri = `${location}/data/part-${i}.parquet`;
        await writer.putFile(parseS3Uri(uri).bucket, parseS3Uri(uri).key, path, { contentType: 'application/vnd.apache.parquet' });
        dataFiles.push(await dataFileFromParquet(path, { uri, schema: SCAN_SCHEMA, connection: duck.connection }));
      }
    } finally {
      duck.close();
    }
    const committed = await appendFiles({ io: lake.io, catalog: lake.catalog, id, files: dataFiles, commitId: 'bench-engines' });
    const bytes = dataFiles.reduce((n, f) => n + f.fileSizeInBytes, 0);

    // 1. loadTable latency.
    const tablePath = `/namespaces/${namespace}/tables/${name}`;
    const loadOnce = async (vended: boolean): Promise<void> => {
      const res = await catalogFetch(tablePath, vended ? { headers: { 'x-iceberg-access-delegation': 'vended-credentials' } } : {});
      const body = parseJson(await res.text()) as { config?: Record<string, string> };
      if (res.status !== 200 || (vended && !body.config?.['s3.session-token'])) throw new Error(`loadTable answered ${res.status}`);
    };
    const metadataLocation = committed.metadataLocation;
    const { bucket, key } = parseS3Uri(metadataLocation);
    const bareGet = async (): Promise<void> => void (await writer.getObject(bucket, key));
    for (const concurrency of [1, 16]) {
      const atoll: number[] = [];
      const base: number[] = [];
      const plain: number[] = [];
      const p50s: { atoll: number[]; base: number[] } = { atoll: [], base: [] };
      await latencies(Math.min(requests, 20), concurrency, () => loadOnce(true)); // warm-up: JWKS, pools, S3 connections
      for (let r = 0; r < opts.repeats; r++) {
        const b = await latencies(requests, concurrency, bareGet);
        const a = await latencies(requests, concurrency, () => loadOnce(true));
        const p = await latencies(requests, concurrency, () => loadOnce(false));
        base.push(...b);
        atoll.push(...a);
        plain.push(...p);
        p50s.base.push(percentile(b, 50));
        p50s.atoll.push(percentile(a, 50));
      }
      for (const xs of [atoll, base, plain]) xs.sort((x, y) => x - y);
      results.push({
        name: 'REST loadTable with vended credentials (p50)',
        params: { concurrency, requests: requests * opts.repeats },
        atollSeconds: percentile(atoll, 50) / 1000,
        baselineSeconds: percentile(base, 50) / 1000,
        baseline: 'bare signed S3 GET of the same metadata JSON from MinIO (p50)',
        ratio: percentile(base, 50) / percentile(atoll, 50),
        samples: { atoll: p50s.atoll.map((ms) => ms / 1000), baseline: p50s.base.map((ms) => ms / 1000) },
        metrics: {
          p50ms: Number(percentile(atoll, 50).toFixed(2)),
          p99ms: Number(percentile(atoll, 99).toFixed(2)),
          bareP50ms: Number(percentile(base, 50).toFixed(2)),
          bareP99ms: Number(percentile(base, 99).toFixed(2)),
          noVendingP50ms: Number(percentile(plain, 50).toFixed(2)),
          noVendingP99ms: Number(percentile(plain, 99).toFixed(2)),
          loadsPerSec: Number(((1000 * concurrency) / median(atoll)).toFixed(1)),
        },
      });
    }

    // 2. Scans: the same aggregate through the catalog and over the files directly, alternated inside one engine.
    const s3Request = { endpoint: env.ATOLL_S3_ENDPOINT!.replace(/^https?:\/\//, '').replace(/\/+$/, ''), region: env.ATOLL_S3_REGION!, key_id: env.ATOLL_S3_WRITER_ACCESS_KEY!, secret: env.ATOLL_S3_WRITER_SECRET_KEY!, scope: 's3://atoll-lake' };
    const files = dataFiles.map((f) => f.filePath);
    const scanResult = (engine: string, times: ScanTimes, extra: Record<string, string | number>): BenchResult => ({
      name: `scan through the REST catalog (${engine})`,
      params: { rows, files: files.length, mb: Number((bytes / 2 ** 20).toFixed(1)), ...extra },
      atollSeconds: median(times.catalog),
      baselineSeconds: median(times.direct),
      baseline: engine === 'DuckDB' ? 'read_parquet of the same files on MinIO' : 'spark.read.parquet of the same files (s3a://)',
      ratio: median(times.direct) / median(times.catalog),
      target: 0.9,
      samples: { atoll: times.catalog, baseline: times.direct },
    });
    if (engines.has('duckdb')) {
      const python = (await run(process.execPath, [join(INTEROP_DIR, 'ensure-venv.mjs'), 'duckdb'])).stdout.trim();
      const times = await scanInEngine(python, {
        engine: 'duckdb',
        interop_dir: INTEROP_DIR,
        catalog_uri: catalogUri,
        token_url: tokenUrl,
        client_id: env.ATOLL_OPERATOR_CLIENT_ID,
        client_secret: env.ATOLL_OPERATOR_CLIENT_SECRET,
        table: `${namespace}.${name}`,
        files,
        s3: s3Request,
        threads: opts.threads,
        memory_limit: '1GB',
        repeats: opts.repeats,
      });
      results.push(scanResult('DuckDB', times, { threads: opts.threads }));
    }
    if (engines.has('spark')) {
      const python = (await run(process.execPath, [join(INTEROP_DIR, 'ensure-venv.mjs'), 'spark'])).stdout.trim();
      const jars = (await run(process.execPath, [join(INTEROP_DIR, 'ensure-spark-jars.mjs'), 'spark-s3a'])).stdout.trim();
      const times = await scanInEngine(python, {
        engine: 'spark',
        catalog_uri: catalogUri,
        // A fresh token: the Spark run outlives none of its 5 minutes at these sizes.
        token: await clientToken(env, env.ATOLL_OPERATOR_CLIENT_ID!, env.ATOLL_OPERATOR_CLIENT_SECRET!),
        jars,
        table: `${namespace}.${name}`,
        files: files.map((f) => f.replace(/^s3:/, 's3a:')),
        s3: s3Request,
        repeats: opts.repeats,
      });
      results.push(scanResult('Spark', times, { master: 'local[2]', driverMemory: '1g' }));
    }
  } finally {
    await dropTable({ catalog: lake.catalog, id }).catch(() => undefined);
    await root.removeObjects('atoll-lake', (await root.listObjects('atoll-lake', `${namespace}/${name}/`)).map((o) => o.key));
    await catalogFetch(`/namespaces/${namespace}`, { method: 'DELETE' });
    await pool.end();
  }
  return results;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  printTable(
    await benchEngines({
      env: readStackEnvFile(paths.envFile),
      workDir: join(process.env.BENCH_WORK_DIR ?? tmpdir(), 'atoll-bench'),
      repeats: Number(process.env.BENCH_REPEATS ?? 3),
      threads: Number(process.env.BENCH_THREADS ?? 2),
    }),
  );
}
