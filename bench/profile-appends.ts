// Where a small append's time goes: N serial appendFiles calls of one tiny data file each to a fresh table, with the
// S3 and Postgres calls timed per kind (the clients' prototypes are wrapped for the run; no product code changes).
// Prints the breakdown per block of appends, so growth with table history shows. Run against a running stack:
//   npx tsx bench/profile-appends.ts [appends=300] [block=100] [writers=1] [maintenance=0]
// With maintenance=1 the compaction bench's maintenance (compact, rewrite manifests, expire) follows, step by step.
// The appends use the writer's version-hint mode, `background`; BENCH_VERSION_HINT=await measures the mode before it.
// In background mode the last block's time includes flushVersionHints (the hint writes still pending at its end).
// With `node --cpu-prof --import tsx bench/profile-appends.ts` the CPU profile shows the JavaScript between calls.
// BENCH_APPEND_PATH=writer appends the way the writer does: each file recorded as pending (its commit job really
// enqueued, to a throwaway queue no worker reads) and committed by the commit job's body, commitPendingFiles, run
// inline — one batch, one snapshot per append. The default, `direct`, calls appendFiles.
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createPool } from '@atoll/db';
import { appendFiles, createTable, type DataFile, dropTable, expireSnapshots, flushVersionHints, rewriteManifests } from '@atoll/iceberg';
import { Lake, compactTable, rawSchema } from '@atoll/lake';
import { createLogger } from '@atoll/log';
import { Producer, commitJobs, redisConnection } from '@atoll/queue';
import { paths, readStackEnvFile } from '@atoll/stack';
import { ObjectStore } from '@atoll/storage';
import { commitPendingFiles, recordPendingFile } from '@atoll/writer';
import { smallFiles } from './commits.bench.js';
import { versionHintMode } from './harness.js';
import { purchaseColumns } from './ingest.bench.js';

type AnyFn = (...args: unknown[]) => unknown;
const spent = new Map<string, number>();
const calls = new Map<string, number>();
const add = (k: string, ms: number): void => {
  spent.set(k, (spent.get(k) ?? 0) + ms);
  calls.set(k, (calls.get(k) ?? 0) + 1);
};
const wrap = (target: Record<string, unknown>, name: string, label: (args: unknown[]) => string): void => {
  const orig = target[name] as AnyFn;
  target[name] = async function (this: unknown, ...args: unknown[]) {
    const t = performance.now();
    try {
      return await orig.apply(this, args);
    } finally {
      add(label(args), performance.now() - t);
    }
  };
};
const kind = (key: unknown): string => {
  const k = String(key);
  if (k.endsWith('.metadata.json')) return 'metadata.json';
  if (k.endsWith('version-hint.text')) return 'version-hint';
  if (/\/snap-[^/]+\.avro$/.test(k)) return 'manifest list';
  if (k.endsWith('.avro')) return 'manifest';
  return 'other';
};
const storeProto = ObjectStore.prototype as unknown as Record<string, unknown>;
wrap(storeProto, 'putObject', (a) => `s3 PUT ${kind(a[1])}`);
wrap(storeProto, 'getObject', (a) => `s3 GET ${kind(a[1])}`);
wrap(storeProto, 'statObject', () => 's3 HEAD');
wrap(storeProto, 'removeObject', () => 's3 DELETE');
wrap(storeProto, 'removeObjects', () => 's3 DELETE (batch)');
wrap(storeProto, 'downloadFile', () => 's3 GET data file');
wrap(storeProto, 'putFile', () => 's3 PUT data file');
const clientProto = pg.Client.prototype as unknown as Record<string, unknown>;
const origQuery = clientProto.query as AnyFn;
clientProto.query = function (this: unknown, ...args: unknown[]) {
  const first = args[0];
  const text = typeof first === 'string' ? first : ((first as { text?: string } | null)?.text ?? '');
  const label = `pg ${text.trim().split(/\s+/).slice(0, 1).join(' ')}`;
  const t = performance.now();
  const cb = args.findIndex((a) => typeof a === 'function');
  if (cb >= 0) {
    const fn = args[cb] as AnyFn;
    args[cb] = (...r: unknown[]) => {
      add(label, performance.now() - t);
      return fn(...r);
    };
    return origQuery.apply(this, args);
  }
  const out = origQuery.apply(this, args) as Promise<unknown> | undefined;
  out?.then(
    () => add(label, performance.now() - t),
    () => add(label, performance.now() - t),
  );
  return out;
};

const appends = Number(process.argv[2] ?? 300);
const block = Number(process.argv[3] ?? 100);
const writers = Number(process.argv[4] ?? 1);
const maintenance = process.argv[5] === '1';
const versionHint = versionHintMode(process.env.BENCH_VERSION_HINT);
const path = process.env.BENCH_APPEND_PATH ?? 'direct';
if (path !== 'direct' && path !== 'writer') throw new Error(`BENCH_APPEND_PATH must be direct or writer, not ${path}`);
if (path === 'writer' && process.env.BENCH_VERSION_HINT) throw new Error('BENCH_VERSION_HINT applies to BENCH_APPEND_PATH=direct (the writer path uses the writer\'s own mode)');
const env = readStackEnvFile(paths.envFile);
const store = new ObjectStore({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey: env.ATOLL_S3_WRITER_ACCESS_KEY!, secretKey: env.ATOLL_S3_WRITER_SECRET_KEY! });
const root = new ObjectStore({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey: env.ATOLL_S3_ROOT_USER!, secretKey: env.ATOLL_S3_ROOT_PASSWORD! });
const pool = createPool(env.ATOLL_DATABASE_URL!, { max: Math.max(4, writers + 2), applicationName: 'atoll-profile' });
const dir = join(tmpdir(), `atoll-profile-${randomUUID().slice(0, 8)}`);
await mkdir(join(dir, 'tmp'), { recursive: true });
const lake = new Lake(store, pool, join(dir, 'cache'));
const schema = rawSchema(purchaseColumns);
const name = `profile_${Date.now()}`;
const id = { namespace: ['bench'], name };
const location = `s3://atoll-lake/bench/${name}`;
const redis = path === 'writer' ? redisConnection(env.ATOLL_REDIS_URL!) : null;
const producer = redis ? new Producer(redis, `atoll-profile-${randomUUID().slice(0, 8)}`) : null;
const writerCtx = producer ? { pool, lake, producer, log: createLogger({ name: 'profile-appends', level: 'silent' }) } : null;
const append = async (file: DataFile, commitId: string): Promise<void> => {
  if (!writerCtx) {
    await appendFiles({ io: lake.io, catalog: lake.catalog, id, files: [file], commitId, versionHint });
    return;
  }
  await recordPendingFile(writerCtx, { id, dataFile: file });
  await commitPendingFiles(writerCtx, id);
};
try {
  await createTable({ io: lake.io, catalog: lake.catalog, id, location, schema });
  const files = await smallFiles(lake, location, appends, dir);
  spent.clear();
  calls.clear();
  process.stdout.write(path === 'writer' ? 'path: the writer (pending file + commit job body)\n' : `path: direct appendFiles, version hint: ${versionHint}\n`);
  for (let start = 0; start < appends; start += block) {
    const t = performance.now();
    const cpu = process.cpuUsage();
    const slice = files.slice(start, start + block);
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let c = w; c < slice.length; c += writers) await append(slice[c]!, `p${start + c}`);
      }),
    );
    if (start + block >= appends) await flushVersionHints();
    const wall = performance.now() - t;
    const used = process.cpuUsage(cpu);
    const accounted = [...spent.values()].reduce((a, b) => a + b, 0);
    // CPU of this process (the commit engine, the S3 and Postgres clients): it moves with the code far more than
    // with the neighbours' load, unlike wall time.
    const cpuMs = (used.user + used.system) / 1000 / slice.length;
    process.stdout.write(`appends ${start + 1}–${start + slice.length}: ${(wall / slice.length).toFixed(1)} ms per append (${((slice.length / wall) * 1000).toFixed(1)}/s), ${cpuMs.toFixed(2)} ms CPU per append\n`);
    for (const [k, v] of [...spent.entries()].sort((a, b) => b[1] - a[1])) process.stdout.write(`  ${k.padEnd(26)} ${(v / slice.length).toFixed(2).padStart(7)} ms/append  ${String(calls.get(k)).padStart(5)} calls\n`);
    // In background mode the hint's PUT and pointer SELECT overlap the next appends, so wall minus calls means nothing.
    if (writers === 1 && path === 'direct' && versionHint === 'await') process.stdout.write(`  ${'JS between calls'.padEnd(26)} ${((wall - accounted) / slice.length).toFixed(2).padStart(7)} ms/append\n`);
    spent.clear();
    calls.clear();
  }
  const report = (label: string, wall: number): void => {
    process.stdout.write(`${label}: ${(wall / 1000).toFixed(2)} s\n`);
    for (const [k, v] of [...spent.entries()].sort((a, b) => b[1] - a[1])) process.stdout.write(`  ${k.padEnd(26)} ${(v / 1000).toFixed(2).padStart(7)} s (sum over calls)  ${String(calls.get(k)).padStart(5)} calls\n`);
    spent.clear();
    calls.clear();
  };
  if (maintenance) {
    let t = performance.now();
    await compactTable({ lake, id, minInputFiles: 2, workDir: join(dir, 'compact'), memoryLimit: '1GB', threads: 2 });
    report('compactTable', performance.now() - t);
    t = performance.now();
    await rewriteManifests({ io: lake.io, catalog: lake.catalog, id });
    report('rewriteManifests', performance.now() - t);
    t = performance.now();
    await expireSnapshots({ io: lake.io, catalog: lake.catalog, id, retainLast: 1, olderThanMs: 0, deleteFiles: true });
    report('expireSnapshots', performance.now() - t);
  }
} finally {
  await flushVersionHints();
  if (producer) {
    await producer.rawQueue(commitJobs.commit.queue).obliterate({ force: true });
    await producer.close();
    redis!.disconnect();
  }
  await dropTable({ catalog: lake.catalog, id });
  await root.removeObjects('atoll-lake', (await root.listObjects('atoll-lake', `bench/${name}/`)).map((o) => o.key));
  await pool.end();
  await rm(dir, { recursive: true, force: true });
}
