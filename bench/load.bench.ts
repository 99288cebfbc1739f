// Sustained device load (issue 12): N licensed devices (200 by default) upload 1–3 records per request for S seconds
// (60) through an in-process api against the running stack, beside the same fleet sending the same bodies to a bare
// Fastify route. Atoll must answer every request 202, and every acknowledged record must reach the raw table and the
// published dataset exactly once — counted there, after the writer has taken everything in.
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Fastify from 'fastify';
import { buildApp, createDeps } from '@atoll/api';
import { ApiConfigSchema, loadConfig } from '@atoll/config';
import { createPool } from '@atoll/db';
import { Lake } from '@atoll/lake';
import { createLogger } from '@atoll/log';
import { paths, readStackEnvFile, waitUntil } from '@atoll/stack';
import { ObjectStore } from '@atoll/storage';
import { acknowledgedPerUser, driveFleet, enrolFleet, fleetProvider, settleUploads, tableCounts } from '../test/support/device-fleet.js';
import { printTable, type BenchResult } from './harness.js';

export async function benchLoad(opts: { env: Record<string, string>; devices: number; seconds: number }): Promise<BenchResult[]> {
  const { env } = opts;
  const config = loadConfig(ApiConfigSchema, {
    ...process.env,
    ...env,
    ATOLL_S3_ACCESS_KEY: env.ATOLL_S3_API_ACCESS_KEY,
    ATOLL_S3_SECRET_KEY: env.ATOLL_S3_API_SECRET_KEY,
    ATOLL_API_PORT: '0',
    ATOLL_WORK_DIR: '/tmp/atoll-bench-api',
    ATOLL_LOG_LEVEL: 'warn',
  });
  const deps = createDeps(config);
  const app = await buildApp(config, deps, { logger: createLogger({ name: 'bench-api', level: 'warn' }) });
  const atoll = await app.listen({ host: '127.0.0.1', port: 0 });
  const bare = Fastify({ logger: false });
  bare.addContentTypeParser('application/x-ndjson', { parseAs: 'string' }, (_r, body, done) => done(null, body));
  bare.post('/v1/uploads/events', async (_r, reply) => reply.status(202).send({ uploadId: randomUUID(), records: 1 }));
  const baseline = await bare.listen({ host: '127.0.0.1', port: 0 });
  const workDir = join(tmpdir(), `atoll-bench-load-${randomUUID()}`);
  await mkdir(workDir, { recursive: true });
  const pool = createPool(env.ATOLL_DATABASE_URL!, { max: 2, applicationName: 'atoll-bench-load' });
  try {
    while (!deps.changes.live) await new Promise((r) => setTimeout(r, 20));
    const provider = await fleetProvider({ baseUrl: atoll, env });
    const enrolStart = performance.now();
    const devices = await enrolFleet({ baseUrl: atoll, provider, devices: opts.devices });
    process.stdout.write(`load: ${devices.length} devices enrolled in ${((performance.now() - enrolStart) / 1000).toFixed(1)} s\n`);
    const base = await driveFleet({ baseUrl: baseline, devices, durationMs: opts.seconds * 1000 });
    const run = await driveFleet({ baseUrl: atoll, devices, durationMs: opts.seconds * 1000 });
    process.stdout.write(`load: ${run.uploads} uploads (${run.records} records) acknowledged, ${run.errors.length} errors; waiting for the writer\n`);

    const settleStart = performance.now();
    const settled = await settleUploads(pool, provider.id, 1_800_000);
    const store = new ObjectStore({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey: env.ATOLL_S3_WRITER_ACCESS_KEY!, secretKey: env.ATOLL_S3_WRITER_SECRET_KEY! });
    const lake = new Lake(store, pool, join(workDir, 'cache'));
    const counts = await waitUntil(
      'the published dataset to catch up',
      async () => {
        const c = await tableCounts({ lake, workDir, provider });
        return [...c.published.values()].reduce((s, n) => s + n, 0) >= run.records ? c : null;
      },
      1_800_000,
    ).catch(() => tableCounts({ lake, workDir, provider }));
    const drainSeconds = (performance.now() - settleStart) / 1000;
    const expected = acknowledgedPerUser(run.acknowledged);
    const tidOf = new Map(devices.map((d) => [d.userId, d.tid]));
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
    if (run.errors.length > 0) process.stdout.write(`load: first errors: ${run.errors.slice(0, 3).join(' | ')}\n`);
    return [
      {
        name: 'device load (sustained uploads)',
        params: {
          devices: devices.length,
          seconds: opts.seconds,
          atoll_rps: Math.round(run.uploads / run.seconds),
          baseline_rps: Math.round(base.uploads / base.seconds),
          atoll_p50_ms: Number(run.p50Ms.toFixed(1)),
          atoll_p99_ms: Number(run.p99Ms.toFixed(1)),
          baseline_p99_ms: Number(base.p99Ms.toFixed(1)),
        },
        atollSeconds: run.seconds / Math.max(1, run.uploads),
        baselineSeconds: base.seconds / Math.max(1, base.uploads),
        baseline: 'bare Fastify route, same fleet and bodies, same process',
        ratio: base.seconds / Math.max(1, base.uploads) / (run.seconds / Math.max(1, run.uploads)),
        samples: { atoll: [run.seconds], baseline: [base.seconds] },
        metrics: {
          uploads: run.uploads,
          records_acknowledged: run.records,
          errors: run.errors.length,
          uploads_rejected_by_writer: settled.rejected,
          raw_rows: rawRows,
          published_rows: publishedRows,
          lost_raw: lostRaw,
          lost_published: lostPublished,
          duplicated: extra,
          writer_drain_s: Number(drainSeconds.toFixed(1)),
        },
      },
    ];
  } finally {
    await bare.close();
    await app.close();
    await deps.close();
    await pool.end();
    await rm(workDir, { recursive: true, force: true });
  }
}

// Alone against a running stack: `node --import tsx bench/load.bench.ts` (BENCH_LOAD_DEVICES, BENCH_LOAD_SECONDS).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const results = await benchLoad({ env: readStackEnvFile(paths.envFile), devices: Number(process.env.BENCH_LOAD_DEVICES ?? 200), seconds: Number(process.env.BENCH_LOAD_SECONDS ?? 60) });
  printTable(results);
}
