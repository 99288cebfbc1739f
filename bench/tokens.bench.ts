// Device tokens and licensed uploads under load: token issuance (JWT-bearer grant) and a JWT-authenticated 1-record
// upload, each against a bare Fastify route on the same machine and event loop, at 100 concurrent clients (loopback).
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { Agent } from 'node:http';
import { pathToFileURL } from 'node:url';
import Fastify from 'fastify';
import { SignJWT } from 'jose';
import type { ApiDeps } from '@atoll/api';
import { init, memoryStorage } from '@atoll/client';
import { clientToken, paths, readStackEnvFile } from '@atoll/stack';
import { postText, type PostReply } from '../test/support/http-post.js';
import { startInProcessApi } from '../test/support/inprocess-api.js';
import { median, printTable, type BenchResult } from './harness.js';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

interface LoadRun {
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  /** CPU time of this process (server, load generator, thread pool) per request: less at the mercy of the neighbours than req/s. */
  cpuMs: number;
}

const agent = new Agent({ keepAlive: true, maxSockets: 256 });
const post = (url: string, headers: Record<string, string>, body: string): Promise<PostReply> => postText(agent, url, headers, body);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** `n` requests from `concurrency` clients; every response must have `expect` status. Latencies in ms. */
async function load(n: number, concurrency: number, request: (i: number) => Promise<PostReply>, expectStatus: number): Promise<LoadRun> {
  const latencies: number[] = [];
  let next = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const t = performance.now();
        const res = await request(i);
        latencies.push(performance.now() - t);
        if (res.status !== expectStatus) throw new Error(`request ${i}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  latencies.sort((a, b) => a - b);
  return { seconds, rps: n / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), cpuMs: (used.user + used.system) / 1000 / n };
}

async function json<T>(res: Response): Promise<T> {
  const body = (await res.json()) as T;
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${JSON.stringify(body)}`);
  return body;
}

/**
 * Takes the benchmark's uploads back out of the shared pipeline: thousands of 1-record uploads would otherwise queue
 * thousands of ingest and prepare jobs in front of everyone else's. Waiting jobs are removed, pending uploads marked
 * rejected, staged objects deleted; anything a writer already took finishes normally.
 */
async function discardUploads(deps: ApiDeps, opts: { providerId: string; bucket: string }): Promise<number> {
  let removed = 0;
  for (const name of ['ingest', 'prepare']) {
    const queue = deps.producer.rawQueue(name);
    for (let start = 0; ; ) {
      const jobs = await queue.getJobs(['wait', 'delayed', 'prioritized'], start, start + 499, true);
      if (jobs.length === 0) break;
      let gone = 0;
      for (const job of jobs) {
        if (!job || (job.data as { providerId?: string } | undefined)?.providerId !== opts.providerId) continue;
        // A job a worker locked meanwhile simply runs.
        if (await job.remove().then(() => true, () => false)) gone += 1;
      }
      removed += gone;
      start += jobs.length - gone;
    }
  }
  await deps.pool.query(
    `UPDATE uploads SET status = 'rejected', reason = 'benchmark upload, discarded after the measurement', finished_at = now() WHERE provider_id = $1 AND status = 'pending'`,
    [opts.providerId],
  );
  const staged = await deps.store.listObjects(opts.bucket, `_api/${opts.providerId}/`);
  for (let i = 0; i < staged.length; i += 1000) await deps.store.removeObjects(opts.bucket, staged.slice(i, i + 1000).map((o) => o.key));
  return removed;
}

/**
 * Counts the dependency calls the Atoll side makes (Postgres statements, S3 PUTs, queue enqueues, Redis commands) by
 * wrapping the deps' methods for the duration of the benchmark: the per-request cost a profile does not show, because
 * it is spent waiting.
 */
function countCalls(deps: ApiDeps): { counts: Record<string, number>; restore: () => void } {
  const counts: Record<string, number> = { pg: 0, s3Put: 0, enqueue: 0, redis: 0 };
  const wrap = <T extends object, K extends keyof T & string>(target: T, method: K, name: string) => {
    const original = target[method] as unknown as (...a: unknown[]) => unknown;
    (target as Record<string, unknown>)[method] = function (this: unknown, ...args: unknown[]) {
      counts[name]! += 1;
      if (process.env.BENCH_DEBUG_CALLS) { const a = args[0] as { text?: string } | string; const k = `${name} ${String(typeof a === 'string' ? a : (a?.text ?? (a as unknown as { name?: string })?.name ?? '')).slice(0, 70)}`; counts[k] = (counts[k] ?? 0) + 1; }
      return original.apply(this, args);
    };
    return () => {
      delete (target as Record<string, unknown>)[method];
    };
  };
  const undo = [wrap(deps.pool, 'query', 'pg'), wrap(deps.store, 'putObject', 's3Put'), wrap(deps.producer, 'enqueue', 'enqueue'), wrap(deps.redis, 'sendCommand', 'redis')];
  return { counts, restore: () => undo.forEach((u) => u()) };
}

/** With BENCH_CPU_PROF_DIR set, one V8 CPU profile per benchmark case (Atoll runs only; the load generator shares the process). */
async function profiled<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const dir = process.env.BENCH_CPU_PROF_DIR;
  if (!dir) return fn();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `${name.replace(/[^a-z0-9]+/gi, '-')}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}

export async function benchTokens(opts: { env: Record<string, string>; requests: number; concurrency: number; repeats: number }): Promise<BenchResult[]> {
  const { env } = opts;
  const api = await startInProcessApi({}, { env, name: 'bench-api' });
  const { deps, config, url: atoll } = api;
  // The baseline: the same bodies to a Fastify route that does nothing but answer.
  const bare = Fastify({ logger: false });
  bare.addContentTypeParser('application/x-ndjson', { parseAs: 'string' }, (_r, body, done) => done(null, body));
  bare.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_r, body, done) => done(null, body));
  bare.post('/token', async () => ({ access_token: 'x', token_type: 'Bearer', expires_in: 900 }));
  bare.post('/upload', async (_r, reply) => reply.status(202).send({ uploadId: randomUUID(), records: 1 }));
  const baseline = await bare.listen({ host: '127.0.0.1', port: 0 });

  let providerId: string | undefined;
  try {
    // A provider with an approved table, a registered device and a signed license: the real path, nothing stubbed.
    const operator = await clientToken(env, env.ATOLL_OPERATOR_CLIENT_ID!, env.ATOLL_OPERATOR_CLIENT_SECRET!);
    const call = (path: string, token: string, body: unknown) =>
      fetch(`${atoll}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const p = await json<{ id: string; clientId: string; clientSecret: string }>(await call('/v1/providers', operator, { name: `bench ${randomUUID().slice(0, 8)}` }));
    providerId = p.id;
    const providerToken = await clientToken(env, p.clientId, p.clientSecret);
    const schema = await json<{ id: string }>(
      await call('/v1/schemas', providerToken, { table: 'events', dataset: `bench_${randomUUID().slice(0, 8).replaceAll('-', '')}`, columns: [{ name: 'user_id', type: 'string', role: 'user_id' }, { name: 'kind', type: 'string' }, { name: 'value', type: 'long' }] }),
    );
    await json(await call(`/v1/schemas/${schema.id}/approve`, operator, {}));
    const { attestation } = await json<{ attestation: string }>(await call('/v1/devices/attestations', providerToken, { userId: 'bench-user' }));
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    // The client library registers and signs the license; the bench keeps the key to sign assertions in bulk.
    const client = init({
      baseUrl: atoll,
      storage: memoryStorage({ privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() }),
    });
    const device = await client.register(attestation);
    await client.signLicense(await client.buildLicense({ tables: ['events'], uses: [{ usecases: ['analytics'], destinations: ['*'] }], terms: { sha256: 'b'.repeat(64) }, expiry: new Date(Date.now() + 86_400_000) }));
    const accessToken = await client.token(['upload']);
    const audience = (await json<{ token_endpoint: string }>(await fetch(`${atoll}/.well-known/oauth-authorization-server`))).token_endpoint;
    // Assertions are signed before the clock starts: the device's signing is not the server's cost.
    const assertions = async (n: number) =>
      Promise.all(
        Array.from({ length: n }, () =>
          new SignJWT({}).setProtectedHeader({ alg: 'RS256' }).setIssuer(device.deviceId).setSubject(device.deviceId).setAudience(audience).setJti(randomUUID()).setExpirationTime('4m').sign(privateKey),
        ),
      );
    const tokenBody = (a: string) => new URLSearchParams({ grant_type: JWT_BEARER, assertion: a }).toString();
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const upload = { authorization: `Bearer ${accessToken}`, 'content-type': 'application/x-ndjson' };
    const record = '{"kind":"click","value":1}\n';
    const results: BenchResult[] = [];
    const cases: Array<{ name: string; atoll: (a: string[]) => (i: number) => Promise<PostReply>; base: (i: number) => Promise<PostReply>; status: number; needsAssertions: boolean }> = [
      {
        name: 'device token issuance',
        atoll: (a) => (i) => post(`${atoll}/v1/oauth/token`, form, tokenBody(a[i]!)),
        base: () => post(`${baseline}/token`, form, tokenBody('x'.repeat(700))),
        status: 200,
        needsAssertions: true,
      },
      {
        name: 'device upload (1 record, JWT)',
        atoll: () => () => post(`${atoll}/v1/uploads/events`, upload, record),
        base: () => post(`${baseline}/upload`, upload, record),
        status: 202,
        needsAssertions: false,
      },
    ];
    for (const c of cases) {
      const runs = { atoll: [] as LoadRun[], base: [] as LoadRun[] };
      // Warm both paths (JIT, pools, keep-alive sockets) before measuring.
      const warm = c.needsAssertions ? await assertions(opts.concurrency) : [];
      await load(opts.concurrency, opts.concurrency, c.atoll(warm), c.status);
      await load(opts.concurrency, opts.concurrency, c.base, c.status === 202 ? 202 : 200);
      const calls = countCalls(deps);
      let atollCalls: Record<string, number> = {};
      for (let r = 0; r < opts.repeats; r++) {
        const a = c.needsAssertions ? await assertions(opts.requests) : [];
        runs.base.push(await load(opts.requests, opts.concurrency, c.base, c.status === 202 ? 202 : 200));
        const before = { ...calls.counts };
        runs.atoll.push(await profiled(`${c.name}-${r}`, () => load(opts.requests, opts.concurrency, c.atoll(a), c.status)));
        for (const [k, v] of Object.entries(calls.counts)) atollCalls[k] = (atollCalls[k] ?? 0) + v - (before[k] ?? 0);
      }
      calls.restore();
      if (process.env.BENCH_DEBUG_CALLS) process.stderr.write(`feed live=${deps.changes.live}\n`);
      atollCalls = Object.fromEntries(Object.entries(atollCalls).map(([k, v]) => [`${k}_per_request`, Number((v / (opts.requests * opts.repeats)).toFixed(3))]));
      const atollSeconds = median(runs.atoll.map((x) => x.seconds));
      const baselineSeconds = median(runs.base.map((x) => x.seconds));
      results.push({
        name: c.name,
        params: {
          requests: opts.requests,
          concurrency: opts.concurrency,
          atoll_rps: Math.round(opts.requests / atollSeconds),
          baseline_rps: Math.round(opts.requests / baselineSeconds),
          atoll_p50_ms: Number(median(runs.atoll.map((x) => x.p50)).toFixed(1)),
          atoll_p99_ms: Number(median(runs.atoll.map((x) => x.p99)).toFixed(1)),
          baseline_p99_ms: Number(median(runs.base.map((x) => x.p99)).toFixed(1)),
          atoll_cpu_ms_per_req: Number(median(runs.atoll.map((x) => x.cpuMs)).toFixed(3)),
          baseline_cpu_ms_per_req: Number(median(runs.base.map((x) => x.cpuMs)).toFixed(3)),
          ratios: runs.atoll.map((x, i) => Number((runs.base[i]!.seconds / x.seconds).toFixed(2))).join('/'),
        },
        atollSeconds,
        baselineSeconds,
        baseline: 'bare Fastify route, same body, same process',
        ratio: baselineSeconds / atollSeconds,
        target: 0.7,
        samples: { atoll: runs.atoll.map((x) => x.seconds), baseline: runs.base.map((x) => x.seconds) },
        metrics: atollCalls,
      });
    }
    return results;
  } finally {
    if (providerId) await discardUploads(deps, { providerId, bucket: config.ATOLL_BUCKET_STAGING }).catch((e: unknown) => process.stderr.write(`bench cleanup failed: ${String(e)}\n`));
    agent.destroy();
    await bare.close();
    await api[Symbol.asyncDispose]();
  }
}

// Run alone against a running stack: `node --import tsx bench/tokens.bench.ts` (BENCH_TOKEN_REQUESTS, BENCH_REPEATS).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const results = await benchTokens({
    env: readStackEnvFile(paths.envFile),
    requests: Number(process.env.BENCH_TOKEN_REQUESTS ?? 1000),
    concurrency: 100,
    repeats: Number(process.env.BENCH_REPEATS ?? 3),
  });
  printTable(results);
  for (const r of results) process.stdout.write(`${r.name}: ${JSON.stringify({ ...r.params, ...r.metrics })}\n`);
}
