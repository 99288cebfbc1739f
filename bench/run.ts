// `npm run bench`: starts the local stack's services, runs each benchmark beside its baseline, prints a table and
// writes bench/results/latest.json. Sizes and repeats: BENCH_SIZES_MB (comma list), BENCH_REPEATS.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { paths, readStackEnvFile, up } from '@atoll/stack';
import { printTable, writeResults, type BenchResult } from './harness.js';
import { benchIngestCsv } from './ingest-csv.bench.js';

const sizesMb = (process.env.BENCH_SIZES_MB ?? '10,100').split(',').map(Number).filter((n) => n > 0);
const repeats = Number(process.env.BENCH_REPEATS ?? 3);
const threads = Number(process.env.BENCH_THREADS ?? 2);

await up({ apps: false });
const env = readStackEnvFile(paths.envFile);
const workDir = join(process.env.BENCH_WORK_DIR ?? tmpdir(), 'atoll-bench');
const results: BenchResult[] = [];
results.push(...(await benchIngestCsv({ env, workDir, sizesMb, repeats, threads })));
printTable(results);
process.stdout.write(`\nwritten to ${await writeResults(results)}\n`);
