// What a rate limit costs per request: one GET route, bare, and with Atoll's limiter counting a device (in-process
// counter) or an API key (Redis, the stack's), at 50 concurrent keep-alive clients on loopback. Ratios are against the
// bare route measured in the same run, alternating. Run alone against a running stack:
//   node --import tsx bench/rate-limit.bench.ts     (BENCH_RL_REQUESTS, BENCH_REPEATS)
import { Agent, request as httpRequest } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { Redis } from 'ioredis';
import { registerRateLimits, type Config } from '@atoll/api';
import { paths, readStackEnvFile } from '@atoll/stack';
import { median } from './harness.js';

const env = readStackEnvFile(paths.envFile);
const requests = Number(process.env.BENCH_RL_REQUESTS ?? 4000);
const repeats = Number(process.env.BENCH_REPEATS ?? 5);
const agent = new Agent({ keepAlive: true, maxSockets: 50 });
const limits = { ATOLL_RATE_LIMIT_WINDOW_MS: 60_000, ATOLL_RATE_LIMIT_CLIENT_MAX: 1e9, ATOLL_RATE_LIMIT_DEVICE_MAX: 1e9, ATOLL_RATE_LIMIT_ANONYMOUS_MAX: 1e9 } as unknown as Config;

async function server(principal: 'none' | 'device' | 'client', redis: Redis): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify();
  if (principal !== 'none') {
    app.addHook('onRequest', async (request) => {
      // Only the kind and id matter to the limiter's key.
      request.principal = (principal === 'device' ? { kind: 'device', deviceId: 'bench-device' } : { kind: 'client', clientId: 'bench-client' }) as FastifyRequest['principal'];
    });
    await registerRateLimits(app, limits, redis);
  }
  app.get('/x', async () => ({ ok: true }));
  return { app, url: `${await app.listen({ host: '127.0.0.1', port: 0 })}/x` };
}

function get(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

async function load(url: string): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next++ < requests) if ((await get(url)) !== 200) throw new Error('unexpected status');
    }),
  );
  return (performance.now() - start) / 1000;
}

const redis = new Redis(env.ATOLL_REDIS_URL!);
const servers = { bare: await server('none', redis), device: await server('device', redis), client: await server('client', redis) };
try {
  for (const s of Object.values(servers)) await load(s.url);
  const runs: Record<keyof typeof servers, number[]> = { bare: [], device: [], client: [] };
  for (let r = 0; r < repeats; r++) for (const k of ['bare', 'device', 'client'] as const) runs[k].push(await load(servers[k].url));
  const rps = (k: keyof typeof servers) => Math.round(requests / median(runs[k]));
  process.stdout.write(`rate limit overhead, ${requests} GETs x ${repeats}, 50 clients: bare ${rps('bare')} req/s; device (in-process) ${rps('device')} req/s (ratio ${(median(runs.bare) / median(runs.device)).toFixed(2)}); API key (Redis) ${rps('client')} req/s (ratio ${(median(runs.bare) / median(runs.client)).toFixed(2)})\n`);
} finally {
  agent.destroy();
  for (const s of Object.values(servers)) await s.app.close();
  await redis.del('atoll:rate:client:bench-client');
  redis.disconnect();
}
