// Bulk ingest per format and compression: a staged bulk file → a committed Iceberg snapshot, as the writer's bulk job
// does it (download, decompress with the writer's limits, Avro → NDJSON, strict sanitizing read → Parquet with field
// ids → upload to MinIO, catalog commit), against DuckDB's own COPY of the same local file to Parquet with the same
// memory limit and threads; then the peak RSS of both, each in a child process, for a file larger than the memory limit.
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import avro from 'avsc';
import { avroToNdjson, classifyStagedKey, orcToParquet, unpackToFile, type BulkFormat, type InflateLimits } from '@atoll/bulk';
import { createPool } from '@atoll/db';
import { Duck, literal } from '@atoll/duck';
import { appendFiles, dropTable, type TableIdentifier } from '@atoll/iceberg';
import { Lake, writeDataFileForTable, type InputFormat, type SchemaColumn } from '@atoll/lake';
import { ObjectStore } from '@atoll/storage';
import { compare, median, type BenchResult } from './harness.js';
import { pyarrowOrc, pyicebergPython } from './ingest.bench.js';

/** The bulk test's purchases schema (test/bulk-ingest.test.ts). */
export const bulkColumns: SchemaColumn[] = [
  { name: 'user_id', type: 'string', role: 'user_id' },
  { name: 'amount', type: 'decimal(12,2)' },
  { name: 'qty', type: 'long' },
  { name: 'ok', type: 'boolean' },
  { name: 'day', type: 'date' },
  { name: 'at', type: 'timestamp', role: 'event_time' },
  { name: 'note', type: 'string' },
];

/** The writer's defaults (apps/writer/src/ingest.ts DEFAULT_BULK): a benchmark may not import an app. */
const WRITER_LIMITS: InflateLimits = { maxBytes: 20 * 1024 ** 3, maxRatio: 200 };

/** The cached inputs of one size: the same rows in every format. */
interface BulkData {
  dir: string;
  rows: number;
  csvBytes: number;
  csv: string;
  parquet: string;
}

/**
 * The formats benchmarked. A format is one entry: how to make its input from the cached data, the staged file's name
 * (its suffixes decide format and compression, exactly as for a provider's file) and DuckDB's own reader of it for the
 * baseline; a format the strict readers cannot load directly (Avro, ORC) also has its converter in `CONVERTERS`.
 */
export interface BulkBenchFormat {
  name: string;
  fileName: string;
  make: (data: BulkData, out: string) => Promise<void>;
  /** DuckDB's reader of the same rows; `note` says so when it cannot read this format itself. */
  baselineSource: (data: BulkData, file: string) => { sql: string; note?: string };
}

const csvSource = (path: string) => ({ sql: `read_csv(${literal(path)}, header = true)` });

export const BULK_FORMATS: BulkBenchFormat[] = [
  { name: 'csv', fileName: 'input.csv', make: async () => undefined, baselineSource: (d) => csvSource(d.csv) },
  { name: 'csv.gz', fileName: 'input.csv.gz', make: (d, out) => pipeline(createReadStream(d.csv), createGzip(), createWriteStream(out)), baselineSource: (_d, f) => csvSource(f) },
  { name: 'parquet', fileName: 'input.parquet', make: async () => undefined, baselineSource: (d) => ({ sql: `read_parquet(${literal(d.parquet)})` }) },
  // DuckDB has no Avro reader built in (extensions are never downloaded): its baseline reads the same rows as CSV.
  { name: 'avro', fileName: 'input.avro', make: (d, out) => csvToAvro(d.csv, out), baselineSource: (d) => ({ ...csvSource(d.csv), note: 'same rows as CSV (no DuckDB Avro reader)' }) },
  // ORC written by pyarrow (zstd) from the same rows' Parquet; no DuckDB ORC reader either: the baseline reads that Parquet.
  {
    name: 'orc',
    fileName: 'input.orc',
    make: async (d, out) => void pyarrowOrc(pyicebergPython(), 'write', d.parquet, out),
    baselineSource: (d) => ({ sql: `read_parquet(${literal(d.parquet)})`, note: 'same rows as Parquet (no DuckDB ORC reader)' }),
  },
];

/** Staged formats that need a conversion before the strict readers load them (the writer's prepareBulkInput). */
const CONVERTERS: Partial<Record<BulkFormat, (file: string, dir: string, orcConverter: string | undefined) => Promise<{ input: string; format: InputFormat }>>> = {
  orc: async (file, dir, orcConverter) => {
    if (!orcConverter) throw new Error('ORC needs the stack\'s converter (ATOLL_ORC_CONVERTER in .atoll/stack.env)');
    const parquet = join(dir, 'orc.parquet');
    await orcToParquet(file, parquet, { binary: orcConverter });
    return { input: parquet, format: 'parquet' };
  },
  avro: async (file, dir) => {
    const ndjson = join(dir, 'avro.ndjson');
    await avroToNdjson(file, ndjson);
    return { input: ndjson, format: 'ndjson' };
  },
};

// Deterministic rows; values without commas or quotes so the Avro writer below can split the CSV by hand.
const GENERATOR = `SELECT
  'user-' || CAST((i * 2654435761) % 1000003 AS VARCHAR) AS user_id,
  CAST(((i * 104729) % 5000000) / 100 AS DECIMAL(12,2)) AS amount,
  CAST(1 + (i * 31) % 9 AS BIGINT) AS qty,
  i % 17 <> 0 AS ok,
  CAST(DATE '2026-01-01' + CAST(i % 365 AS INTEGER) AS DATE) AS day,
  TIMESTAMP '2026-01-01' + to_microseconds(CAST((i * 7777777) % 31536000000000 AS BIGINT)) AS "at",
  'order ' || CAST(i AS VARCHAR) || ' via ' || ['web', 'app', 'store', 'partner'][1 + i % 4] AS note
FROM range(?) t(i)`;
const CSV_SELECT = `SELECT user_id, amount, qty, ok, day, strftime("at", '%Y-%m-%dT%H:%M:%S.%fZ') AS "at", note FROM (${GENERATOR})`;

async function copyGenerated(duck: Duck, select: string, rows: number, out: string, options: string): Promise<void> {
  await duck.run(`COPY (${select.replace('range(?)', `range(${rows})`)}) TO ${literal(out)} (${options})`);
}

/** Generates the CSV and Parquet of about `megabytes` MB of CSV once; later runs reuse them (`BENCH_WORK_DIR`). */
export async function bulkData(workDir: string, megabytes: number, threads: number): Promise<BulkData> {
  const dir = join(workDir, 'bulk-data', `${megabytes}mb-v1`);
  const manifest = join(dir, 'manifest.json');
  const files = { csv: join(dir, 'input.csv'), parquet: join(dir, 'input.parquet') };
  if (existsSync(manifest)) return { dir, ...files, ...(JSON.parse(await readFile(manifest, 'utf8')) as { rows: number; csvBytes: number }) };
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'tmp'), { recursive: true });
  const duck = await Duck.open({ threads, memoryLimit: '1GB', tempDirectory: join(dir, 'tmp') });
  try {
    await duck.run(`SET TimeZone = 'UTC'`);
    // Bytes per row from a sample decide the row count for the size asked for.
    const sampleRows = 100_000;
    await copyGenerated(duck, CSV_SELECT, sampleRows, files.csv, 'FORMAT csv, HEADER true');
    const rows = Math.ceil((megabytes * 2 ** 20 * sampleRows) / (await stat(files.csv)).size);
    await copyGenerated(duck, CSV_SELECT, rows, files.csv, 'FORMAT csv, HEADER true');
    await copyGenerated(duck, GENERATOR, rows, files.parquet, 'FORMAT parquet, COMPRESSION zstd');
    const meta = { rows, csvBytes: (await stat(files.csv)).size };
    await writeFile(manifest, JSON.stringify(meta));
    return { dir, ...files, ...meta };
  } finally {
    duck.close();
  }
}

/** The input of `format`, made on first use and cached beside the data. */
async function formatInput(data: BulkData, format: BulkBenchFormat): Promise<string> {
  const file = join(data.dir, format.fileName);
  if (existsSync(file)) return file;
  const partial = `${file}.partial`;
  await format.make(data, partial);
  // Formats read straight from the data (csv, parquet) write nothing.
  if (!existsSync(partial)) return file;
  await rename(partial, file);
  return file;
}

const AVRO_SCHEMA = {
  type: 'record',
  name: 'purchase',
  fields: [
    { name: 'user_id', type: 'string' },
    { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 12, scale: 2 } },
    { name: 'qty', type: 'long' },
    { name: 'ok', type: 'boolean' },
    { name: 'day', type: { type: 'int', logicalType: 'date' } },
    { name: 'at', type: { type: 'long', logicalType: 'timestamp-micros' } },
    { name: 'note', type: 'string' },
  ],
};

/** Two's complement big-endian bytes of the unscaled value, as Avro's decimal logical type stores it. */
function decimalBytes(text: string): Buffer {
  let n = BigInt(text.replace('.', ''));
  const bytes: number[] = [];
  do {
    bytes.unshift(Number(n & 0xffn));
    n >>= 8n;
  } while (n !== 0n && n !== -1n);
  if ((n === 0n) !== ((bytes[0]! & 0x80) === 0)) bytes.unshift(n === 0n ? 0 : 0xff);
  return Buffer.from(bytes);
}

/** The CSV's rows as an Avro object container file (deflate, as exporters commonly write), with avsc. */
async function csvToAvro(csv: string, out: string): Promise<void> {
  // Given the schema itself (not a Type), avsc keeps its logical-type annotations in the header; none is registered,
  // so it writes the underlying bytes, int and long given here.
  const lines = createInterface({ input: createReadStream(csv), crlfDelay: Infinity });
  async function* records(): AsyncGenerator<Record<string, unknown>> {
    let header = true;
    for await (const line of lines) {
      if (header) {
        header = false;
        continue;
      }
      const [userId, amount, qty, ok, day, at, note] = line.split(',') as [string, string, string, string, string, string, string];
      const micros = Date.parse(`${at.slice(0, 23)}Z`) * 1000 + Number(at.slice(23, 26));
      yield { user_id: userId, amount: decimalBytes(amount), qty: Number(qty), ok: ok === 'true', day: Date.parse(`${day}T00:00:00Z`) / 86_400_000, at: micros, note };
    }
  }
  await pipeline(Readable.from(records()), new avro.streams.BlockEncoder(AVRO_SCHEMA as avro.Schema, { codec: 'deflate' }), createWriteStream(out));
}

export interface BulkRunTimes {
  downloadMs: number;
  unpackMs: number;
  convertMs: number;
  writeMs: number;
  commitMs: number;
}

/**
 * What the writer does with one bulk file: the staged object → a committed snapshot of `id`. Returns where the time
 * went. Mirrors apps/writer's prepareBulkInput + ingest job (which records a pending file for a commit job instead of
 * appending at once: the same catalog commit, queued).
 */
export async function ingestStagedFile(opts: {
  lake: Lake;
  stagingBucket: string;
  stagingKey: string;
  id: TableIdentifier;
  location: string;
  dir: string;
  memoryLimit: string;
  threads: number;
  /** The rows the file holds: a run that commits any other count is wrong, not fast. */
  expectRows: number;
  /** The writer's ORC converter binary (ATOLL_ORC_CONVERTER), for ORC files. */
  orcConverter?: string;
}): Promise<BulkRunTimes> {
  const staged = classifyStagedKey(opts.stagingKey);
  if (staged.kind !== 'file' || !staged.format) throw new Error(`not a bulk file name: ${opts.stagingKey}`);
  await mkdir(join(opts.dir, 'tmp'), { recursive: true });
  const lap = (() => {
    let last = process.hrtime.bigint();
    return () => {
      const now = process.hrtime.bigint();
      const ms = Number(now - last) / 1e6;
      last = now;
      return ms;
    };
  })();
  const downloaded = join(opts.dir, 'staged');
  await opts.lake.store.downloadFile(opts.stagingBucket, opts.stagingKey, downloaded);
  const downloadMs = lap();
  let file = downloaded;
  if (staged.compression) {
    file = join(opts.dir, 'unpacked');
    await unpackToFile(downloaded, staged.compression, file, WRITER_LIMITS);
    await rm(downloaded);
  }
  const unpackMs = lap();
  const convert = CONVERTERS[staged.format];
  let read: { input: string; format: InputFormat };
  if (convert) {
    read = await convert(file, opts.dir, opts.orcConverter);
    await rm(file);
  } else if (staged.format === 'csv' || staged.format === 'parquet') {
    read = { input: file, format: staged.format };
  } else {
    throw new Error(`the bulk package cannot read ${staged.format} yet`);
  }
  const convertMs = lap();
  const { dataFile } = await writeDataFileForTable({ lake: opts.lake, id: opts.id, location: opts.location, columns: bulkColumns, input: read.input, format: read.format, workDir: opts.dir, memoryLimit: opts.memoryLimit, threads: opts.threads });
  const writeMs = lap();
  if (dataFile.recordCount !== opts.expectRows) throw new Error(`${opts.stagingKey}: wrote ${dataFile.recordCount} rows, expected ${opts.expectRows}`);
  await appendFiles({ io: opts.lake.io, catalog: opts.lake.catalog, id: opts.id, files: [dataFile], commitId: `bench:${opts.id.name}` });
  const commitMs = lap();
  await rm(opts.dir, { recursive: true, force: true });
  return { downloadMs, unpackMs, convertMs, writeMs, commitMs };
}

/** DuckDB's own COPY of `source` to Parquet: the baseline. Returns its seconds. */
export async function duckdbCopy(opts: { source: string; output: string; memoryLimit: string; threads: number; tempDirectory: string }): Promise<number> {
  const start = process.hrtime.bigint();
  const duck = await Duck.open({ threads: opts.threads, memoryLimit: opts.memoryLimit, tempDirectory: opts.tempDirectory });
  try {
    await duck.run(`COPY (SELECT * FROM ${opts.source}) TO ${literal(opts.output)} (FORMAT parquet, COMPRESSION zstd)`);
  } finally {
    duck.close();
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await rm(opts.output, { force: true });
  return seconds;
}

const here = dirname(fileURLToPath(import.meta.url));

type ChildOutcome = { seconds: number; peakRssMb: number } | { error: string };

/** Runs one side in a child process (bench/bulk-rss.ts); a failure (DuckDB out of memory) is an outcome to report. */
function inChild(job: Record<string, unknown>): ChildOutcome {
  const res = spawnSync(process.execPath, ['--import', 'tsx', join(here, 'bulk-rss.ts'), JSON.stringify(job)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (res.status !== 0) return { error: /Error: ([^\n]+)/.exec(res.stderr)?.[1]?.slice(0, 300) ?? `exit ${res.status}` };
  return JSON.parse(res.stdout.trim().split('\n').at(-1)!) as { seconds: number; peakRssMb: number };
}

export interface BulkBenchOptions {
  env: Record<string, string>;
  workDir: string;
  sizesMb: number[];
  repeats: number;
  threads: number;
  /** DuckDB memory limit of both sides in the timed runs (the writer's ATOLL_QUERY_MEMORY_LIMIT default). */
  memoryLimit: string;
  /** The peak-RSS runs: a `sizeMb` CSV (by default) under a smaller `memoryLimit`. */
  rss: { sizeMb: number; memoryLimit: string; formats: string[]; allowanceMb: number } | null;
  formats: string[];
}

/**
 * BENCH_LARGE=1 adds the 1 GiB size and measures peak RSS on it under 256MB; the default measures a 256 MB CSV under
 * 96MB (DuckDB's own COPY runs out of memory under 64MB with 2 threads, so a lower limit would have no baseline).
 */
export function bulkOptions(env: Record<string, string>, workDir: string, repeats: number, threads: number): BulkBenchOptions {
  const large = process.env.BENCH_LARGE === '1';
  const list = (v: string | undefined) => v?.split(',').map((s) => s.trim()).filter(Boolean);
  const sizesMb = list(process.env.BENCH_BULK_SIZES_MB)?.map(Number) ?? (large ? [100, 1024] : [100]);
  const formats = list(process.env.BENCH_BULK_FORMATS) ?? BULK_FORMATS.map((f) => f.name);
  return {
    env,
    workDir,
    sizesMb,
    repeats,
    threads,
    memoryLimit: process.env.BENCH_BULK_MEMORY ?? '1GB',
    rss:
      process.env.BENCH_BULK_RSS === '0'
        ? null
        : {
            sizeMb: Number(process.env.BENCH_BULK_RSS_SIZE_MB ?? (large ? 1024 : 256)),
            memoryLimit: process.env.BENCH_BULK_RSS_MEMORY ?? (large ? '256MB' : '96MB'),
            formats: list(process.env.BENCH_BULK_RSS_FORMATS) ?? ['csv'],
            allowanceMb: 150,
          },
    formats,
  };
}

export async function benchBulk(opts: BulkBenchOptions): Promise<BenchResult[]> {
  const { env } = opts;
  const store = new ObjectStore({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey: env.ATOLL_S3_WRITER_ACCESS_KEY!, secretKey: env.ATOLL_S3_WRITER_SECRET_KEY! });
  const root = new ObjectStore({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey: env.ATOLL_S3_ROOT_USER!, secretKey: env.ATOLL_S3_ROOT_PASSWORD! });
  const pool = createPool(env.ATOLL_DATABASE_URL!, { max: 4, applicationName: 'atoll-bench' });
  const lake = new Lake(store, pool, join(opts.workDir, 'cache'));
  const formats = opts.formats.map((name) => {
    const f = BULK_FORMATS.find((x) => x.name === name);
    if (!f) throw new Error(`unknown bulk format ${name}; known: ${BULK_FORMATS.map((x) => x.name).join(', ')}`);
    return f;
  });
  const results: BenchResult[] = [];
  const tables: string[] = [];
  const stagedKeys: string[] = [];
  // A provider-shaped key so the writer's own naming rules decide format and compression.
  const stage = async (data: BulkData, format: BulkBenchFormat): Promise<{ key: string; file: string }> => {
    const file = await formatInput(data, format);
    const key = `00000000-0000-4000-8000-${Date.now().toString().padStart(12, '0').slice(-12)}/purchases/${format.fileName}`;
    await root.putFile('atoll-staging', key, file);
    stagedKeys.push(key);
    return { key, file };
  };
  const newTable = (label: string): { id: TableIdentifier; location: string } => {
    const name = `bulk_${label.replace(/\W/g, '_')}_${Date.now()}_${tables.length}`;
    tables.push(name);
    return { id: { namespace: ['bench'], name }, location: `s3://atoll-lake/bench/${name}` };
  };
  try {
    for (const mb of opts.sizesMb) {
      const data = await bulkData(opts.workDir, mb, opts.threads);
      const runDir = join(opts.workDir, `bulk-run-${mb}`);
      await mkdir(join(runDir, 'tmp'), { recursive: true });
      for (const format of formats) {
        const { key, file } = await stage(data, format);
        const stagedMb = (await stat(file)).size / 2 ** 20;
        const source = format.baselineSource(data, file);
        const parts: BulkRunTimes[] = [];
        const r = await compare({
          name: `bulk ${format.name} → committed snapshot`,
          params: { sizeMb: mb, rows: data.rows, format: format.name, stagedMb: Math.round(stagedMb), memory: opts.memoryLimit, threads: opts.threads },
          baseline: `DuckDB COPY local ${format.name} → Parquet${source.note ? ` (${source.note})` : ''}`,
          repeats: opts.repeats,
          runBaseline: (i) => duckdbCopy({ source: source.sql, output: join(runDir, `baseline-${i}.parquet`), memoryLimit: opts.memoryLimit, threads: opts.threads, tempDirectory: join(runDir, 'tmp') }),
          runAtoll: async (i) => {
            const { id, location } = newTable(`${format.name}_${mb}`);
            parts.push(
              await ingestStagedFile({
                lake,
                stagingBucket: 'atoll-staging',
                stagingKey: key,
                id,
                location,
                dir: join(runDir, `atoll-${i}`),
                memoryLimit: opts.memoryLimit,
                threads: opts.threads,
                expectRows: data.rows,
                ...(opts.env.ATOLL_ORC_CONVERTER ? { orcConverter: opts.env.ATOLL_ORC_CONVERTER } : {}),
              }),
            );
          },
        });
        const csvMb = data.csvBytes / 2 ** 20;
        r.breakdownMs = Object.fromEntries(Object.keys(parts[0]!).map((k) => [k.replace(/Ms$/, ''), Math.round(median(parts.map((p) => p[k as keyof BulkRunTimes])))]));
        r.metrics = {
          atollMbPerS: round(csvMb / r.atollSeconds),
          baselineMbPerS: round(csvMb / r.baselineSeconds),
          atollOverBaseline: round(r.atollSeconds / r.baselineSeconds),
        };
        results.push(r);
      }
      await rm(runDir, { recursive: true, force: true });
    }
    if (opts.rss) {
      const rss = opts.rss;
      const data = await bulkData(opts.workDir, rss.sizeMb, opts.threads);
      const runDir = join(opts.workDir, `bulk-rss-${rss.sizeMb}`);
      await mkdir(join(runDir, 'tmp'), { recursive: true });
      for (const format of formats.filter((f) => rss.formats.includes(f.name))) {
        const { key } = await stage(data, format);
        const source = format.baselineSource(data, join(data.dir, format.fileName));
        const base = inChild({ side: 'baseline', source: source.sql, output: join(runDir, 'baseline.parquet'), memoryLimit: rss.memoryLimit, threads: opts.threads, tempDirectory: join(runDir, 'tmp') });
        const { id, location } = newTable(`rss_${format.name}`);
        const atoll = inChild({ side: 'atoll', stagingKey: key, id, location, dir: join(runDir, 'atoll'), memoryLimit: rss.memoryLimit, threads: opts.threads, expectRows: data.rows, workDir: opts.workDir });
        const failed = [...('error' in base ? [`baseline: ${base.error}`] : []), ...('error' in atoll ? [`atoll: ${atoll.error}`] : [])];
        const seconds = (o: ChildOutcome) => ('error' in o ? Number.NaN : o.seconds);
        const peakMb = (o: ChildOutcome) => ('error' in o ? Number.NaN : o.peakRssMb);
        const r: BenchResult = {
          name: `bulk ${format.name} peak RSS (child process)`,
          params: { sizeMb: rss.sizeMb, csvMb: Math.round(data.csvBytes / 2 ** 20), rows: data.rows, format: format.name, memory: rss.memoryLimit, threads: opts.threads, ...(failed.length > 0 ? { failed: failed.join('; ') } : {}) },
          atollSeconds: seconds(atoll),
          baselineSeconds: seconds(base),
          baseline: `DuckDB COPY local ${format.name} → Parquet in a child process`,
          ratio: seconds(base) / seconds(atoll),
          samples: { atoll: [seconds(atoll)], baseline: [seconds(base)] },
          metrics: {
            atollPeakRssMb: peakMb(atoll),
            baselinePeakRssMb: peakMb(base),
            allowanceMb: rss.allowanceMb,
            withinAllowance: peakMb(atoll) <= peakMb(base) + rss.allowanceMb ? 1 : 0,
          },
        };
        results.push(r);
      }
      await rm(runDir, { recursive: true, force: true });
    }
  } finally {
    if (stagedKeys.length > 0) await root.removeObjects('atoll-staging', stagedKeys);
    for (const name of tables) {
      await dropTable({ catalog: lake.catalog, id: { namespace: ['bench'], name } }).catch(() => undefined);
      await root.removeObjects('atoll-lake', (await root.listObjects('atoll-lake', `bench/${name}/`)).map((o) => o.key));
    }
    await pool.end();
  }
  return results;
}

const round = (x: number): number => Math.round(x * 100) / 100;

// `npx tsx bench/bulk.bench.ts` runs this benchmark alone (against a running stack).
if (import.meta.url === `file://${process.argv[1]}`) {
  const { tmpdir } = await import('node:os');
  const { paths, readStackEnvFile } = await import('@atoll/stack');
  const { printTable, writeResults } = await import('./harness.js');
  const rs = await benchBulk(bulkOptions(readStackEnvFile(paths.envFile), join(process.env.BENCH_WORK_DIR ?? tmpdir(), 'atoll-bench'), Number(process.env.BENCH_REPEATS ?? 3), Number(process.env.BENCH_THREADS ?? 2)));
  printTable(rs);
  for (const r of rs) process.stdout.write(`${r.name}: ${JSON.stringify({ ...r.metrics, ...r.breakdownMs })}\n`);
  if (process.env.BENCH_WRITE_RESULTS) process.stdout.write(`written to ${await writeResults(rs)}\n`);
}
