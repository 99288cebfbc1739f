// Sustained load (issues 12 and 13): N licensed devices (200 by default) upload 1–3 records per request for S seconds
// (60) through the stack's api while the provider puts a bulk CSV with its bulk key every few seconds; the same fleet
// also sends the same bodies to a bare Fastify route in this process (the baseline). After the writer has taken
// everything in, every acknowledged record and every bulk row must be in the raw table and the published dataset
// exactly once. Then a consumer estimates, subscribes and asks for runs: all must succeed and deliver exactly the
// licensed published rows. Latency per endpoint (p50/p99) is reported; the RSS of the api, writer and cleanroom
// processes is sampled every second and must stay under a bound and level off at the end.
// BENCH_LOAD_MIXED=0 leaves out the bulk files and the consumer (device uploads only, as in issue 12).
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Fastify from 'fastify';
import { createPool } from '@atoll/db';
import { Lake } from '@atoll/lake';
import { paths, readPid, readStackEnvFile, waitUntil } from '@atoll/stack';
import { ObjectStore } from '@atoll/storage';
import {
  buyAndRun,
  driveFleet,
  enrolFleet,
  expectedPerUser,
  feedBulkFiles,
  fleetProvider,
  settleUploads,
  tableCounts,
  waitBulkRecorded,
  type BulkFeed,
  type ConsumerPass,
} from '../test/support/device-fleet.js';
import { percentile, printTable, type BenchResult } from './harness.js';
import { MemorySampler, memoryViolations } from './process-memory.js';

export interface LoadOptions {
  env: Record<string, string>;
  devices: number;
  seconds: number;
  /** Bulk files and the consumer pass beside the device uploads (default). */
  mixed: boolean;
  bulkEveryMs: number;
  bulkRows: number;
  estimates: number;
  runs: number;
  /** Bound on each stack app's RSS: peak, and the slope over the last 10 s of the run. */
  rssLimitMb: number;
  rssSlopeMbPerS: number;
}

export function loadOptions(env: Record<string, string>): LoadOptions {
  const e = process.env;
  return {
    env,
    devices: Number(e.BENCH_LOAD_DEVICES ?? 200),
    seconds: Number(e.BENCH_LOAD_SECONDS ?? 60),
    mixed: e.BENCH_LOAD_MIXED !== '0',
    bulkEveryMs: Number(e.BENCH_LOAD_BULK_EVERY_MS ?? 2000),
    bulkRows: Number(e.BENCH_LOAD_BULK_ROWS ?? 200),
    estimates: Number(e.BENCH_LOAD_ESTIMATES ?? 20),
    runs: Number(e.BENCH_LOAD_RUNS ?? 5),
    rssLimitMb: Number(e.BENCH_LOAD_RSS_LIMIT_MB ?? 1536),
    rssSlopeMbPerS: Number(e.BENCH_LOAD_RSS_SLOPE_MB_S ?? 2),
  };
}

const round = (ms: number) => Math.round(ms);
const sorted = (xs: readonly number[]) => [...xs].sort((a, b) => a - b);

export async function benchLoad(opts: LoadOptions): Promise<BenchResult[]> {
  const { env } = opts;
  // The stack's own api process, not one built in here: its RSS is its own (not the load generator's), and it runs
  // exactly as deployed (its own event loop, its logging, its config from the stack).
  const atoll = env.ATOLL_API_URL!;
  const apps = ['api', 'writer', 'cleanroom'] as const;
  const pids: Record<string, number | 'self'> = { 'bench (load generator)': 'self' };
  for (const name of apps) {
    const rec = readPid(name);
    if (rec) pids[name] = rec.pid;
  }
  const memory = new MemorySampler(pids);
  // The machine's 1-minute load average at the start and the end: timings mean little without it.
  const loadStart = loadavg()[0]!;
  const bare = Fastify({ logger: false });
  bare.addContentTypeParser('application/x-ndjson', { parseAs: 'string' }, (_r, body, done) => done(null, body));
  bare.post('/v1/uploads/events', async (_r, reply) => reply.status(202).send({ uploadId: randomUUID(), records: 1 }));
  const baseline = await bare.listen({ host: '127.0.0.1', port: 0 });
  const workDir = join(tmpdir(), `atoll-bench-load-${randomUUID()}`);
  await mkdir(workDir, { recursive: true });
  const pool = createPool(env.ATOLL_DATABASE_URL!, { max: 2, applicationName: 'atoll-bench-load' });
  const failures: string[] = [];
  try {
    const provider = await fleetProvider({ baseUrl: atoll, env });
    const enrolStart = performance.now();
    const devices = await enrolFleet({ baseUrl: atoll, provider, devices: opts.devices });
    process.stdout.write(`load: ${devices.length} devices enrolled in ${((performance.now() - enrolStart) / 1000).toFixed(1)} s\n`);
    const base = await driveFleet({ baseUrl: baseline, devices, durationMs: opts.seconds * 1000 });
    let uploading = true;
    const bulkDone: Promise<BulkFeed> = opts.mixed
      ? feedBulkFiles({ provider, devices, everyMs: opts.bulkEveryMs, rows: opts.bulkRows, stop: () => !uploading })
      : Promise.resolve({ files: [], latencies: [], errors: [] });
    const run = await driveFleet({ baseUrl: atoll, devices, durationMs: opts.seconds * 1000 }).finally(() => (uploading = false));
    const bulk = await bulkDone;
    const bulkRows = bulk.files.reduce((s, f) => s + f.rows.length, 0);
    process.stdout.write(
      `load: ${run.uploads} uploads (${run.records} records) acknowledged, ${run.errors.length} errors; ${bulk.files.length} bulk files (${bulkRows} rows), ${bulk.errors.length} errors; waiting for the writer\n`,
    );
    failures.push(...run.errors.slice(0, 10), ...bulk.errors.slice(0, 10));
    if (run.errors.length > 10) failures.push(`… ${run.errors.length} upload errors in all`);

    const settleStart = performance.now();
    if (bulk.files.length > 0) await waitBulkRecorded(pool, provider.id, bulk.files.length, 1_800_000);
    const settled = await settleUploads(pool, provider.id, 1_800_000);
    if (settled.rejected > 0) failures.push(`${settled.rejected} uploads rejected by the writer: ${settled.reasons.join(' | ')}`);
    const expected = expectedPerUser(run.acknowledged, bulk.files);
    const expectedRows = run.records + bulkRows;
    const store = new ObjectStore({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey: env.ATOLL_S3_WRITER_ACCESS_KEY!, secretKey: env.ATOLL_S3_WRITER_SECRET_KEY! });
    const lake = new Lake(store, pool, join(workDir, 'cache'));
    const counts = await waitUntil(
      'the published dataset to catch up',
      async () => {
        const c = await tableCounts({ lake, workDir, provider });
        return [...c.published.values()].reduce((s, n) => s + n, 0) >= expectedRows ? c : null;
      },
      1_800_000,
    ).catch(() => tableCounts({ lake, workDir, provider }));
    const drainSeconds = (performance.now() - settleStart) / 1000;
    const tidOf = new Map(devices.map((d) => [d.userId, d.tid]));
    const expectedPublished = new Map([...expected].map(([u, n]) => [tidOf.get(u)!, n]));
    let lostRaw = 0;
    let lostPublished = 0;
    let extra = 0;
    for (const [user, n] of expected) {
      const raw = counts.raw.get(user) ?? 0;
      const published = counts.published.get(tidOf.get(user)!) ?? 0;
      lostRaw += Math.max(0, n - raw);
      lostPublished += Math.max(0, n - published);
      extra += Math.max(0, raw - n) + Math.max(0, published - n);
    }
    const rawRows = [...counts.raw.values()].reduce((s, n) => s + n, 0);
    const publishedRows = [...counts.published.values()].reduce((s, n) => s + n, 0);
    if (rawRows !== expectedRows || publishedRows !== expectedRows || lostRaw || lostPublished || extra) {
      failures.push(`tables: raw ${rawRows}, published ${publishedRows} rows, expected ${expectedRows}; lost raw ${lostRaw}, lost published ${lostPublished}, extra ${extra}`);
    }

    let consumer: ConsumerPass | null = null;
    if (opts.mixed) {
      process.stdout.write(`load: every row in raw and published (${publishedRows}); ${opts.estimates} estimates, a subscription, ${opts.runs} runs\n`);
      consumer = await buyAndRun({ env, provider, estimates: opts.estimates, runs: opts.runs, expectRecords: expectedRows, expectSubjects: devices.length });
      failures.push(...consumer.errors);
      const deliveredRows = [...consumer.delivered.values()].reduce((s, n) => s + n, 0);
      const wrong = [...new Set([...consumer.delivered.keys(), ...expectedPublished.keys()])].filter((tid) => (consumer!.delivered.get(tid) ?? 0) !== (expectedPublished.get(tid) ?? 0));
      if (deliveredRows !== expectedRows || wrong.length > 0) failures.push(`cleanroom: ${deliveredRows} rows delivered, expected ${expectedRows}; ${wrong.length} subjects with other counts`);
    }

    // A quiet tail: the "still climbing?" slope is taken over these last seconds, once the work is done.
    await new Promise((r) => setTimeout(r, 12_000));
    memory.stop();
    const mem = memory.summary(10);
    failures.push(...memoryViolations(mem, { peakMb: opts.rssLimitMb, tailSlopeMbPerS: opts.rssSlopeMbPerS }, apps));
    for (const [name, s] of Object.entries(mem)) {
      process.stdout.write(`load: RSS ${name}: ${s ? `peak ${s.peakMb.toFixed(0)} MB, end ${s.endMb.toFixed(0)} MB, last-10 s slope ${s.tailSlopeMbPerS.toFixed(2)} MB/s (${s.samples} samples)` : 'not sampled'}\n`);
    }

    const latency: Record<string, number> = {};
    const put = (name: string, xs: readonly number[]) => {
      const s = sorted(xs);
      latency[`${name}_n`] = s.length;
      latency[`${name}_p50_ms`] = round(percentile(s, 50));
      latency[`${name}_p99_ms`] = round(percentile(s, 99));
    };
    latency.upload_p50_ms = round(run.p50Ms);
    latency.upload_p99_ms = round(run.p99Ms);
    latency.baseline_upload_p50_ms = round(base.p50Ms);
    latency.baseline_upload_p99_ms = round(base.p99Ms);
    if (opts.mixed && consumer) {
      put('bulk_put', bulk.latencies);
      put('estimate', consumer.estimateMs);
      put('subscribe', consumer.subscribeMs);
      latency.initial_run_ms = round(consumer.initialRunMs);
      put('run', consumer.runMs);
    }
    const memoryMetrics: Record<string, number> = {};
    for (const [name, s] of Object.entries(mem)) {
      if (!s) continue;
      const key = name.split(' ')[0]!;
      memoryMetrics[`rss_${key}_peak_mb`] = round(s.peakMb);
      memoryMetrics[`rss_${key}_end_mb`] = round(s.endMb);
      memoryMetrics[`rss_${key}_tail_slope_mb_s`] = Number(s.tailSlopeMbPerS.toFixed(2));
    }
    if (failures.length > 0) process.stdout.write(`load: ${failures.length} problem(s): ${failures.slice(0, 5).join(' | ')}\n`);
    return [
      {
        name: opts.mixed ? 'mixed load (devices + bulk, then estimates and runs)' : 'device load (sustained uploads)',
        params: {
          devices: devices.length,
          seconds: opts.seconds,
          ...(opts.mixed ? { bulk_every_ms: opts.bulkEveryMs, bulk_rows: opts.bulkRows, estimates: opts.estimates, runs: opts.runs } : {}),
          atoll_rps: Math.round(run.uploads / run.seconds),
          baseline_rps: Math.round(base.uploads / base.seconds),
        },
        atollSeconds: run.seconds / Math.max(1, run.uploads),
        baselineSeconds: base.seconds / Math.max(1, base.uploads),
        baseline: 'bare Fastify route in the bench process, same fleet and bodies',
        ratio: base.seconds / Math.max(1, base.uploads) / (run.seconds / Math.max(1, run.uploads)),
        samples: { atoll: [run.seconds], baseline: [base.seconds] },
        metrics: {
          uploads: run.uploads,
          records_acknowledged: run.records,
          upload_errors: run.errors.length,
          bulk_files: bulk.files.length,
          bulk_rows: bulkRows,
          bulk_errors: bulk.errors.length,
          uploads_rejected_by_writer: settled.rejected,
          raw_rows: rawRows,
          published_rows: publishedRows,
          lost_raw: lostRaw,
          lost_published: lostPublished,
          duplicated: extra,
          writer_drain_s: Number(drainSeconds.toFixed(1)),
          load_avg_start: Number(loadStart.toFixed(1)),
          load_avg_end: Number(loadavg()[0]!.toFixed(1)),
          ...(consumer ? { consumer_errors: consumer.errors.length, delivered_rows: [...consumer.delivered.values()].reduce((s, n) => s + n, 0) } : {}),
          ...latency,
          ...memoryMetrics,
        },
        failures,
      },
    ];
  } finally {
    memory.stop();
    await bare.close();
    await pool.end();
    await rm(workDir, { recursive: true, force: true });
  }
}

// Alone against a running stack: `node --import tsx bench/load.bench.ts` (BENCH_LOAD_* as in bench/run.ts).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const results = await benchLoad(loadOptions(readStackEnvFile(paths.envFile)));
  printTable(results);
  if (results.some((r) => r.failures?.length)) process.exitCode = 1;
}
