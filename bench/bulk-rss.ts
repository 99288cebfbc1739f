// One side of the bulk benchmark's peak-RSS comparison, alone in this process so its high-water mark is its own:
// `node --import tsx bench/bulk-rss.ts '<job json>'` prints {"seconds", "peakRssMb"} as its last line.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPool } from '@atoll/db';
import type { TableIdentifier } from '@atoll/iceberg';
import { Lake } from '@atoll/lake';
import { paths, readStackEnvFile } from '@atoll/stack';
import { ObjectStore } from '@atoll/storage';
import { duckdbCopy, ingestStagedFile } from './bulk.bench.js';

type Job =
  | { side: 'baseline'; source: string; output: string; memoryLimit: string; threads: number; tempDirectory: string }
  | { side: 'atoll'; stagingKey: string; id: TableIdentifier; location: string; dir: string; memoryLimit: string; threads: number; expectRows: number; workDir: string };

/** The process's resident high-water mark: VmHWM on Linux, else what getrusage reports (KiB). */
function peakRssMb(): number {
  try {
    const kib = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kib) return Math.round(Number(kib) / 1024);
  } catch {
    // Not Linux.
  }
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
const start = process.hrtime.bigint();
if (job.side === 'baseline') {
  await duckdbCopy(job);
} else {
  const env = readStackEnvFile(paths.envFile);
  const store = new ObjectStore({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey: env.ATOLL_S3_WRITER_ACCESS_KEY!, secretKey: env.ATOLL_S3_WRITER_SECRET_KEY! });
  const pool = createPool(env.ATOLL_DATABASE_URL!, { max: 2, applicationName: 'atoll-bench-rss' });
  try {
    await ingestStagedFile({ lake: new Lake(store, pool, join(job.workDir, 'cache')), stagingBucket: 'atoll-staging', ...job });
  } finally {
    await pool.end();
  }
}
process.stdout.write(`${JSON.stringify({ seconds: Number(process.hrtime.bigint() - start) / 1e9, peakRssMb: peakRssMb() })}\n`);
