// `npm run bench`: makes sure the local stack's services run (reusing a healthy stack as the tests do), runs each
// benchmark beside its baseline, prints a table and writes bench/results/latest.json.
// BENCH_SIZES_MB (comma list, default 10; 1000 for the ≥ 1 GB ingest is opt-in: ~4.5 min per repeat on 2 cores), BENCH_REPEATS (3),
// BENCH_THREADS (2), BENCH_COMMITS (commits per throughput run, 64), BENCH_SMALL_APPENDS (1000), BENCH_VERSION_HINT
// (the small appends' version-hint mode: background, as the writer commits, or await),
// BENCH_ONLY (comma list of ingest,bulk,commits,compaction,tokens,load,licenses,delivery,billing,engines); the load benchmark reads
// BENCH_LOAD_DEVICES (200), BENCH_LOAD_SECONDS (60), BENCH_LOAD_MIXED (1: bulk files and a consumer beside the devices;
// 0: devices only), BENCH_LOAD_BULK_EVERY_MS (2000), BENCH_LOAD_BULK_ROWS (200), BENCH_LOAD_ESTIMATES (20),
// BENCH_LOAD_RUNS (5), BENCH_LOAD_RSS_LIMIT_MB (1536) and BENCH_LOAD_RSS_SLOPE_MB_S (2); the delivery benchmark reads
// BENCH_DELIVERY_ROWS (1,000,000), BENCH_DELIVERY_SUBJECTS (20,000), BENCH_DELIVERY_FILES (4), BENCH_DELIVERY_MEMORY
// (1GB) and BENCH_ESTIMATES (20); the billing one BENCH_BILLING_ENTRIES (10000) and BENCH_BILLING_RUNS (200).
// The bulk benchmark (per format: csv, csv.gz, parquet, avro) runs 100 MB by default; BENCH_LARGE=1 adds 1 GiB and
// measures peak RSS on it under 256MB (slow on 2 cores: tens of minutes, the inputs are cached in BENCH_WORK_DIR).
// It also reads BENCH_BULK_SIZES_MB, BENCH_BULK_FORMATS, BENCH_BULK_MEMORY (1GB, both sides of the timed runs),
// BENCH_BULK_RSS (0 skips the peak-RSS runs), BENCH_BULK_RSS_SIZE_MB (256; 1024 with BENCH_LARGE), BENCH_BULK_RSS_MEMORY
// (96MB; 256MB with BENCH_LARGE) and BENCH_BULK_RSS_FORMATS (csv).
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { paths, readStackEnvFile, status, up } from '@atoll/stack';
import { benchCommits } from './commits.bench.js';
import { benchCompaction } from './compaction.bench.js';
import { printTable, versionHintMode, writeResults, type BenchResult } from './harness.js';
import { benchIngest } from './ingest.bench.js';

const sizesMb = (process.env.BENCH_SIZES_MB ?? '10').split(',').map(Number).filter((n) => n > 0);
const repeats = Number(process.env.BENCH_REPEATS ?? 3);
const threads = Number(process.env.BENCH_THREADS ?? 2);
const commits = Number(process.env.BENCH_COMMITS ?? 64);
const appends = Number(process.env.BENCH_SMALL_APPENDS ?? 1000);
// Every benchmark unless BENCH_ONLY names some.
const only = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',')) : null;
const want = (name: string): boolean => only === null || only.has(name);

const current = await status().catch(() => []);
// The delivery benchmark measures the api's upload latency while estimates run, and the load benchmark drives the
// stack's own api, writer and cleanroom, so those need the apps too.
if (!(current.length > 0 && current.every((s) => s.healthy))) await up({ apps: want('delivery') || want('load') });
const env = readStackEnvFile(paths.envFile);
const workDir = join(process.env.BENCH_WORK_DIR ?? tmpdir(), 'atoll-bench');
const results: BenchResult[] = [];
const report = (rs: BenchResult[]): void => {
  results.push(...rs);
  printTable(rs);
  process.stdout.write('\n');
};
if (want('ingest')) report(await benchIngest({ env, workDir, sizesMb, repeats, threads }));
if (want('bulk')) {
  const { benchBulk, bulkOptions } = await import('./bulk.bench.js');
  report(await benchBulk(bulkOptions(env, workDir, repeats, threads)));
}
if (want('commits')) report(await benchCommits({ env, workDir, repeats, commits }));
if (want('compaction')) report(await benchCompaction({ env, workDir, repeats, appends, rowsPerAppend: 100, threads, versionHint: versionHintMode(process.env.BENCH_VERSION_HINT) }));
if (want('tokens')) report(await (await import('./tokens.bench.js')).benchTokens({ env, requests: Number(process.env.BENCH_TOKEN_REQUESTS ?? 1000), concurrency: 100, repeats }));
if (want('load')) {
  const { benchLoad, loadOptions } = await import('./load.bench.js');
  report(await benchLoad(loadOptions(env)));
}
if (want('licenses')) report(await (await import('./licenses.bench.js')).benchLicenses({ env, repeats, licenses: Number(process.env.BENCH_LICENSES ?? 300), stored: Number(process.env.BENCH_LICENSES_STORED ?? 1_000_000), concurrency: 8 }));
if (want('delivery')) {
  const { benchDelivery, deliveryOptions } = await import('./delivery.bench.js');
  report(await benchDelivery(deliveryOptions(env, workDir, repeats, threads)));
}
if (want('billing')) {
  const entries = Number(process.env.BENCH_BILLING_ENTRIES ?? 10_000);
  report(await (await import('./billing.bench.js')).benchBilling({ env, repeats: Math.min(repeats, 2), entries, runs: Number(process.env.BENCH_BILLING_RUNS ?? 200) }));
}
if (want('engines')) report(await (await import('./engines.bench.js')).benchEngines({ env, workDir, repeats, threads }));
printTable(results);
process.stdout.write(`\nwritten to ${await writeResults(results)}\n`);
if (results.some((r) => r.failures?.length)) process.exitCode = 1;
